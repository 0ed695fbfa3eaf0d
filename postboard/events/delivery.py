"""Sending an event's deliveries on one channel: claim, send, log each attempt, schedule retries."""

import logging
import time
from collections import Counter
from types import TracebackType
from typing import Self

from sqlmodel import Session

from postboard import names
from postboard.channels.base import ChannelFailure, OutboundMessage, Sender
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.retry import RetryPolicy
from postboard.deliveries.service import (
    attempts_made,
    claim,
    event_scope,
    next_retry_at,
    owed_deliveries,
    record_attempt,
    record_failure,
    record_sent,
    reset_failed,
)
from postboard.errors import OUTAGES
from postboard.events.models import Event, EventSource
from postboard.flows import ChunkResult
from postboard.live.bus import Bus
from postboard.live.messages import LiveNotice, announce
from postboard.mail.errors import classify
from postboard.mail.render import RenderedEmail, render_text_email
from postboard.mail.transport import MailTransport
from postboard.notifications.service import notify_users
from postboard.settings import Settings

log = logging.getLogger(__name__)


class EmailSender:
    """The email channel as a `Sender`: one SMTP connection, opened on the first send, for a batch."""

    def __init__(self, transport: MailTransport, settings: Settings) -> None:
        self._transport, self._settings = transport, settings
        self._open = False
        self._broken: ChannelFailure | None = None
        self._rendered: dict[tuple[str | None, str], RenderedEmail] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:
            await self._transport.__aexit__(exc_type, exc, tb)

    async def send(self, message: OutboundMessage) -> str:
        """Send one rendered email; SMTP errors become `ChannelFailure`s (a dead connection fails the rest fast)."""
        if self._broken is not None:
            raise self._broken
        key = (message.subject, message.body)
        if key not in self._rendered:
            self._rendered[key] = await render_text_email(
                subject=message.subject or message.event, text=message.body, settings=self._settings
            )
        email = self._rendered[key]
        raw = email.for_recipient(address=message.recipient, message_id=f"<event-{message.delivery_id}@postboard>")
        try:
            if not self._open:
                await self._transport.__aenter__()
                self._open = True
            await self._transport.send(sender=email.sender, recipient=message.recipient, raw=raw)
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            problem = ChannelFailure(failure.error, permanent=failure.permanent)
            if failure.connection:
                self._broken = problem
            raise problem from exc
        return "250 accepted"


class InAppSender:
    """The in-app channel: a notification in the user's inbox, then a live notice to their open tabs."""

    def __init__(self, session: Session, bus: Bus | None = None) -> None:
        self._session, self._bus = session, bus

    async def send(self, message: OutboundMessage) -> str:
        """Put the message in one user's notifications."""
        if not message.recipient.isdigit():
            raise ChannelFailure(f"not a user id: {message.recipient!r}", permanent=True)
        notify_users(
            self._session,
            user_ids=[int(message.recipient)],
            title=message.subject or message.event,
            body=message.body,
            url="/notifications",
        )
        if self._bus is None or not self._bus.live:
            return "in inbox"
        notice = LiveNotice(title=message.subject or message.event, body=message.body, url="/notifications")
        try:
            to = [names.user_room(int(message.recipient))]
            await announce(self._bus, type=names.NOTIFICATION_CREATED, to=to, data=notice)
        except OUTAGES as exc:  # the inbox row is the delivery; the push is a courtesy
            log.warning("live notice for user %s not published: %s", message.recipient, exc)
            return "in inbox (live push failed)"
        return "in inbox, pushed live"


def _message(delivery: Delivery, event: Event, source: EventSource) -> OutboundMessage:
    return OutboundMessage(
        recipient=delivery.recipient or "",
        body=delivery.body or "",
        subject=delivery.subject,
        event=source.name,
        event_id=event.id,
        payload=event.payload,
        delivery_id=f"{event.id}.{delivery.id}",
    )


async def send_event_deliveries(
    session: Session,
    *,
    event_id: str,
    channel: Channel,
    sender: Sender,
    settings: Settings,
    retry_failed: bool = False,
) -> ChunkResult:
    """Send the event's due deliveries on one channel; each claimed first, each attempt logged."""
    event = session.get(Event, event_id)
    if event is None:
        return ChunkResult()
    source = session.get(EventSource, event.source_id)
    assert source is not None
    scope = event_scope(event_id=event_id, channel=channel)
    if retry_failed:
        reset_failed(session, scope=scope)
    lease = settings.send_lease_seconds
    owed = owed_deliveries(session, scope=scope, lease=lease)
    policy = RetryPolicy.of(settings.retry_delays)
    tally: Counter[DeliveryStatus] = Counter()
    last_error: str | None = None
    lost = 0
    for delivery in owed:
        if not claim(session, delivery=delivery, lease=lease):
            lost += 1
            continue
        started = time.monotonic()
        try:
            receipt = await sender.send(_message(delivery, event, source))
        except ChannelFailure as failure:
            last_error = failure.error
            ms = int((time.monotonic() - started) * 1000)
            statuses = record_failure(
                session, deliveries=[delivery], error=failure.error, permanent=failure.permanent, policy=policy
            )
            outcome = statuses[0] if statuses else DeliveryStatus.FAILED
            record_attempt(session, delivery=delivery, outcome=outcome, detail=failure.error, duration_ms=ms)
            tally[outcome] += 1
        else:
            ms = int((time.monotonic() - started) * 1000)
            record_attempt(session, delivery=delivery, outcome=DeliveryStatus.SENT, detail=receipt, duration_ms=ms)
            record_sent(session, delivery=delivery)
            tally[DeliveryStatus.SENT] += 1
    return ChunkResult(
        sent=tally[DeliveryStatus.SENT],
        failed=tally[DeliveryStatus.FAILED],
        retrying=tally[DeliveryStatus.RETRYING],
        skipped=lost,
        retry_at=next_retry_at(session, scope=scope, lease=lease),
        retry_attempt=attempts_made(session, scope=scope) + 1,
        last_error=last_error,
    )
