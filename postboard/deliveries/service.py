"""Delivery verbs: plan rows for a chunk, find what is still owed, record outcomes."""

from collections.abc import Sequence

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
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


def owed_deliveries(session: Session, *, post_id: int, user_ids: Sequence[int], channel: Channel) -> Sequence[Delivery]:
    """Return the recipients' deliveries that were not sent yet."""
    if not user_ids:
        return []
    return session.exec(
        select(Delivery)
        .where(
            Delivery.post_id == post_id,
            Delivery.channel == channel,
            col(Delivery.user_id).in_(user_ids),
            Delivery.status != DeliveryStatus.SENT,
        )
        .order_by(col(Delivery.user_id))
    ).all()


def record_outcome(session: Session, *, delivery_id: int, error: str | None) -> None:
    """Record one attempt: sent when `error` is None, else failed with the error."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(
            status=DeliveryStatus.SENT if error is None else DeliveryStatus.FAILED,
            attempts=Delivery.attempts + 1,
            error=None if error is None else error[:1000],
            updated_at=utcnow(),
        )
        # The chunk's Delivery objects sit in this session; syncing each update against
        # all of them made every send cost grow with the chunk size.
        .execution_options(synchronize_session=False)
    )
    session.commit()


def count_by_status(session: Session, *, post_id: int, channel: Channel) -> dict[DeliveryStatus, int]:
    """Return how many of a post's deliveries on a channel stand at each status."""
    rows = session.exec(
        select(Delivery.status, func.count())
        .where(Delivery.post_id == post_id, Delivery.channel == channel)
        .group_by(col(Delivery.status))
    ).all()
    return {DeliveryStatus(status): n for status, n in rows}
