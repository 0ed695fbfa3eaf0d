"""Event jobs: one task per channel, on that channel's queue, sending an event's deliveries."""

import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any

from taskiq import AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from postboard.channels.base import Sender, make_http_client
from postboard.channels.slack import SlackSender
from postboard.channels.sms import SmsSender, make_sms_provider
from postboard.channels.webhooks import WebhookSender
from postboard.db import session_scope
from postboard.deliveries.models import Channel
from postboard.events.delivery import EmailSender, InAppSender, send_event_deliveries
from postboard.events.service import webhook_secret_for
from postboard.live.bus import open_bus
from postboard.mail.transport import SmtpTransport
from postboard.settings import Settings, get_settings
from tasks.brokers import BROKER_OF, labels, retry_source
from tasks.middleware import ATTEMPT
from tasks.posts import MANUAL_RETRY, DeliveriesFailed, send_post_email_chunk

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _sender(channel: Channel, settings: Settings) -> AsyncIterator[Sender]:
    if channel is Channel.EMAIL:
        async with EmailSender(SmtpTransport(settings), settings) as email:
            yield email
        return
    if channel is Channel.IN_APP:
        async with open_bus(enabled=settings.live_enabled, url=settings.redis_url) as bus:
            with session_scope() as session:
                yield InAppSender(session, bus)
        return
    async with make_http_client(settings) as client:
        if channel is Channel.SMS:
            yield SmsSender(make_sms_provider(settings, client))
        elif channel is Channel.SLACK:
            yield SlackSender(client, settings.slack_webhook_url or None)
        else:
            yield WebhookSender(client, secret_for=webhook_secret_for, default_secret=settings.webhook_secret)


# What callers send: the event id (the context is injected on the worker).
DeliverTask = AsyncTaskiqDecoratedTask[[str], Coroutine[Any, Any, dict[str, int]]]


def _task(channel: Channel) -> DeliverTask:
    broker = BROKER_OF[channel.queue]

    @broker.task(task_name=f"deliver_event_{channel.value}", **labels(channel.queue))
    async def deliver(event_id: str, context: Context = TaskiqDepends()) -> dict[str, int]:
        """Send an event's due deliveries on this channel; schedule the retries it owes."""
        settings = get_settings()
        async with _sender(channel, settings) as sender:
            with session_scope() as session:
                result = await send_event_deliveries(
                    session,
                    event_id=event_id,
                    channel=channel,
                    sender=sender,
                    settings=settings,
                    retry_failed=bool(context.message.labels.get(MANUAL_RETRY)),
                )
        if result.retry_at is not None:
            await (
                deliver.kicker()
                .with_labels(**{ATTEMPT: result.retry_attempt})
                .schedule_by_time(retry_source, result.retry_at, event_id)
            )
            log.info("event %s %s: %s retry at %s", event_id, channel, result.retrying, result.retry_at)
        if result.failed:
            raise DeliveriesFailed(
                f"{result.failed} {channel.label} delivery(ies) failed for good: {result.last_error}"
            )
        return {"sent": result.sent, "retrying": result.retrying, "skipped": result.skipped}

    return deliver


DELIVER = {channel: _task(channel) for channel in Channel}


async def kick_event(event_id: str, channels: list[Channel]) -> None:
    """Queue the event's delivery job on each channel's queue."""
    for channel in channels:
        await DELIVER[channel].kiq(event_id)


async def kick_delivery(target: Mapping[str, Any]) -> None:
    """Queue the job that sends one delivery made pending again (`deliveries.log.retry_target`)."""
    event_id, post_id, user_id = target.get("event_id"), target.get("post_id"), target.get("user_id")
    if event_id is not None:
        await DELIVER[Channel(str(target["channel"]))].kiq(str(event_id))
    elif post_id is not None and user_id is not None:
        # A one-recipient chunk: the keyset range that holds exactly this user.
        await send_post_email_chunk.kiq(int(post_id), int(user_id) - 1, int(user_id))
    else:
        raise ValueError(f"delivery {target.get('delivery_id')} has neither an event nor a post recipient")
