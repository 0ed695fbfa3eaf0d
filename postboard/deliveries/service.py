"""Delivery verbs: plan rows for a chunk, find what is still owed, record outcomes."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, update
from sqlmodel import Session, col, select

from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.retry import RetryPolicy
from postboard.users.models import utcnow


def ensure_deliveries(session: Session, *, post_id: int, user_ids: Sequence[int], channel: Channel) -> None:
    """Create a pending row for each recipient that has none yet."""
    if not user_ids:
        return
    existing = set(
        session.exec(
            select(Delivery.user_id).where(
                Delivery.post_id == post_id,
                Delivery.channel == channel,
                col(Delivery.user_id).in_(user_ids),
            )
        ).all()
    )
    now = utcnow()
    missing = [
        {
            "post_id": post_id,
            "user_id": uid,
            "channel": channel,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for uid in user_ids
        if uid not in existing
    ]
    if missing:
        session.execute(insert(Delivery), missing)
    session.commit()


def owed_deliveries(
    session: Session, *, post_id: int, user_ids: Sequence[int], channel: Channel, now: datetime | None = None
) -> Sequence[Delivery]:
    """Return the recipients' deliveries due now: never tried, or retrying and past their wait."""
    if not user_ids:
        return []
    due = or_(
        col(Delivery.status) == DeliveryStatus.PENDING,
        and_(
            col(Delivery.status) == DeliveryStatus.RETRYING,
            col(Delivery.next_attempt_at) <= (now or utcnow()),
        ),
    )
    return session.exec(
        select(Delivery)
        .where(
            Delivery.post_id == post_id,
            Delivery.channel == channel,
            col(Delivery.user_id).in_(user_ids),
            due,
        )
        .order_by(col(Delivery.user_id))
    ).all()


def record_sent(session: Session, *, delivery: Delivery) -> None:
    """Record a successful attempt and commit it at once (a re-run must see it)."""
    _update(session, delivery, status=DeliveryStatus.SENT, error=None, next_at=None)
    session.commit()


def record_failure(
    session: Session,
    *,
    deliveries: Sequence[Delivery],
    error: str,
    permanent: bool,
    policy: RetryPolicy,
) -> list[DeliveryStatus]:
    """Record one failed attempt for each delivery: `retrying` with its next time, or `failed`."""
    now = utcnow()
    statuses: list[DeliveryStatus] = []
    for delivery in deliveries:
        next_at = None if permanent else policy.next_attempt(attempts_done=delivery.attempts + 1, now=now)
        status = DeliveryStatus.FAILED if next_at is None else DeliveryStatus.RETRYING
        _update(session, delivery, status=status, error=error, next_at=next_at)
        statuses.append(status)
    session.commit()
    return statuses


def _update(
    session: Session, delivery: Delivery, *, status: DeliveryStatus, error: str | None, next_at: datetime | None
) -> None:
    session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery.id)
        .values(
            status=status,
            attempts=Delivery.attempts + 1,
            error=None if error is None else error[:1000],
            next_attempt_at=next_at,
            updated_at=utcnow(),
        )
        # The chunk's Delivery objects sit in this session; syncing each update against
        # all of them made every send cost grow with the chunk size.
        .execution_options(synchronize_session=False)
    )


def next_retry_at(session: Session, *, post_id: int, user_ids: Sequence[int], channel: Channel) -> datetime | None:
    """Return when the earliest `retrying` delivery among these recipients is due."""
    if not user_ids:
        return None
    return session.exec(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.post_id == post_id,
            Delivery.channel == channel,
            col(Delivery.user_id).in_(user_ids),
            Delivery.status == DeliveryStatus.RETRYING,
        )
    ).one()


def reset_failed(session: Session, *, post_id: int, user_ids: Sequence[int], channel: Channel) -> int:
    """Make failed deliveries pending again with a fresh retry schedule (a manual retry)."""
    if not user_ids:
        return 0
    result = session.execute(
        update(Delivery)
        .where(
            col(Delivery.post_id) == post_id,
            col(Delivery.channel) == channel,
            col(Delivery.user_id).in_(user_ids),
            col(Delivery.status) == DeliveryStatus.FAILED,
        )
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def count_by_status(session: Session, *, post_id: int, channel: Channel) -> dict[DeliveryStatus, int]:
    """Return how many of a post's deliveries on a channel stand at each status."""
    rows = session.exec(
        select(Delivery.status, func.count())
        .where(Delivery.post_id == post_id, Delivery.channel == channel)
        .group_by(col(Delivery.status))
    ).all()
    return {DeliveryStatus(status): n for status, n in rows}
