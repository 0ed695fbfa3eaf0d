"""The rules engine: which rules an event matches, who receives what; simulate or record it."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from postboard.channels.sms import normalize_phone
from postboard.clock import utcnow
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.errors import PostboardError
from postboard.events.conditions import Check, Conditions, evaluate, finite_json, lookup
from postboard.events.models import Event, EventSource, RecipientKind, Rule, Template
from postboard.events.schemas import payload_errors
from postboard.events.service import get_source
from postboard.events.templating import TemplateProblem, render
from postboard.live.model_events import note_change
from postboard.outbox.models import OutboxEvent
from postboard.settings import Settings
from postboard.users.models import Role, User

EVENT_RECEIVED = "event.received"
# The Test-event panel shows this many recipients of a rule; the count is always exact.
SHOWN_RECIPIENTS = 20


class EventRejected(PostboardError):
    """The payload does not fit the event source's schema; `errors` says where."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class IdempotencyConflict(PostboardError):
    """The key or event id was already used for a different event (or by another token)."""


@dataclass(frozen=True)
class Recipient:
    """One address a rule sends to, and the user behind it when there is one."""

    address: str
    user_id: int | None = None


@dataclass
class RuleOutcome:
    """What one rule does with one event, and why."""

    rule: Rule
    template: Template
    matched: bool
    checks: list[Check] = field(default_factory=list)
    reason: str = ""
    recipients: list[Recipient] = field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    error: str | None = None

    @property
    def channel(self) -> Channel:
        """The template's channel."""
        return Channel(self.template.channel)

    @property
    def sends(self) -> int:
        """How many messages this rule sends for the event."""
        return len(self.recipients) if self.matched and self.error is None else 0


@dataclass(frozen=True)
class Plan:
    """Every rule of the event's source, matched or not: the simulation, and what `receive` records."""

    source: EventSource
    payload: dict[str, Any]
    outcomes: list[RuleOutcome]

    @property
    def deliveries(self) -> int:
        """Messages that would be sent."""
        return sum(o.sends for o in self.outcomes)


@dataclass(frozen=True)
class Receipt:
    """The answer to a received event: its id, deliveries planned, and whether it is a replay."""

    event_id: str
    planned: int
    channels: tuple[Channel, ...]
    replay: bool = False


def _recipients(
    session: Session, rule: Rule, channel: Channel, payload: Mapping[str, Any], settings: Settings
) -> list[Recipient]:
    kind, value = RecipientKind(rule.recipient_kind), rule.recipient_value
    if kind is RecipientKind.FIELD:
        _, found = lookup(payload, value)
        if found is None:
            raise ValueError(f"payload has no field {value!r} for the recipient")
        addresses = found if isinstance(found, list) else [found]
        if not all(isinstance(a, str) and a.strip() for a in addresses):
            raise ValueError(f"{value!r} must be an address or a list of addresses")
        if channel is Channel.SMS and (bad := next((a for a in addresses if normalize_phone(a) is None), None)):
            raise ValueError(f"{value} is not a phone number: {bad[:40]!r}")
        return [Recipient(address=a.strip()) for a in dict.fromkeys(addresses)]
    if kind is RecipientKind.URL:
        url = value or settings.slack_webhook_url
        if not url:
            raise ValueError("no Slack webhook URL: set one on the rule or SLACK_WEBHOOK_URL")
        return [Recipient(address=url)]
    query = select(User.id, User.email).order_by(col(User.id))
    if kind is RecipientKind.ROLE:
        query = query.where(User.role == Role(value))
    elif kind is RecipientKind.USER:
        query = query.where(User.id == int(value))
    rows = session.exec(query).all()
    return [Recipient(address=str(uid) if channel is Channel.IN_APP else email, user_id=uid) for uid, email in rows]


def _conditions(rule: Rule) -> Conditions | None:
    try:
        return Conditions.model_validate(rule.conditions or {})
    except ValidationError:
        return None


def _outcome(session: Session, rule: Rule, payload: dict[str, Any], settings: Settings) -> RuleOutcome:
    template = session.get(Template, rule.template_id)
    assert template is not None  # RESTRICT: a used template cannot be deleted
    outcome = RuleOutcome(rule=rule, template=template, matched=False)
    conditions = _conditions(rule)
    if conditions is None:
        outcome.reason = "its stored conditions cannot be read: edit the rule"
        return outcome
    verdict = evaluate(conditions, payload)
    outcome.checks = list(verdict.checks)
    if not rule.active:
        outcome.reason = "the rule is switched off"
        return outcome
    if not verdict.matched:
        outcome.reason = "conditions not met"
        return outcome
    outcome.matched = True
    outcome.reason = "no conditions: always sends" if not conditions.items else "conditions met"
    try:
        outcome.recipients = _recipients(session, rule, outcome.channel, payload, settings)
        # One line: a subject becomes an email header, where a newline would start another header.
        subject = render(template.subject, payload, field="subject") if template.subject else None
        outcome.subject = " ".join(subject.split())[:500] if subject is not None else None
        outcome.body = render(template.body, payload, field="body")
    except (TemplateProblem, ValueError) as exc:
        outcome.error = str(exc)
    return outcome


def plan(session: Session, *, source: EventSource, payload: dict[str, Any], settings: Settings) -> Plan:
    """Evaluate every rule of the source against the payload; nothing is written."""
    rules = session.exec(select(Rule).where(Rule.source_id == source.id).order_by(col(Rule.name))).all()
    return Plan(source=source, payload=payload, outcomes=[_outcome(session, r, payload, settings) for r in rules])


def simulate(session: Session, *, source_name: str, payload: Any, settings: Settings) -> Plan:
    """What an event would do (matching rules and why, recipients, rendered messages), sending nothing."""
    source = get_source(session, name=source_name)
    _check_payload(source, payload)
    return plan(session, source=source, payload=payload, settings=settings)


def _check_payload(source: EventSource, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise EventRejected(["the payload must be a JSON object"])
    if not finite_json(payload):
        raise EventRejected(["NaN and Infinity are not JSON numbers"])
    if errors := payload_errors(source.payload_schema, payload):
        raise EventRejected(errors)


def _replay(session: Session, *, token_id: int | None, key: str | None, event_id: str | None) -> Event | None:
    if event_id is not None and (found := session.get(Event, event_id)) is not None:
        return found
    if key is None:
        return None
    query = select(Event).where(Event.idempotency_key == key)
    query = query.where(col(Event.token_id).is_(None)) if token_id is None else query.where(Event.token_id == token_id)
    return session.exec(query).first()


def _same(session: Session, seen: Event, *, source: EventSource, token_id: int | None) -> Receipt:
    """A replay of `seen`, if the request is the same one again; else a conflict."""
    if seen.token_id != token_id:
        raise IdempotencyConflict("this event id is already taken: choose another")
    # The payload may differ (a caller's retry re-serialised it): the first answer stands.
    if seen.source_id != source.id:
        raise IdempotencyConflict("this key or event id was already used for a different event")
    return _receipt(session, seen, replay=True)


def _receipt(session: Session, event: Event, *, replay: bool) -> Receipt:
    channels = session.exec(select(Delivery.channel).where(Delivery.event_id == event.id).distinct()).all()
    return Receipt(
        event_id=event.id, planned=event.planned, channels=tuple(Channel(c) for c in channels), replay=replay
    )


def receive(
    session: Session,
    *,
    source_name: str,
    payload: Any,
    settings: Settings,
    token_id: int | None = None,
    idempotency_key: str | None = None,
    event_id: str | None = None,
) -> tuple[Receipt, OutboxEvent | None]:
    """Record an event, its deliveries and its outbox row in one transaction; a replay records nothing."""
    source = get_source(session, name=source_name)
    if (seen := _replay(session, token_id=token_id, key=idempotency_key, event_id=event_id)) is not None:
        return _same(session, seen, source=source, token_id=token_id), None
    _check_payload(source, payload)
    result = plan(session, source=source, payload=payload, settings=settings)
    event = Event(
        id=event_id or uuid.uuid4().hex,
        source_id=source.id or 0,
        payload=payload,
        token_id=token_id,
        idempotency_key=idempotency_key,
        planned=result.deliveries,
    )
    session.add(event)
    rows = _delivery_rows(event.id, result)
    channels = tuple(dict.fromkeys(Channel(r["channel"]) for r in rows if r["status"] == DeliveryStatus.PENDING))
    outbox = OutboxEvent(kind=EVENT_RECEIVED, payload={"event_id": event.id, "channels": ",".join(channels)})
    if channels:
        session.add(outbox)
    try:
        session.flush()
        if rows:
            session.execute(insert(Delivery), rows)
            note_change(session, "deliveries", action="created")
        session.commit()
    except IntegrityError:
        # The same key or id arrived twice at once: the first one stands.
        session.rollback()
        if (seen := _replay(session, token_id=token_id, key=idempotency_key, event_id=event_id)) is None:
            raise
        return _same(session, seen, source=source, token_id=token_id), None
    return Receipt(event_id=event.id, planned=event.planned, channels=channels), outbox if channels else None


def _delivery_rows(event_id: str, result: Plan) -> list[dict[str, Any]]:
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for outcome in result.outcomes:
        if not outcome.matched:
            continue
        # A rule that cannot render (a field the payload lacks) is logged as failed, not lost.
        targets = outcome.recipients or ([Recipient(address="(none)")] if outcome.error else [])
        for recipient in targets:
            rows.append(
                {
                    "event_id": event_id,
                    "rule_id": outcome.rule.id,
                    "channel": outcome.channel,
                    "recipient": recipient.address[:500],
                    "user_id": recipient.user_id,
                    "subject": outcome.subject,
                    "body": outcome.body,
                    "status": DeliveryStatus.FAILED if outcome.error else DeliveryStatus.PENDING,
                    "error": outcome.error,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


def shown(recipients: Sequence[Recipient]) -> list[str]:
    """The first recipients of a rule, for the simulation."""
    return [r.address for r in recipients[:SHOWN_RECIPIENTS]]
