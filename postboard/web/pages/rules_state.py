"""The state behind /rules: the rules listed and the form, checked by the events service on save."""

from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from pydantic import ValidationError

from postboard import names
from postboard.db import session_scope
from postboard.deliveries.models import Channel
from postboard.errors import NotFound
from postboard.events.conditions import Conditions, Operator
from postboard.events.models import RecipientKind, Rule
from postboard.events.service import (
    RECIPIENTS,
    RuleIn,
    delete_rule,
    get_rule,
    list_rules,
    list_sources,
    list_templates,
    save_rule,
    set_rule_active,
)
from postboard.users.models import Role
from postboard.web.components.condition_builder import ConditionRow, read_rows, summary, to_rows
from postboard.web.components.form import input_errors
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.pages.platform_state import RecordEditorState
from postboard.web.state import AppState

KIND_LABELS = {
    RecipientKind.FIELD: "Payload field",
    RecipientKind.ALL_USERS: "All users",
    RecipientKind.ROLE: "Users with a role",
    RecipientKind.USER: "One user",
    RecipientKind.URL: "URL",
}
KIND_HINTS = {
    RecipientKind.FIELD: "The payload field holding the address: customer_email, or phone for SMS. A list works too.",
    RecipientKind.ALL_USERS: "Every Postboard account.",
    RecipientKind.ROLE: "Everyone with this role.",
    RecipientKind.USER: "The user's id number.",
    RecipientKind.URL: "Where to POST the message.",
}
ROLES = [r.value for r in Role]


@dataclass
class RuleRow:
    """One rule as the list shows it."""

    id: int
    name: str
    source: str
    template: str
    channel: str
    channel_label: str
    recipients: str
    conditions: str
    active: bool
    builtin: bool


@dataclass
class Choice:
    """An option of a select; `channel` only for templates."""

    value: str
    label: str
    channel: str = ""


def _recipients_text(rule: Rule) -> str:
    kind, value = RecipientKind(rule.recipient_kind), rule.recipient_value
    return {
        RecipientKind.FIELD: f"payload field {value}",
        RecipientKind.ALL_USERS: "all users",
        RecipientKind.ROLE: f"users with role {value}",
        RecipientKind.USER: f"user #{value}",
        RecipientKind.URL: value or "the default Slack webhook",
    }[kind]


def _conditions_text(rule: Rule) -> str:
    try:
        return summary(Conditions.model_validate(rule.conditions or {}))
    except ValidationError:
        return "unreadable: edit the rule"


class RulesState(RecordEditorState, AppState):
    """The rules listed and the one being edited."""

    watch_kind: ClassVar[str] = "rules"

    rows: Field[list[RuleRow]] = field(default_factory=list)
    sources: Field[list[Choice]] = field(default_factory=list)
    templates: Field[list[Choice]] = field(default_factory=list)
    edit_builtin: Field[bool] = field(False)
    name: Field[str] = field("")
    source_id: Field[str] = field("")
    template_id: Field[str] = field("")
    recipient_kind: Field[str] = field(RecipientKind.ALL_USERS.value)
    recipient_value: Field[str] = field("")
    secret: Field[str] = field("")
    active: Field[bool] = field(True)
    mode: Field[str] = field("all")
    conditions: Field[list[ConditionRow]] = field(default_factory=list)
    condition_errors: Field[list[str]] = field(default_factory=list)

    @rx.var
    def channel(self) -> str:
        """The chosen template's channel."""
        return next((t.channel for t in self.templates if t.value == self.template_id), "")

    @rx.var
    def kinds(self) -> list[Choice]:
        """The recipient kinds the template's channel allows."""
        allowed = RECIPIENTS[Channel(self.channel)] if self.channel else tuple(RecipientKind)
        return [Choice(value=k.value, label=KIND_LABELS[k]) for k in allowed]

    @rx.var
    def recipient_hint(self) -> str:
        """What to type as the recipient, for the chosen kind and channel."""
        if self.recipient_kind == RecipientKind.URL and self.channel == Channel.SLACK:
            return "A Slack incoming-webhook URL; leave empty for SLACK_WEBHOOK_URL."
        return KIND_HINTS.get(RecipientKind(self.recipient_kind), "") if self.recipient_kind else ""

    def _reload(self) -> None:
        with session_scope() as session:
            sources = {s.id: s.name for s in list_sources(session)}
            templates = {t.id: t for t in list_templates(session)}
            self.sources = [Choice(value=str(i), label=n) for i, n in sources.items()]
            self.templates = [
                Choice(value=str(i), label=f"{t.name} · {Channel(t.channel).label}", channel=str(t.channel))
                for i, t in templates.items()
            ]
            self.rows = [
                RuleRow(
                    id=r.id or 0,
                    name=r.name,
                    source=sources.get(r.source_id, "?"),
                    template=templates[r.template_id].name,
                    channel=str(templates[r.template_id].channel),
                    channel_label=Channel(templates[r.template_id].channel).label,
                    recipients=_recipients_text(r),
                    conditions=_conditions_text(r),
                    active=r.active,
                    builtin=r.builtin,
                )
                for r in list_rules(session)
            ]

    def _fit_kind(self) -> None:
        allowed = [k.value for k in self.kinds]
        if self.recipient_kind not in allowed:
            self.recipient_kind, self.recipient_value = allowed[0], ""

    @event
    def new(self) -> None:
        """Open an empty form."""
        self.editing, self.edit_id, self.edit_builtin, self.errors = True, 0, False, {}
        self.name, self.recipient_value, self.secret, self.active = "", "", "", True
        self.source_id = next((s.value for s in self.sources if s.label != names.POST_CREATED), "")
        self.template_id = self.templates[0].value if self.templates else ""
        self.recipient_kind, self.mode = RecipientKind.ALL_USERS.value, "all"
        self.conditions, self.condition_errors = [], []
        self._fit_kind()

    @event
    def edit(self, rule_id: int) -> Any:
        """Open the form on one rule."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                rule = get_rule(session, rule_id=rule_id)
        except NotFound as exc:
            return rx.toast.error(str(exc))
        try:
            conditions = Conditions.model_validate(rule.conditions or {})
        except ValidationError:
            conditions = Conditions()
        self.editing, self.edit_id, self.edit_builtin, self.errors = True, rule_id, rule.builtin, {}
        self.name, self.source_id, self.template_id = rule.name, str(rule.source_id), str(rule.template_id)
        self.recipient_kind, self.recipient_value = str(rule.recipient_kind), rule.recipient_value
        self.secret, self.active, self.mode = rule.secret, rule.active, conditions.mode
        self.conditions, self.condition_errors = to_rows(conditions), []
        return None

    @event
    def set_field(self, field: str, value: str) -> None:
        """Keep a typed or chosen value of the form."""
        if field in ("name", "recipient_value", "secret"):
            setattr(self, field, value)
        elif field == "source_id" and value.isdigit():
            self.source_id = value
        elif field == "template_id" and value.isdigit():
            self.template_id = value
            self._fit_kind()
        elif field == "recipient_kind" and value in {k.value for k in RecipientKind}:
            self.recipient_kind, self.recipient_value = value, ROLES[-1] if value == RecipientKind.ROLE else ""

    @event
    def set_form_active(self, active: bool) -> None:
        """Whether the rule being edited is on."""
        self.active = active

    @event
    def set_mode(self, mode: str | list[str]) -> None:
        """All of the conditions, or any."""
        self.mode = "any" if mode == "any" else "all"

    @event
    def add_condition(self) -> None:
        """Add an empty condition row."""
        self.conditions.append({"field": "", "op": Operator.EQUALS.value, "value": ""})

    @event
    def change_condition(self, index: int, key: str, value: str) -> None:
        """Change a condition row's field, operator or value."""
        if 0 <= index < len(self.conditions) and key in ("field", "op", "value"):
            self.conditions[index][key] = value
            if index < len(self.condition_errors):
                self.condition_errors[index] = ""

    @event
    def remove_condition(self, index: int) -> None:
        """Drop a condition row."""
        if 0 <= index < len(self.conditions):
            self.conditions.pop(index)
            self.condition_errors = []

    @event
    def save(self) -> Any:
        """Create or update the rule; problems show under their fields and condition rows."""
        if not self.is_admin:
            return None
        conditions, self.condition_errors = read_rows(self.mode, self.conditions)
        errors: dict[str, str] = {}
        if not self.source_id:
            errors["source_id"] = "choose an event source"
        if not self.template_id:
            errors["template_id"] = "choose a template"
        try:
            data = RuleIn(
                name=self.name.strip(),
                source_id=int(self.source_id or 0),
                template_id=int(self.template_id or 0),
                recipient_kind=RecipientKind(self.recipient_kind),
                recipient_value=self.recipient_value,
                secret=self.secret if self.channel == Channel.WEBHOOK else "",
                conditions=conditions or Conditions(),
                active=self.active,
            )
        except ValidationError as exc:
            errors = input_errors(exc) | errors
        if errors or conditions is None:
            self.errors = errors
            return None
        return self._save(lambda session: save_rule(session, data, rule_id=self.edit_id or None), what="rule")

    @event
    def set_active(self, rule_id: int, active: bool) -> Any:
        """Switch a rule on or off."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                rule = set_rule_active(session, rule_id=rule_id, active=active)
        except NotFound as exc:
            return rx.toast.error(str(exc))
        self._reload()
        return rx.toast.info(f"{rule.name} is {'on' if active else 'off'}.")

    @event
    def delete(self, rule_id: int) -> Any:
        """Delete a rule; its deliveries stay in the log."""
        if not self.is_admin:
            return None
        return self._delete(lambda session: delete_rule(session, rule_id=rule_id), done="Rule deleted.")
