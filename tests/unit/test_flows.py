"""What the post jobs do: email chunks (idempotent, one connection) and in-app notifications."""

import email
import email.policy
import itertools
import json

from sqlmodel import Session, func, select

from postboard import names
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.service import count_by_status
from postboard.events.builtin import post_rule_active, seed_builtins
from postboard.events.models import Rule, Template
from postboard.events.service import set_rule_active
from postboard.flows import notify_post, plan_email_chunks, send_email_chunk
from postboard.live.bus import MemoryBus
from postboard.mail.transport import MemoryTransport
from postboard.notifications.models import Notification
from postboard.settings import Settings
from postboard.users.models import Role, User
from tests.factories import chunk_of_everyone, make_audience, make_post

SETTINGS = Settings(app_url="http://postboard.test", mail_from="noreply@example.com")


def test_chunks_cover_every_user_once(session: Session) -> None:
    make_audience(session, members=1_201)
    chunks = plan_email_chunks(session, chunk_size=500)
    assert len(chunks) == 3
    assert chunks[0].after_id == 0
    assert all(a.last_id == b.after_id for a, b in itertools.pairwise(chunks))
    assert chunks[-1].last_id == session.exec(select(func.max(User.id))).one()


async def test_chunk_emails_everyone_but_the_author_over_one_connection(session: Session) -> None:
    post = make_post(session, members=40)
    transport = MemoryTransport()
    result = await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk_of_everyone(session), transport=transport, settings=SETTINGS
    )
    assert (result.sent, result.failed, result.skipped) == (40, 0, 0)
    assert transport.connections == 1
    recipients = [rcpt for rcpt, _ in transport.sent]
    assert len(set(recipients)) == 40
    author_email = session.get(User, post.author_id).email  # type: ignore[union-attr]
    assert author_email not in recipients
    assert count_by_status(session, post_id=post.id or 0, channel=Channel.EMAIL) == {DeliveryStatus.SENT: 40}


async def test_chunk_run_twice_sends_once(session: Session) -> None:
    post = make_post(session, members=25)
    transport = MemoryTransport()
    chunk = chunk_of_everyone(session)
    await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=transport, settings=SETTINGS)
    again = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=transport, settings=SETTINGS)
    assert (again.sent, again.skipped) == (0, 25)
    assert len(transport.sent) == 25
    assert session.exec(select(func.count()).select_from(Delivery)).one() == 25


async def test_refused_recipient_is_recorded_and_the_rest_go_out(session: Session) -> None:
    post = make_post(session, members=5)
    refused = session.exec(select(User.email).where(User.role == Role.MEMBER)).first() or ""
    transport = MemoryTransport(refuse=frozenset({refused}))
    result = await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk_of_everyone(session), transport=transport, settings=SETTINGS
    )
    assert (result.sent, result.failed) == (4, 1)
    failed = session.exec(select(Delivery).where(Delivery.status == DeliveryStatus.FAILED)).one()
    assert failed.attempts == 1
    assert "mailbox unavailable" in (failed.error or "")


async def test_email_has_subject_html_text_author_and_link(session: Session) -> None:
    post = make_post(session, members=1, title="<img src=x onerror=alert(1)>")
    transport = MemoryTransport()
    await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk_of_everyone(session), transport=transport, settings=SETTINGS
    )
    [(rcpt, raw)] = transport.sent
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"] == rcpt
    assert "<img src=x onerror=alert(1)>" in str(msg["Subject"])
    assert msg["Message-ID"] == f"<post-{post.id}.user-2@postboard>"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html
    assert "Ada Lovelace" in html
    assert "Ada Lovelace" in text
    assert f"http://postboard.test/posts/{post.id}" in html
    assert f"http://postboard.test/posts/{post.id}" in text
    assert "We shipped it." in text
    # The brand mark, from assets/, served with the app at APP_URL.
    assert '<img src="http://postboard.test/logo.png"' in html


async def test_notify_puts_one_row_in_every_inbox_and_announces_once(session: Session) -> None:
    post = make_post(session, members=30)
    bus = MemoryBus()
    await notify_post(session, post_id=post.id or 0, bus=bus, settings=SETTINGS)
    await notify_post(session, post_id=post.id or 0, bus=bus, settings=SETTINGS)
    assert session.exec(select(func.count()).select_from(Notification)).one() == 31
    channel, raw = bus.published[0]
    assert channel == names.LIVE_CHANNEL
    envelope = json.loads(raw)
    assert (envelope["type"], envelope["version"], envelope["to"]) == (names.POST_CREATED, 1, [names.SIGNED_IN_ROOM])
    message = envelope["data"]
    assert message["title"] == "Launch day"
    assert message["author"] == "Ada Lovelace"
    assert set(message) == {"id", "title", "author", "excerpt", "created_at", "url"}


async def test_built_in_rules_word_the_post_and_can_be_switched_off(session: Session) -> None:
    seed_builtins(session)
    post = make_post(session, members=3)
    email_template, in_app_template = session.exec(select(Template).order_by(Template.id)).all()
    email_template.subject = "Fresh: {{ title }} by {{ author }}"
    in_app_template.body = "{{ author }} wrote {{ title }}"
    session.add_all([email_template, in_app_template])
    session.commit()

    transport = MemoryTransport()
    await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk_of_everyone(session), transport=transport, settings=SETTINGS
    )
    assert b"Subject: Fresh: Launch day by Ada Lovelace" in transport.sent[0][1]
    bus = MemoryBus()
    await notify_post(session, post_id=post.id or 0, bus=bus, settings=SETTINGS)
    assert {n.body for n in session.exec(select(Notification)).all()} == {"Ada Lovelace wrote Launch day"}

    for rule in session.exec(select(Rule)).all():
        set_rule_active(session, rule_id=rule.id or 0, active=False)
    assert not post_rule_active(session, channel=Channel.EMAIL)
    assert await notify_post(session, post_id=post.id or 0, bus=bus, settings=SETTINGS) is None
    assert len(bus.published) == 1
