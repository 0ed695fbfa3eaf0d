"""Outbox verbs: dispatch now, or leave for the relay when the queue is down."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

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
    """Record the outcome of `hand_over` on the row; return whether it went out."""
    event.attempts += 1
    event.dispatched_at = None if error else utcnow()
    event.last_error = error
    session.add(event)
    session.commit()
    return error is None


async def dispatch_event(session: Session, *, event: OutboxEvent, dispatcher: Dispatcher) -> bool:
    """Hand one recorded outbox event to the queue and record the outcome; return whether it went out.

    Every "record, then hand over" (publish, an event received, a manual retry, the relay)
    ends here. The commit waits for SQLite's write lock, so it runs off the event loop.
    """
    went, _ = await _dispatch(session, event=event, dispatcher=dispatcher)
    return went


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
    bad row cannot hold back every later one.
    """
    sent = 0
    for event in pending_events(session):
        went, outage = await _dispatch(session, event=event, dispatcher=dispatcher)
        if outage:
            break
        sent += went
    return sent
