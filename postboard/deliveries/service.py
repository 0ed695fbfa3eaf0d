"""Delivery verbs: plan rows for a chunk, find what is still owed, record outcomes."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from postboard.clock import utcnow
from postboard.db import insert_new
from postboard.deliveries.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from postboard.deliveries.retry import RetryPolicy
from postboard.live.model_events import note_change


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
        # Another run of the chunk may insert the same rows between the read and this write.
        session.execute(insert_new(session, Delivery), missing)
        note_change(session, "deliveries", action="created")
    session.commit()


def _due(now: datetime, lease: float) -> ColumnElement[bool]:
    """Never tried, retrying and past its wait, or claimed by a run whose lease ran out."""
    stale = now - timedelta(seconds=lease)
    return or_(
        col(Delivery.status) == DeliveryStatus.PENDING,
        and_(col(Delivery.status) == DeliveryStatus.RETRYING, col(Delivery.next_attempt_at) <= now),
        and_(col(Delivery.status) == DeliveryStatus.SENDING, col(Delivery.updated_at) <= stale),
    )


Scope = tuple[ColumnElement[bool], ...]


def post_scope(*, post_id: int, user_ids: Sequence[int], channel: Channel) -> Scope:
    """The deliveries of one post's chunk on one channel."""
    return (
        col(Delivery.post_id) == post_id,
        col(Delivery.channel) == channel,
        col(Delivery.user_id).in_(user_ids),
    )


def event_scope(*, event_id: str, channel: Channel) -> Scope:
    """The deliveries of one event on one channel."""
    return (col(Delivery.event_id) == event_id, col(Delivery.channel) == channel)


def owed_deliveries(session: Session, *, scope: Scope, lease: float, now: datetime | None = None) -> Sequence[Delivery]:
    """Return the scope's deliveries due now (see `_due`), in a stable order."""
    return session.exec(
        select(Delivery).where(*scope, _due(now or utcnow(), lease)).order_by(col(Delivery.user_id), col(Delivery.id))
    ).all()


def claim(session: Session, *, delivery: Delivery, lease: float) -> bool:
    """Mark a due delivery `sending` for this run and commit; False if another run holds or sent it.

    Two runs of one chunk (a job reclaimed from a busy worker) race here, and one wins each row.
    """
    now = utcnow()
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery.id, _due(now, lease))
        .values(status=DeliveryStatus.SENDING, updated_at=now)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    note_change(session, "deliveries", action="updated", ids=[delivery.id or 0])
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


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
    unclaimed: bool = False,
) -> list[DeliveryStatus]:
    """Record one failed attempt for each delivery: `retrying` with its next time, or `failed`.

    `unclaimed`: rows this run never claimed (the connection dropped first); rows another run
    has claimed or sent since are left alone.
    """
    now = utcnow()
    statuses: list[DeliveryStatus] = []
    only = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING) if unclaimed else None
    for delivery in deliveries:
        next_at = None if permanent else policy.next_attempt(attempts_done=delivery.attempts + 1, now=now)
        status = DeliveryStatus.FAILED if next_at is None else DeliveryStatus.RETRYING
        if _update(session, delivery, status=status, error=error, next_at=next_at, only_from=only):
            statuses.append(status)
    session.commit()
    return statuses


def _update(
    session: Session,
    delivery: Delivery,
    *,
    status: DeliveryStatus,
    error: str | None,
    next_at: datetime | None,
    only_from: Sequence[DeliveryStatus] | None = None,
) -> bool:
    where = [col(Delivery.id) == delivery.id]
    if only_from is not None:
        where.append(col(Delivery.status).in_(only_from))
    note_change(session, "deliveries", action="updated", ids=[delivery.id or 0])
    result = session.execute(
        update(Delivery)
        .where(*where)
        .values(
            status=status,
            attempts=Delivery.attempts + 1,
            error=None if error is None else error[:1000],
            next_attempt_at=next_at,
            updated_at=utcnow(),
        )
        # The chunk's Delivery objects sit in this session; syncing each update against
        # all of them made every send cost grow with the chunk size.
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def next_retry_at(session: Session, *, scope: Scope, lease: float) -> datetime | None:
    """Return when the scope next needs a run: the earliest retry, or a claim's lease end.

    A row another run holds `sending` counts too: if that run dies, nobody else would come back for it.
    """
    retry = session.exec(
        select(func.min(Delivery.next_attempt_at)).where(*scope, Delivery.status == DeliveryStatus.RETRYING)
    ).one()
    claimed = session.exec(
        select(func.min(Delivery.updated_at)).where(*scope, Delivery.status == DeliveryStatus.SENDING)
    ).one()
    lease_end = None if claimed is None else claimed + timedelta(seconds=lease)
    return min((t for t in (retry, lease_end) if t is not None), default=None)


def attempts_made(session: Session, *, scope: Scope) -> int:
    """Return the most attempts any of the scope's unfinished deliveries has had."""
    most = session.exec(
        select(func.max(Delivery.attempts)).where(
            *scope, col(Delivery.status).in_((DeliveryStatus.RETRYING, DeliveryStatus.SENDING))
        )
    ).one()
    return int(most or 0)


def record_attempt(
    session: Session, *, delivery: Delivery, outcome: DeliveryStatus, detail: str | None, duration_ms: int
) -> None:
    """Log one try of a delivery for its detail page (the status itself is recorded by the caller)."""
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id or 0,
            number=delivery.attempts + 1,
            outcome=outcome,
            detail=None if detail is None else detail[:1000],
            duration_ms=duration_ms,
        )
    )
    session.commit()


def reset_failed(session: Session, *, scope: Scope) -> int:
    """Make the scope's failed deliveries pending again with a fresh retry schedule (a manual retry)."""
    result = session.execute(
        update(Delivery)
        .where(*scope, col(Delivery.status) == DeliveryStatus.FAILED)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    note_change(session, "deliveries", action="updated")
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
