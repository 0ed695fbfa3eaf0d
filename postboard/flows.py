"""Cross-domain orchestration: what the post jobs do, framework-free."""

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from postboard import names
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.retry import RetryPolicy
from postboard.deliveries.service import (
    attempts_made,
    claim,
    count_by_status,
    ensure_deliveries,
    next_retry_at,
    owed_deliveries,
    post_scope,
    record_failure,
    record_sent,
    reset_failed,
)
from postboard.events.builtin import post_message, post_payload
from postboard.live.bus import Bus
from postboard.live.messages import LivePost, announce
from postboard.mail.errors import classify
from postboard.mail.render import message_id, post_url, render_post_email
from postboard.mail.transport import MailTransport
from postboard.notifications.models import Notification
from postboard.notifications.service import create_for_post
from postboard.posts.models import PostView, post_path
from postboard.posts.service import PostDeleted, get_post
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
    """What one chunk run did, and when its `retrying` recipients are due again."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    retry_at: datetime | None = None
    # The attempt number the run at `retry_at` will make (for the job monitor).
    retry_attempt: int = 1
    last_error: str | None = None


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
    retry_failed: bool = False,
) -> ChunkResult:
    """Email the chunk's recipients that are due, over one connection; failures retry on the schedule.

    `retry_failed` (an admin's manual retry) first makes the chunk's failed deliveries pending again.
    A post deleted before its chunk runs is not emailed: the job ends without sending.
    """
    try:
        post = get_post(session, post_id=post_id)
    except PostDeleted:
        log.info("post %s was deleted: its emails are not sent", post_id)
        return ChunkResult()
    recipients = dict(_chunk_recipients(session, chunk=chunk, exclude=post.author_id))
    ids = list(recipients)
    ensure_deliveries(session, post_id=post_id, user_ids=ids, channel=Channel.EMAIL)
    scope = post_scope(post_id=post_id, user_ids=ids, channel=Channel.EMAIL)
    if retry_failed:
        reset_failed(session, scope=scope)
    lease = settings.send_lease_seconds
    owed = owed_deliveries(session, scope=scope, lease=lease)
    tally: Counter[DeliveryStatus] = Counter()
    lost = 0
    last_error: str | None = None
    if owed:
        words = post_message(session, channel=Channel.EMAIL, payload=payload_of(post, settings=settings))
        email = await render_post_email(post, settings=settings, subject=words.subject, text=words.body)
        policy = RetryPolicy.of(settings.retry_delays)
        done = 0
        holding: Delivery | None = None  # claimed by this run, outcome not yet recorded
        try:
            async with transport:
                for delivery in owed:
                    if not claim(session, delivery=delivery, lease=lease):
                        # Another run of this chunk took it (a reclaimed duplicate job).
                        lost += 1
                        done += 1
                        continue
                    holding = delivery
                    user_id = delivery.user_id
                    assert user_id is not None  # the post scope selects by user
                    address = recipients[user_id]
                    raw = email.for_recipient(address=address, message_id=message_id(post_id=post_id, user_id=user_id))
                    try:
                        await transport.send(sender=email.sender, recipient=address, raw=raw)
                    except Exception as exc:
                        failure = classify(exc)
                        if failure is None or failure.connection:
                            raise
                        last_error = failure.error
                        tally.update(
                            record_failure(
                                session,
                                deliveries=[delivery],
                                error=failure.error,
                                permanent=failure.permanent,
                                policy=policy,
                            )
                        )
                    else:
                        record_sent(session, delivery=delivery)
                        tally[DeliveryStatus.SENT] += 1
                    holding = None
                    done += 1
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            # The connection is gone: the claimed recipient and every one not yet tried wait
            # for the next attempt.
            last_error = failure.error
            log.warning("post %s chunk %s: %s; %s recipients wait", post_id, chunk, failure.error, len(owed) - done)
            rest = [d for d in owed[done:] if d is not holding]
            for rows, unclaimed in (([holding] if holding else [], False), (rest, True)):
                tally.update(
                    record_failure(
                        session,
                        deliveries=rows,
                        error=failure.error,
                        permanent=False,
                        policy=policy,
                        unclaimed=unclaimed,
                    )
                )
    return ChunkResult(
        sent=tally[DeliveryStatus.SENT],
        failed=tally[DeliveryStatus.FAILED],
        retrying=tally[DeliveryStatus.RETRYING],
        skipped=len(ids) - len(owed) + lost,
        retry_at=next_retry_at(session, scope=scope, lease=lease),
        retry_attempt=attempts_made(session, scope=scope) + 1,
        last_error=last_error,
    )


def payload_of(post: PostView, *, settings: Settings) -> dict[str, Any]:
    """The `post.created` payload of a post, for its built-in templates."""
    return post_payload(
        post_id=post.id,
        title=post.title,
        author=post.author_name,
        content=post.content,
        excerpt=post.excerpt,
        url=post_url(settings, post.id),
    )


async def notify_post(session: Session, *, post_id: int, bus: Bus, settings: Settings) -> LivePost | None:
    """Put the post in every inbox, then announce it once on the live channel (unless switched off or deleted)."""
    try:
        post = get_post(session, post_id=post_id)
    except PostDeleted:
        log.info("post %s was deleted: no notifications", post_id)
        return None
    words = post_message(session, channel=Channel.IN_APP, payload=payload_of(post, settings=settings))
    if not words.active:
        log.info("post %s: in-app rule switched off", post_id)
        return None
    path = post_path(post_id)
    created = create_for_post(session, post=post, url=path, title=words.subject, body=words.body)
    message = LivePost.from_post(post)
    log.info("post %s: %s notifications created", post_id, created)
    await announce(bus, type=names.POST_CREATED, to=[names.SIGNED_IN_ROOM], data=message)
    return message


@dataclass(frozen=True)
class PostProgress:
    """How far a post's fan-out has got: emails by status out of the audience, and inboxes reached."""

    audience: int
    emailed: int
    failed: int
    retrying: int
    in_app: int

    @property
    def pending(self) -> int:
        """Recipients not emailed, not failed and not waiting for a retry."""
        return max(0, self.audience - self.emailed - self.failed - self.retrying)

    @property
    def done(self) -> bool:
        """Whether nothing more will happen on its own."""
        return self.pending == 0 and self.retrying == 0

    def figures(self) -> dict[str, int]:
        """The progress bar's figures."""
        return {
            "audience": self.audience,
            "emailed": self.emailed,
            "failed": self.failed,
            "retrying": self.retrying,
            "pending": self.pending,
            "in_app": self.in_app,
            "done": int(self.done),
        }


def post_progress(session: Session, *, post_id: int) -> PostProgress:
    """Read a post's fan-out progress (two grouped counts, whatever the audience size)."""
    post = get_post(session, post_id=post_id)
    audience = session.exec(select(func.count()).select_from(User).where(col(User.id) != post.author_id)).one()
    counts = count_by_status(session, post_id=post_id, channel=Channel.EMAIL)
    in_app = session.exec(
        select(func.count()).select_from(Notification).where(col(Notification.post_id) == post_id)
    ).one()
    return PostProgress(
        audience=audience,
        emailed=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        retrying=counts.get(DeliveryStatus.RETRYING, 0),
        in_app=in_app,
    )
