"""Cross-domain orchestration: what the post jobs do, framework-free."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib
from sqlmodel import Session, col, select

from postboard import names
from postboard.deliveries.models import Channel
from postboard.deliveries.service import (
    ensure_deliveries,
    owed_deliveries,
    record_outcome,
)
from postboard.live.bus import Bus
from postboard.live.messages import LivePost
from postboard.mail.render import message_id, render_post_email
from postboard.mail.transport import MailTransport
from postboard.notifications.service import create_for_post
from postboard.posts.models import post_path
from postboard.posts.service import get_post
from postboard.settings import Settings
from postboard.users.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmailChunk:
    """Recipients with `after_id < user.id <= last_id`: a stable range a re-run sees again."""

    after_id: int
    last_id: int


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk run did."""

    sent: int
    failed: int
    skipped: int


def plan_email_chunks(session: Session, *, chunk_size: int) -> list[EmailChunk]:
    """Walk user ids with keyset pagination and cut them into chunks of `chunk_size`."""
    chunks: list[EmailChunk] = []
    after = 0
    while True:
        ids = session.exec(select(User.id).where(col(User.id) > after).order_by(col(User.id)).limit(chunk_size)).all()
        if not ids:
            return chunks
        last = ids[-1]
        assert last is not None
        chunks.append(EmailChunk(after_id=after, last_id=last))
        after = last


def _chunk_recipients(session: Session, *, chunk: EmailChunk, exclude: int) -> Sequence[tuple[int, str]]:
    rows = session.exec(
        select(User.id, User.email)
        .where(
            col(User.id) > chunk.after_id,
            col(User.id) <= chunk.last_id,
            col(User.id) != exclude,
        )
        .order_by(col(User.id))
    ).all()
    return [(uid, email) for uid, email in rows if uid is not None]


async def send_email_chunk(
    session: Session,
    *,
    post_id: int,
    chunk: EmailChunk,
    transport: MailTransport,
    settings: Settings,
) -> ChunkResult:
    """Email one chunk of a post's audience over one connection, skipping who already has it."""
    post = get_post(session, post_id=post_id)
    recipients = dict(_chunk_recipients(session, chunk=chunk, exclude=post.author_id))
    ids = list(recipients)
    ensure_deliveries(session, post_id=post_id, user_ids=ids, channel=Channel.EMAIL)
    owed = owed_deliveries(session, post_id=post_id, user_ids=ids, channel=Channel.EMAIL)
    skipped = len(ids) - len(owed)
    if not owed:
        return ChunkResult(sent=0, failed=0, skipped=skipped)
    email = await render_post_email(post, settings=settings)
    sent = failed = 0
    async with transport:
        for delivery in owed:
            assert delivery.id is not None
            address = recipients[delivery.user_id]
            raw = email.for_recipient(
                address=address,
                message_id=message_id(post_id=post_id, user_id=delivery.user_id),
            )
            try:
                await transport.send(sender=email.sender, recipient=address, raw=raw)
            except (
                aiosmtplib.SMTPRecipientRefused,
                aiosmtplib.SMTPRecipientsRefused,
                aiosmtplib.SMTPDataError,
            ) as exc:
                record_outcome(session, delivery_id=delivery.id, error=str(exc))
                failed += 1
                continue
            record_outcome(session, delivery_id=delivery.id, error=None)
            sent += 1
    return ChunkResult(sent=sent, failed=failed, skipped=skipped)


async def notify_post(session: Session, *, post_id: int, bus: Bus) -> LivePost:
    """Put the post in every inbox, then announce it once on the live channel."""
    post = get_post(session, post_id=post_id)
    path = post_path(post_id)
    created = create_for_post(session, post=post, url=path)
    message = LivePost.from_post(post, url=path)
    log.info("post %s: %s notifications created", post_id, created)
    await bus.publish(names.POSTS_CHANNEL, message.model_dump_json())
    return message
