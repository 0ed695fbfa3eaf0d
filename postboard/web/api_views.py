"""What the HTTP API answers with: response models built from the domain objects."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from postboard.deliveries.models import Delivery, DeliveryAttempt
from postboard.events.engine import SHOWN_RECIPIENTS, Plan


class EventAccepted(BaseModel):
    """The answer to `POST /api/events`."""

    id: str
    event: str
    deliveries_planned: int
    queued: bool
    replayed: bool = False


class SourceOut(BaseModel):
    """An event source."""

    id: int
    name: str
    description: str
    payload_schema: dict[str, Any] | None
    sample_payload: dict[str, Any] | None
    builtin: bool


class TemplateOut(BaseModel):
    """A template."""

    id: int
    name: str
    channel: str
    subject: str | None
    body: str


class RuleOut(BaseModel):
    """A rule (its webhook secret is never shown)."""

    id: int
    name: str
    source_id: int
    template_id: int
    recipient_kind: str
    recipient_value: str
    conditions: dict[str, Any]
    active: bool
    builtin: bool


class AttemptOut(BaseModel):
    """One try of a delivery."""

    number: int
    outcome: str
    detail: str | None
    duration_ms: int
    at: datetime


class DeliveryOut(BaseModel):
    """A delivery-log entry."""

    id: int
    channel: str
    status: str
    recipient: str | None
    event_id: str | None
    event: str | None = None
    rule_id: int | None
    post_id: int | None
    user_id: int | None
    subject: str | None
    body: str | None
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[AttemptOut] = []


def delivery_out(
    delivery: Delivery, *, event_name: str | None = None, attempts: Sequence[DeliveryAttempt] = ()
) -> DeliveryOut:
    """Build the API view of a delivery."""
    fields = {name: getattr(delivery, name) for name in DeliveryOut.model_fields if hasattr(delivery, name)}
    # Status and channel come back from the database as plain strings.
    fields.update(status=str(delivery.status), channel=str(delivery.channel), event=event_name)
    fields["attempt_log"] = [AttemptOut.model_validate(a, from_attributes=True) for a in attempts]
    return DeliveryOut.model_validate(fields)


class CheckOut(BaseModel):
    """One condition of a rule, and how it went."""

    field: str
    op: str
    value: Any
    matched: bool
    reason: str


class OutcomeOut(BaseModel):
    """What one rule would do."""

    rule_id: int
    rule: str
    channel: str
    active: bool
    matched: bool
    reason: str
    checks: list[CheckOut]
    recipients: int
    first_recipients: list[str]
    subject: str | None
    body: str | None
    error: str | None


class PlanOut(BaseModel):
    """A simulation: every rule of the event, matched or not, and the messages it would send."""

    event: str
    deliveries: int
    rules: list[OutcomeOut]


def plan_out(plan: Plan) -> PlanOut:
    """Build the API view of a simulation."""
    return PlanOut(
        event=plan.source.name,
        deliveries=plan.deliveries,
        rules=[
            OutcomeOut(
                rule_id=o.rule.id or 0,
                rule=o.rule.name,
                channel=o.channel.value,
                active=o.rule.active,
                matched=o.matched,
                reason=o.reason,
                checks=[
                    CheckOut(
                        field=c.condition.field,
                        op=c.condition.op.value,
                        value=c.condition.value,
                        matched=c.matched,
                        reason=c.reason,
                    )
                    for c in o.checks
                ],
                recipients=len(o.recipients),
                first_recipients=[r.address for r in o.recipients[:SHOWN_RECIPIENTS]],
                subject=o.subject,
                body=o.body,
                error=o.error,
            )
            for o in plan.outcomes
        ],
    )
