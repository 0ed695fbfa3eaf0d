"""The Taskiq implementation of the outbox `Dispatcher` port."""

from postboard import names
from postboard.deliveries.log import DELIVERY_RETRY
from postboard.deliveries.models import Channel
from postboard.events.engine import EVENT_RECEIVED
from postboard.outbox.models import OutboxEvent
from tasks.events import kick_delivery, kick_event
from tasks.posts import send_post_emails, send_post_notification


class TaskiqDispatcher:
    """Turns outbox events into Taskiq jobs on their queues."""

    async def dispatch(self, event: OutboxEvent) -> None:
        """Kick the jobs an event stands for; raises if Redis is unreachable."""
        if event.kind == names.POST_CREATED:
            post_id = int(event.payload["post_id"])
            await send_post_emails.kiq(post_id)
            await send_post_notification.kiq(post_id)
            return
        if event.kind == EVENT_RECEIVED:
            channels = [Channel(c) for c in str(event.payload["channels"]).split(",") if c]
            await kick_event(str(event.payload["event_id"]), channels)
            return
        if event.kind == DELIVERY_RETRY:
            await kick_delivery(event.payload)
            return
        raise ValueError(f"unknown outbox event kind {event.kind!r}")
