"""The delivery log: filter, read one with its attempts, retry one."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, func, select

from postboard import names
from postboard.clock import utcnow
from postboard.deliveries.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from postboard.errors import NotFound, ValidationFailed
from postboard.events.models import Event, EventSource
from postboard.live.model_events import note_change
from postboard.outbox.models import OutboxEvent
from postboard.outbox.service import Dispatcher, dispatch_event

# The outbox kind of a manual retry: the dispatcher queues the delivery's job from its payload.
DELIVERY_RETRY = "delivery.retry"


@dataclass(frozen=True)
class Retried:
    """A delivery made pending again, and whether its job is queued now (else the relay queues it)."""

    delivery: Delivery
    queued: bool


@dataclass(frozen=True)
class LogPage:
    """One page of the delivery log and how many rows match in all."""

    rows: Sequence[Delivery]
    total: int


@dataclass(frozen=True)
class DeliveryDetail:
    """One delivery with its event's name and every attempt."""

    delivery: Delivery
    event_name: str | None
    attempts: Sequence[DeliveryAttempt]


def _filters(status: DeliveryStatus | None, channel: Channel | None, event: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(col(Delivery.status) == status)
    if channel is not None:
        where.append(col(Delivery.channel) == channel)
    if event:
        # An event id, or an event source's name.
        sources = select(EventSource.id).where(EventSource.name == event)
        events = select(Event.id).where(col(Event.source_id).in_(sources))
        where.append(col(Delivery.event_id).in_(events) | (col(Delivery.event_id) == event))
    return where


def list_deliveries(
    session: Session,
    *,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    event: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> LogPage:
    """Newest deliveries first, filtered by status, channel and event (id or source name)."""
    where = _filters(status, channel, event)
    total = session.exec(select(func.count()).select_from(Delivery).where(*where)).one()
    rows = session.exec(
        select(Delivery).where(*where).order_by(col(Delivery.id).desc()).limit(limit).offset(offset)
    ).all()
    return LogPage(rows=rows, total=total)


def get_detail(session: Session, *, delivery_id: int) -> DeliveryDetail:
    """Return one delivery with its attempts, or raise NotFound."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    name = None
    if delivery.event_id is not None:
        name = session.exec(
            select(EventSource.name)
            .join(Event, col(Event.source_id) == EventSource.id)
            .where(Event.id == delivery.event_id)
        ).first()
    elif delivery.post_id is not None:
        name = names.POST_CREATED
    attempts = session.exec(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(col(DeliveryAttempt.id))
    ).all()
    return DeliveryDetail(delivery=delivery, event_name=name, attempts=attempts)


def retry_target(delivery: Delivery) -> dict[str, Any]:
    """What the dispatcher needs to queue a delivery's job: its channel and its event or post recipient."""
    return {
        "delivery_id": delivery.id,
        "channel": str(delivery.channel),
        "event_id": delivery.event_id,
        "post_id": delivery.post_id,
        "user_id": delivery.user_id,
    }


RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.RETRYING)


def mark_for_retry(session: Session, *, delivery_id: int) -> tuple[Delivery, OutboxEvent]:
    """Make a failed or retrying delivery pending again, due now, with the outbox row that queues it (one commit)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.status not in RETRYABLE:
        raise ValidationFailed(
            {"status": f"only failed or retrying deliveries can be retried; this one is {delivery.status}"}
        )
    retried = session.execute(
        update(Delivery)
        # The status again: two clicks at once (or a run sending it meanwhile) retry it once.
        .where(col(Delivery.id) == delivery_id, col(Delivery.status).in_(RETRYABLE))
        # The old error stays in the attempt log; the row says what happens next.
        .values(status=DeliveryStatus.PENDING, attempts=0, error=None, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    if int(getattr(retried, "rowcount", 0) or 0) != 1:
        session.rollback()
        session.refresh(delivery)
        raise ValidationFailed({"status": f"this delivery is {delivery.status} now; it was retried meanwhile"})
    note_change(session, "deliveries", action="updated", ids=[delivery_id])
    outbox = OutboxEvent(kind=DELIVERY_RETRY, payload=retry_target(delivery))
    session.add(outbox)
    session.commit()
    session.refresh(delivery)
    return delivery, outbox


async def retry_delivery(session: Session, *, delivery_id: int, dispatcher: Dispatcher) -> Retried:
    """Send a failed or retrying delivery again now (an event's or a post email); the UI and the API call this."""
    delivery, outbox = await asyncio.to_thread(mark_for_retry, session, delivery_id=delivery_id)
    queued = await dispatch_event(session, event=outbox, dispatcher=dispatcher)
    return Retried(delivery=delivery, queued=queued)


def status_counts(session: Session) -> dict[str, int]:
    """How many deliveries stand at each status (the log's filter chips)."""
    rows = session.exec(select(Delivery.status, func.count()).group_by(col(Delivery.status))).all()
    return {str(status): n for status, n in rows}
