"""Post jobs: email fan-out and chunks on `emails`, in-app + live on `notifications`."""

import logging

from taskiq import Context, TaskiqDepends

from postboard import flows, names
from postboard.db import session_scope
from postboard.deliveries.models import Channel
from postboard.errors import PermanentFailure
from postboard.events.builtin import post_rule_active
from postboard.live.bus import open_bus
from postboard.mail.transport import SmtpTransport
from postboard.settings import get_settings
from tasks.brokers import emails_broker, labels, notifications_broker, retry_source
from tasks.middleware import ATTEMPT

log = logging.getLogger(__name__)

MANUAL_RETRY = "manual_retry"


class DeliveriesFailed(PermanentFailure):
    """Some recipients of a chunk failed for good; the job shows as failed so an admin can retry it."""


@emails_broker.task(task_name="send_post_emails", **labels(names.EMAILS_QUEUE))
async def send_post_emails(post_id: int) -> int:
    """Cut a post's audience into keyset chunks and queue one job per chunk."""
    settings = get_settings()
    with session_scope() as session:
        if not post_rule_active(session, channel=Channel.EMAIL):
            log.info("post %s: email rule switched off", post_id)
            return 0
        chunks = flows.plan_email_chunks(session, chunk_size=settings.email_chunk_size)
    for chunk in chunks:
        await send_post_email_chunk.kiq(post_id, chunk.after_id, chunk.last_id)
    log.info("post %s: %s email chunks queued", post_id, len(chunks))
    return len(chunks)


@emails_broker.task(task_name="send_post_email_chunk", **labels(names.EMAILS_QUEUE))
async def send_post_email_chunk(
    post_id: int, after_id: int, last_id: int, context: Context = TaskiqDepends()
) -> dict[str, int]:
    """Email one chunk of a post's audience over one SMTP connection; schedule the retries it owes."""
    settings = get_settings()
    with session_scope() as session:
        result = await flows.send_email_chunk(
            session,
            post_id=post_id,
            chunk=flows.EmailChunk(after_id=after_id, last_id=last_id),
            transport=SmtpTransport(settings),
            settings=settings,
            retry_failed=bool(context.message.labels.get(MANUAL_RETRY)),
        )
    if result.retry_at is not None:
        await (
            send_post_email_chunk.kicker()
            .with_labels(**{ATTEMPT: result.retry_attempt})
            .schedule_by_time(retry_source, result.retry_at, post_id, after_id, last_id)
        )
        log.info(
            "post %s chunk %s-%s: %s recipients retry at %s",
            post_id,
            after_id,
            last_id,
            result.retrying,
            result.retry_at,
        )
    if result.failed:
        raise DeliveriesFailed(f"{result.failed} recipient(s) failed for good; last error: {result.last_error}")
    return {"sent": result.sent, "retrying": result.retrying, "skipped": result.skipped}


@notifications_broker.task(task_name="send_post_notification", **labels(names.NOTIFICATIONS_QUEUE))
async def send_post_notification(post_id: int) -> int:
    """Create every user's in-app notification and announce the post live."""
    settings = get_settings()
    async with open_bus(enabled=settings.live_enabled, url=settings.redis_url) as bus:
        with session_scope() as session:
            message = await flows.notify_post(session, post_id=post_id, bus=bus, settings=settings)
    return 0 if message is None else message.id
