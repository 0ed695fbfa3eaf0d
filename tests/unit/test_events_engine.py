"""The rules engine on SQLite: configuration checks, simulation, recording, sending with twins."""

from typing import Any

import pytest
from sqlmodel import Session, select

from postboard.channels.base import ChannelFailure, MemorySender
from postboard.deliveries.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from postboard.errors import ValidationFailed
from postboard.events.conditions import Condition, Conditions, Operator
from postboard.events.delivery import EmailSender, InAppSender, send_event_deliveries
from postboard.events.engine import EventRejected, receive, simulate
from postboard.events.models import RecipientKind
from postboard.events.service import RuleIn, SourceIn, TemplateIn, save_rule, save_source, save_template
from postboard.mail.transport import MemoryTransport
from postboard.notifications.models import Notification
from postboard.settings import Settings
from postboard.users.models import Role
from tests.factories import make_audience, make_user

SETTINGS = Settings(app_url="http://postboard.test", retry_delays=[0, 0])
SCHEMA = {
    "type": "object",
    "required": ["order_id", "total", "customer_email"],
    "properties": {"order_id": {"type": "integer"}, "total": {"type": "number"}, "customer_email": {"type": "string"}},
}


def _order(total: float = 150, **extra: Any) -> dict[str, Any]:
    return {"order_id": 7, "total": total, "customer_email": "buyer@example.com", **extra}


def _setup(session: Session, *, channel: Channel = Channel.EMAIL, kind: RecipientKind = RecipientKind.FIELD) -> int:
    source = save_source(session, SourceIn(name="order_created", payload_schema=SCHEMA, sample_payload=_order()))
    template = save_template(
        session,
        TemplateIn(
            name=f"order {channel}",
            channel=channel,
            subject="Order {{ order_id }} confirmed" if channel in (Channel.EMAIL, Channel.IN_APP) else None,
            body="Total: {{ total }}",
        ),
    )
    value = {"field": "customer_email", "url": "https://hooks.example/x"}.get(kind.value, "")
    save_rule(
        session,
        RuleIn(
            name="big orders",
            source_id=source.id or 0,
            template_id=template.id or 0,
            recipient_kind=kind,
            recipient_value=value,
            conditions=Conditions(items=[Condition(field="total", op=Operator.GT, value=100)]),
        ),
    )
    return source.id or 0


def test_a_template_with_a_syntax_error_is_refused_with_its_line(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        save_template(session, TemplateIn(name="t", channel=Channel.EMAIL, subject="Hi", body="ok\n{{ total }"))
    assert "line 2" in caught.value.errors["body"]


def test_channel_rules_are_checked(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="subject"):
        save_template(session, TemplateIn(name="t", channel=Channel.EMAIL, body="no subject"))
    _setup(session, channel=Channel.SMS)
    with pytest.raises(ValidationFailed, match="SMS rules send to: field"):
        save_rule(
            session,
            RuleIn(name="r", source_id=1, template_id=1, recipient_kind=RecipientKind.ALL_USERS),
        )


def test_simulation_says_why_and_sends_nothing(session: Session) -> None:
    _setup(session)
    hit = simulate(session, source_name="order_created", payload=_order(150), settings=SETTINGS)
    miss = simulate(session, source_name="order_created", payload=_order(50), settings=SETTINGS)
    (yes,), (no,) = hit.outcomes, miss.outcomes
    assert (yes.matched, yes.subject, yes.body) == (True, "Order 7 confirmed", "Total: 150")
    assert [r.address for r in yes.recipients] == ["buyer@example.com"]
    assert (no.matched, no.sends) == (False, 0)
    assert "50" in no.checks[0].reason
    assert session.exec(select(Delivery)).all() == []


def test_a_payload_that_breaks_the_schema_is_rejected(session: Session) -> None:
    _setup(session)
    with pytest.raises(EventRejected) as caught:
        receive(session, source_name="order_created", payload={"order_id": "x"}, settings=SETTINGS)
    assert any("order_id" in e for e in caught.value.errors)


def test_the_same_idempotency_key_records_one_event(session: Session) -> None:
    _setup(session)
    first, outbox = receive(
        session, source_name="order_created", payload=_order(), settings=SETTINGS, idempotency_key="k1"
    )
    again, none = receive(
        session, source_name="order_created", payload=_order(), settings=SETTINGS, idempotency_key="k1"
    )
    assert (again.event_id, again.planned, again.replay) == (first.event_id, 1, True)
    assert outbox is not None
    assert none is None
    assert len(session.exec(select(Delivery)).all()) == 1


async def test_email_deliveries_are_sent_once_and_logged(session: Session) -> None:
    _setup(session)
    receipt, _ = receive(session, source_name="order_created", payload=_order(), settings=SETTINGS)
    transport = MemoryTransport()
    async with EmailSender(transport, SETTINGS) as sender:
        result = await send_event_deliveries(
            session, event_id=receipt.event_id, channel=Channel.EMAIL, sender=sender, settings=SETTINGS
        )
    assert result.sent == 1
    ((recipient, raw),) = transport.sent
    assert recipient == "buyer@example.com"
    assert b"Subject: Order 7 confirmed" in raw
    again = await send_event_deliveries(
        session, event_id=receipt.event_id, channel=Channel.EMAIL, sender=MemorySender(), settings=SETTINGS
    )
    assert again.sent == 0
    (attempt,) = session.exec(select(DeliveryAttempt)).all()
    assert (attempt.number, attempt.outcome) == (1, DeliveryStatus.SENT)


async def test_transient_failures_retry_and_permanent_ones_fail(session: Session) -> None:
    _setup(session, channel=Channel.WEBHOOK, kind=RecipientKind.URL)
    receipt, _ = receive(session, source_name="order_created", payload=_order(), settings=SETTINGS)
    down = MemorySender({"https://hooks.example/x": ChannelFailure("HTTP 503", permanent=False)})
    result = await send_event_deliveries(
        session, event_id=receipt.event_id, channel=Channel.WEBHOOK, sender=down, settings=SETTINGS
    )
    assert (result.retrying, result.retry_at is not None) == (1, True)
    gone = MemorySender({"https://hooks.example/x": ChannelFailure("HTTP 410", permanent=True)})
    result = await send_event_deliveries(
        session, event_id=receipt.event_id, channel=Channel.WEBHOOK, sender=gone, settings=SETTINGS
    )
    (delivery,) = session.exec(select(Delivery)).all()
    session.refresh(delivery)
    assert (result.failed, delivery.status, delivery.error, delivery.attempts) == (1, "failed", "HTTP 410", 2)
    outcomes = [a.outcome for a in session.exec(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()]
    assert outcomes == [DeliveryStatus.RETRYING, DeliveryStatus.FAILED]


async def test_in_app_to_a_role_reaches_each_of_its_users(session: Session) -> None:
    make_user(session, email="boss@example.com", role=Role.ADMIN)
    make_audience(session, members=5)
    source_id = _setup(session, channel=Channel.IN_APP, kind=RecipientKind.ALL_USERS)
    assert source_id
    receipt, _ = receive(session, source_name="order_created", payload=_order(), settings=SETTINGS)
    assert receipt.planned == 6
    result = await send_event_deliveries(
        session, event_id=receipt.event_id, channel=Channel.IN_APP, sender=InAppSender(session), settings=SETTINGS
    )
    assert result.sent == 6
    titles = {n.title for n in session.exec(select(Notification)).all()}
    assert titles == {"Order 7 confirmed"}


def test_a_missing_variable_is_logged_as_a_failed_delivery(session: Session) -> None:
    source = save_source(session, SourceIn(name="signup"))
    template = save_template(session, TemplateIn(name="w", channel=Channel.EMAIL, subject="Hi {{ name }}", body="x"))
    save_rule(
        session,
        RuleIn(
            name="welcome",
            source_id=source.id or 0,
            template_id=template.id or 0,
            recipient_kind=RecipientKind.FIELD,
            recipient_value="email",
        ),
    )
    receipt, outbox = receive(session, source_name="signup", payload={"email": "new@example.com"}, settings=SETTINGS)
    (delivery,) = session.exec(select(Delivery)).all()
    assert (receipt.planned, outbox, delivery.status) == (0, None, DeliveryStatus.FAILED)
    assert "name" in (delivery.error or "")
