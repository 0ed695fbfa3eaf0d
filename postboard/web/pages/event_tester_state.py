"""The state behind /test-event: a payload for a source, simulated (every rule and why) or really sent."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from postboard import names
from postboard.db import session_scope
from postboard.deliveries.models import Channel
from postboard.errors import NotFound
from postboard.events.conditions import Conditions
from postboard.events.engine import EventRejected, RuleOutcome, shown, simulate
from postboard.events.intake import fire
from postboard.events.schemas import SchemaProblem, sample_payload
from postboard.events.service import get_source, list_sources
from postboard.settings import get_settings
from postboard.web import deps
from postboard.web.components.condition_builder import summary
from postboard.web.components.form import json_object, pretty
from postboard.web.event import event
from postboard.web.field import Field

# As `state_field`: `field` here is the dataclasses one.
from postboard.web.field import field as state_field
from postboard.web.state import AppState

# Why an event is not taken: the payload breaks the schema, the source is gone, or its schema is unusable.
REFUSALS = (EventRejected, NotFound, SchemaProblem)


@dataclass
class CheckView:
    """One condition of a rule and how it fared."""

    condition: str
    reason: str
    matched: bool


@dataclass
class OutcomeView:
    """What one rule would do with the payload, and why."""

    rule: str
    template: str
    channel: str
    channel_label: str
    # sends | empty | no_match | off | error
    verdict: str
    headline: str
    rule_logic: str
    checks: list[CheckView] = field(default_factory=list)
    recipients: int = 0
    first_recipients: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    error: str = ""


def _conditions(outcome: RuleOutcome) -> Conditions | None:
    try:
        return Conditions.model_validate(outcome.rule.conditions or {})
    except ValidationError:
        return None


def _logic(conditions: Conditions | None) -> str:
    if conditions is None:
        return "Its stored conditions cannot be read: edit the rule."
    n = len(conditions.items)
    if n == 0:
        return "No conditions: every event of this source sends."
    if n == 1:
        return "Its condition must hold:"
    return f"{'All' if conditions.mode == 'all' else 'Any'} of its {n} conditions must hold:"


def _why_not(outcome: RuleOutcome, conditions: Conditions | None) -> str:
    failing = [check.reason for check in outcome.checks if not check.matched]
    if conditions is None or not failing:
        return outcome.reason
    if conditions.mode == "any" and len(outcome.checks) > 1:
        return f"none of its {len(outcome.checks)} conditions hold"
    return failing[0] + (f" (and {len(failing) - 1} more)" if len(failing) > 1 else "")


def _verdict(outcome: RuleOutcome, conditions: Conditions | None) -> tuple[str, str]:
    kind = outcome.channel.label if outcome.channel is Channel.SMS else outcome.channel.label.lower()
    if not outcome.rule.active:
        holds = all(check.matched for check in outcome.checks)
        return "off", "Switched off: " + ("it would send otherwise" if holds else "sends nothing")
    if not outcome.matched:
        return "no_match", f"No match: {_why_not(outcome, conditions)}"
    if outcome.error:
        return "error", "Matches, but cannot send"
    if not outcome.recipients:
        return "empty", "Matches, but there is no one to send to"
    n = len(outcome.recipients)
    return "sends", f"Matches: would send {n} {kind} message{'s' if n != 1 else ''}"


def to_view(outcome: RuleOutcome) -> OutcomeView:
    """A rule's outcome as the panel shows it."""
    conditions = _conditions(outcome)
    verdict, headline = _verdict(outcome, conditions)
    return OutcomeView(
        rule=outcome.rule.name,
        template=outcome.template.name,
        channel=outcome.channel.value,
        channel_label=outcome.channel.label,
        verdict=verdict,
        headline=headline,
        rule_logic=_logic(conditions),
        checks=[
            CheckView(condition=summary(Conditions(items=[c.condition])), reason=c.reason, matched=c.matched)
            for c in outcome.checks
        ],
        recipients=len(outcome.recipients),
        first_recipients=[f"user #{a}" if outcome.channel is Channel.IN_APP else a for a in shown(outcome.recipients)],
        subject=outcome.subject or "",
        body=outcome.body or "",
        error=outcome.error or "",
    )


class EventTesterState(AppState):
    """The chosen source, the payload, and the last simulation or send."""

    sources: Field[list[str]] = state_field(default_factory=list)
    source: Field[str] = state_field("")
    description: Field[str] = state_field("")
    payload_text: Field[str] = state_field("{}")
    payload_error: Field[str] = state_field("")
    rejected: Field[list[str]] = state_field(default_factory=list)
    simulated: Field[bool] = state_field(False)
    outcomes: Field[list[OutcomeView]] = state_field(default_factory=list)
    summary: Field[str] = state_field("")
    sent_event_id: Field[str] = state_field("")
    sent_summary: Field[str] = state_field("")
    sent_queued: Field[bool] = state_field(True)

    def _clear_results(self) -> None:
        self.payload_error, self.rejected, self.simulated, self.outcomes, self.summary = "", [], False, [], ""
        self.sent_event_id, self.sent_summary, self.sent_queued = "", "", True

    def _prefill(self) -> None:
        self._clear_results()
        if not self.is_admin:
            return
        try:
            with session_scope() as session:
                source = get_source(session, name=self.source)
        except NotFound:
            self.description, self.payload_text = "", "{}"
            return
        self.description = source.description
        self.payload_text = pretty(source.sample_payload or sample_payload(source.payload_schema))

    @event
    def load(self) -> None:
        """List the sources; pick ?source=… or the first one admins made."""
        if not self.is_admin:
            return
        with session_scope() as session:
            self.sources = [s.name for s in list_sources(session)]
        wanted = self.router.url.query_parameters.get("source", "")
        custom = [name for name in self.sources if name != names.POST_CREATED]
        self.source = wanted if wanted in self.sources else (custom or self.sources or [""])[0]
        self._prefill()

    @event
    def choose_source(self, name: str) -> None:
        """Switch source; the payload becomes its sample."""
        self.source = name
        self._prefill()

    @event
    def reset_payload(self) -> None:
        """Put the source's sample payload back."""
        self._prefill()

    @event
    def set_payload_text(self, text: str) -> None:
        """Keep the payload as typed."""
        self.payload_text = text

    def _show_refusal(self, exc: EventRejected | NotFound | SchemaProblem) -> None:
        if isinstance(exc, EventRejected):
            self.rejected = exc.errors
        else:
            self.payload_error = str(exc)

    def _payload(self) -> dict[str, Any] | None:
        self._clear_results()
        try:
            return json_object(self.payload_text) or {}
        except ValueError as exc:
            self.payload_error = f"Payload: {exc}"
            return None

    @event
    def run_simulation(self) -> None:
        """Show what every rule of the source would do with the payload; nothing is sent."""
        payload = self._payload()
        if payload is None or not self.is_admin:
            return
        try:
            with session_scope() as session:
                plan = simulate(session, source_name=self.source, payload=payload, settings=get_settings())
                self.outcomes = [to_view(o) for o in plan.outcomes]
        except REFUSALS as exc:
            self._show_refusal(exc)
            return
        matched = sum(1 for o in plan.outcomes if o.matched)
        n = plan.deliveries
        self.simulated = True
        self.summary = (
            f"{matched} of {len(plan.outcomes)} rule(s) match: {n} message{'s' if n != 1 else ''} would be sent."
        )

    @event
    async def send(self) -> None:
        """Really receive the event: record it, plan its deliveries and queue them."""
        payload = self._payload()
        if payload is None or not self.is_admin:
            return
        try:
            with session_scope() as session:
                receipt, queued = await fire(
                    session,
                    source_name=self.source,
                    payload=payload,
                    settings=get_settings(),
                    dispatcher=deps.dispatcher(),
                )
        except REFUSALS as exc:
            self._show_refusal(exc)
            return
        channels = ", ".join(c.label for c in receipt.channels)
        n = receipt.planned
        planned = f"{n} deliver{'ies' if n != 1 else 'y'} planned" + (f" ({channels})" if channels else "")
        self.sent_event_id, self.sent_queued = receipt.event_id, queued
        self.sent_summary = f"{planned}." if n else "No rule matched: nothing will be sent. Simulate to see why."
