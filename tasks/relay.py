"""Outbox relay: dispatch what Publish could not queue (Redis was down), periodically and at worker start."""

import logging

from taskiq import TaskiqEvents, TaskiqState

from postboard import names
from postboard.db import session_scope
from postboard.outbox.service import relay_pending
from tasks.brokers import labels, notifications_broker
from tasks.dispatch import TaskiqDispatcher

log = logging.getLogger(__name__)


@notifications_broker.task(task_name="relay_outbox", schedule=[{"interval": 30}], **labels(names.NOTIFICATIONS_QUEUE))
async def relay_outbox() -> int:
    """Dispatch every outbox event not yet handed to the queue."""
    with session_scope() as session:
        sent = await relay_pending(session, dispatcher=TaskiqDispatcher())
    if sent:
        log.info("outbox relay dispatched %s events", sent)
    return sent


@notifications_broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _relay_at_start(state: TaskiqState) -> None:
    # Also when Redis comes back: posts published during the outage go out now, not at the next tick.
    notifications_broker.on_recovered = relay_outbox
    try:
        await relay_outbox()
    except Exception:
        log.exception("outbox relay at worker start failed")
