"""Outbox verbs: dispatch now, or leave for the relay when the queue is down."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from postboard.clock import utcnow
from postboard.errors import OUTAGES
from postboard.outbox.models import OutboxEvent

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Hands an outbox event to the job queue (Taskiq in production, a list in tests)."""

    async def dispatch(self, event: OutboxEvent) -> None:
        """Enqueue the jobs an event stands for; raise if the queue is unreachable."""
        ...


async def hand_over(event: OutboxEvent, *, dispatcher: Dispatcher) -> tuple[str | None, bool]:
    """Give an outbox event to the queue; return the error if it did not go, and whether the queue was down."""
    try:
        await dispatcher.dispatch(event)
    except OUTAGES as exc:
        log.warning("outbox event %s not dispatched: %s", event.id, exc)
        return f"{type(exc).__name__}: {exc}"[:500], True
    except Exception as exc:
        log.exception("outbox event %s not dispatched", event.id)
        return f"{type(exc).__name__}: {exc}"[:500], False
    return None, False


def record_hand_over(session: Session, *, event: OutboxEvent, error: str | None) -> bool:
    """Record the outcome of `hand_over` on the row (releasing its lock); return whether it went out."""
    values = {"dispatched_at": None if error else utcnow(), "last_error": error}
    # Counted in SQL: two dispatchers of one row must not both write the same old count + 1.
    attempts = session.execute(
        update(OutboxEvent)
        .where(col(OutboxEvent.id) == event.id)
        .values(attempts=OutboxEvent.attempts + 1, **values)
        .returning(col(OutboxEvent.attempts))
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.commit()
    # The object mirrors the row without being marked changed (a later flush must not write it back).
    for name, value in {**values, "attempts": attempts}.items():
        set_committed_value(event, name, value)
    return error is None


def lock_next_pending(session: Session, *, after_id: int = 0) -> OutboxEvent | None:
    """The oldest event not yet handed over with an id above `after_id`, locked until the next commit.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent relays (and a publish handing over its
    own row) each take a different row and none is handed over twice. SQLite has no row locks
    and one scheduler relays; its reads stay outside any transaction, so no write lock is held
    while the queue is awaited.
    """
    return session.exec(
        select(OutboxEvent)
        .where(col(OutboxEvent.dispatched_at).is_(None), col(OutboxEvent.id) > after_id)
        .order_by(col(OutboxEvent.id))
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()


async def dispatch_event(session: Session, *, event: OutboxEvent, dispatcher: Dispatcher) -> bool:
    """Hand one recorded outbox event to the queue and record the outcome; return whether it went out.

    Every "record, then hand over" (publish, an event received, a manual retry, the relay)
    ends here. The commit waits for SQLite's write lock, so it runs off the event loop.
    """
    locked = await asyncio.to_thread(_lock_one, session, event_id=event.id or 0)
    if locked is None:
        # Handed over already, or a relay holds it and is handing it over now.
        session.rollback()
        return True
    went, _ = await _dispatch(session, event=locked, dispatcher=dispatcher)
    return went


def _lock_one(session: Session, *, event_id: int) -> OutboxEvent | None:
    return lock_next_pending(session, after_id=event_id - 1) if event_id else None


async def _dispatch(session: Session, *, event: OutboxEvent, dispatcher: Dispatcher) -> tuple[bool, bool]:
    error, outage = await hand_over(event, dispatcher=dispatcher)
    return await asyncio.to_thread(record_hand_over, session, event=event, error=error), outage


def pending_events(session: Session, *, limit: int = 100) -> Sequence[OutboxEvent]:
    """Return outbox events not yet handed to the queue, oldest first."""
    return session.exec(
        select(OutboxEvent).where(col(OutboxEvent.dispatched_at).is_(None)).order_by(col(OutboxEvent.id)).limit(limit)
    ).all()


async def relay_pending(session: Session, *, dispatcher: Dispatcher) -> int:
    """Dispatch every pending outbox event; return how many went out.

    It stops when the queue is down (the rest would fail the same way) and goes past an event
    that fails for another reason (logged with its traceback, kept for the next relay), so one
    bad row cannot hold back every later one: the `after` cursor never locks it again this run.
    """
    sent, after = 0, 0
    while (event := await asyncio.to_thread(lock_next_pending, session, after_id=after)) is not None:
        after = event.id or after
        went, outage = await _dispatch(session, event=event, dispatcher=dispatcher)
        if outage:
            break
        sent += went
    session.rollback()
    return sent
