"""Post jobs: email fan-out and chunks on `emails`, in-app + live on `notifications`."""

import logging

from postboard import flows
from postboard.db import session_scope
from postboard.live.bus import RedisBus
from postboard.mail.transport import SmtpTransport
from postboard.settings import get_settings
from tasks.brokers import emails_broker, notifications_broker

log = logging.getLogger(__name__)


@emails_broker.task(task_name="send_post_emails")
async def send_post_emails(post_id: int) -> int:
    """Cut a post's audience into keyset chunks and queue one job per chunk."""
    settings = get_settings()
    with session_scope() as session:
        chunks = flows.plan_email_chunks(session, chunk_size=settings.email_chunk_size)
    for chunk in chunks:
        await send_post_email_chunk.kiq(post_id, chunk.after_id, chunk.last_id)
    log.info("post %s: %s email chunks queued", post_id, len(chunks))
    return len(chunks)


@emails_broker.task(task_name="send_post_email_chunk")
async def send_post_email_chunk(post_id: int, after_id: int, last_id: int) -> dict[str, int]:
    """Email one chunk of a post's audience over one SMTP connection."""
    settings = get_settings()
    with session_scope() as session:
        result = await flows.send_email_chunk(
            session,
            post_id=post_id,
            chunk=flows.EmailChunk(after_id=after_id, last_id=last_id),
            transport=SmtpTransport(settings),
            settings=settings,
        )
    return {"sent": result.sent, "failed": result.failed, "skipped": result.skipped}


@notifications_broker.task(task_name="send_post_notification")
async def send_post_notification(post_id: int) -> int:
    """Create every user's in-app notification and announce the post live."""
    settings = get_settings()
    bus = RedisBus(settings.redis_url)
    try:
        with session_scope() as session:
            message = await flows.notify_post(session, post_id=post_id, bus=bus)
    finally:
        await bus.close()
    return message.id
