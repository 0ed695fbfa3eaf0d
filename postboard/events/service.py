"""Configuration verbs: event sources, templates and rules, each checked before it is saved."""

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from postboard.clock import utcnow
from postboard.db import MAX_ROW_ID, session_scope
from postboard.deliveries.models import Channel
from postboard.errors import NotFound, ValidationFailed
from postboard.events.conditions import Conditions
from postboard.events.models import EventSource, RecipientKind, Rule, Template
from postboard.events.schemas import SchemaProblem, check_schema, payload_errors
from postboard.events.templating import TemplateProblem, check_template
from postboard.users.models import Role, User

NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
# Channels whose messages carry a subject (email) or a title (in-app); Slack may add a heading.
SUBJECT_REQUIRED = {Channel.EMAIL, Channel.IN_APP}
SUBJECT_ALLOWED = SUBJECT_REQUIRED | {Channel.SLACK}
RECIPIENTS: dict[Channel, tuple[RecipientKind, ...]] = {
    Channel.EMAIL: (RecipientKind.FIELD, RecipientKind.ALL_USERS, RecipientKind.ROLE, RecipientKind.USER),
    Channel.IN_APP: (RecipientKind.ALL_USERS, RecipientKind.ROLE, RecipientKind.USER),
    Channel.SMS: (RecipientKind.FIELD,),
    Channel.SLACK: (RecipientKind.URL,),
    Channel.WEBHOOK: (RecipientKind.URL,),
}


class SourceIn(BaseModel):
    """What a person submits for an event source."""

    name: str
    description: str = Field(default="", max_length=500)
    payload_schema: dict[str, Any] | None = None
    sample_payload: dict[str, Any] | None = None


class TemplateIn(BaseModel):
    """What a person submits for a template."""

    name: str = Field(min_length=1, max_length=100)
    channel: Channel
    subject: str | None = Field(default=None, max_length=500)
    body: str = Field(min_length=1, max_length=50_000)


class RuleIn(BaseModel):
    """What a person submits for a rule."""

    name: str = Field(min_length=1, max_length=100)
    source_id: int = Field(ge=1, le=MAX_ROW_ID)
    template_id: int = Field(ge=1, le=MAX_ROW_ID)
    recipient_kind: RecipientKind
    recipient_value: str = Field(default="", max_length=500)
    secret: str = Field(default="", max_length=200)
    conditions: Conditions = Field(default_factory=Conditions)
    active: bool = True


def _commit(session: Session, field: str, what: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed({field: f"{what} already exists"}) from None


def list_sources(session: Session) -> Sequence[EventSource]:
    """Every event source, by name."""
    return session.exec(select(EventSource).order_by(col(EventSource.name))).all()


def get_source(session: Session, *, source_id: int | None = None, name: str | None = None) -> EventSource:
    """Return one source by id or name, or raise NotFound."""
    if source_id is not None:
        found = session.get(EventSource, source_id)
    else:
        found = session.exec(select(EventSource).where(EventSource.name == name)).first()
    if found is None:
        raise NotFound(f"no event source {name if name is not None else source_id!r}")
    return found


def save_source(session: Session, data: SourceIn, *, source_id: int | None = None) -> EventSource:
    """Create or update an event source after checking its name, schema and sample."""
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not NAME.match(name):
        errors["name"] = "use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter"
    if data.payload_schema is not None:
        try:
            check_schema(data.payload_schema)
        except SchemaProblem as exc:
            errors["payload_schema"] = str(exc)
        else:
            if data.sample_payload is not None and (
                problems := payload_errors(data.payload_schema, data.sample_payload)
            ):
                errors["sample_payload"] = f"the sample does not fit the schema: {problems[0]}"
    if errors:
        raise ValidationFailed(errors)
    source = get_source(session, source_id=source_id) if source_id is not None else EventSource(name=name)
    if source.builtin and source.name != name:
        raise ValidationFailed({"name": "a built-in event source keeps its name"})
    source.name, source.description = name, data.description.strip()
    source.payload_schema, source.sample_payload = data.payload_schema, data.sample_payload
    session.add(source)
    _commit(session, "name", f"an event source named {name!r}")
    session.refresh(source)
    return source


def delete_source(session: Session, *, source_id: int) -> None:
    """Delete a source with its rules and received events (built-in ones stay)."""
    source = get_source(session, source_id=source_id)
    if source.builtin:
        raise ValidationFailed({"name": "built-in event sources cannot be deleted; switch their rules off"})
    # Core statements: ORM deletes of rows the database cascade already removed warn and fail.
    session.execute(delete(Rule).where(col(Rule.source_id) == source_id))
    session.execute(delete(EventSource).where(col(EventSource.id) == source_id))
    session.commit()


def list_templates(session: Session) -> Sequence[Template]:
    """Every template, by name."""
    return session.exec(select(Template).order_by(col(Template.name))).all()


def get_template(session: Session, *, template_id: int) -> Template:
    """Return one template or raise NotFound."""
    found = session.get(Template, template_id)
    if found is None:
        raise NotFound(f"no template {template_id}")
    return found


def template_errors(channel: Channel, subject: str | None, body: str) -> dict[str, str]:
    """Check a template's parts for its channel; return field → message (empty when fine)."""
    errors: dict[str, str] = {}
    subject = (subject or "").strip() or None
    if subject is None and channel in SUBJECT_REQUIRED:
        errors["subject"] = f"{channel.label} messages need a {'title' if channel is Channel.IN_APP else 'subject'}"
    if subject is not None and channel not in SUBJECT_ALLOWED:
        errors["subject"] = f"{channel.label} messages have no subject"
    for field, text in (("subject", subject), ("body", body)):
        if text is not None and field not in errors:
            try:
                check_template(text, field=field)
            except TemplateProblem as exc:
                errors[field] = str(exc)
    return errors


def save_template(session: Session, data: TemplateIn, *, template_id: int | None = None) -> Template:
    """Create or update a template; syntax errors are reported now, with their line."""
    if errors := template_errors(data.channel, data.subject, data.body):
        raise ValidationFailed(errors)
    template = get_template(session, template_id=template_id) if template_id is not None else None
    if template is not None and template.channel != data.channel and _rules_using(session, template_id):
        raise ValidationFailed({"channel": "rules use this template: change their template first"})
    template = template or Template(name=data.name, channel=data.channel, body=data.body)
    template.name, template.channel = data.name.strip(), data.channel
    template.subject, template.body, template.updated_at = (data.subject or "").strip() or None, data.body, utcnow()
    session.add(template)
    _commit(session, "name", f"a template named {data.name!r}")
    session.refresh(template)
    return template


def _rules_using(session: Session, template_id: int | None) -> int:
    return session.exec(select(func.count()).select_from(Rule).where(Rule.template_id == template_id)).one()


def delete_template(session: Session, *, template_id: int) -> None:
    """Delete a template no rule uses."""
    template = get_template(session, template_id=template_id)
    if used := _rules_using(session, template_id):
        raise ValidationFailed({"name": f"{used} rule(s) use this template: delete or change them first"})
    session.delete(template)
    session.commit()


def list_rules(session: Session, *, source_id: int | None = None) -> Sequence[Rule]:
    """Every rule (of one source), by name."""
    query = select(Rule).order_by(col(Rule.name))
    if source_id is not None:
        query = query.where(Rule.source_id == source_id)
    return session.exec(query).all()


def get_rule(session: Session, *, rule_id: int) -> Rule:
    """Return one rule or raise NotFound."""
    found = session.get(Rule, rule_id)
    if found is None:
        raise NotFound(f"no rule {rule_id}")
    return found


def _is_user(session: Session, value: str) -> bool:
    return value.isdigit() and int(value) <= MAX_ROW_ID and session.get(User, int(value)) is not None


def _recipient_error(session: Session, channel: Channel, kind: RecipientKind, value: str) -> str | None:
    allowed = RECIPIENTS[channel]
    if kind not in allowed:
        return f"{channel.label} rules send to: {', '.join(k.value.replace('_', ' ') for k in allowed)}"
    if kind is RecipientKind.FIELD and not value:
        return "name the payload field that holds the address, e.g. customer_email"
    if kind is RecipientKind.ROLE and value not in {r.value for r in Role}:
        return f"role must be one of {', '.join(r.value for r in Role)}"
    if kind is RecipientKind.USER and (
        not value.isdigit() or int(value) > MAX_ROW_ID or session.get(User, int(value)) is None
    ):
        return f"no user with id {value!r}"
    if kind is RecipientKind.URL and channel is Channel.WEBHOOK and not value.startswith(("http://", "https://")):
        return "a webhook needs an http(s) URL"
    if kind is RecipientKind.URL and value and not value.startswith(("http://", "https://")):
        return "a Slack incoming-webhook URL starts with https://"
    return None


def save_rule(session: Session, data: RuleIn, *, rule_id: int | None = None) -> Rule:
    """Create or update a rule after checking its source, template, recipients and conditions."""
    errors: dict[str, str] = {}
    if session.get(EventSource, data.source_id) is None:
        errors["source_id"] = f"no event source {data.source_id}"
    template = session.get(Template, data.template_id)
    if template is None:
        errors["template_id"] = f"no template {data.template_id}"
    elif problem := _recipient_error(
        session, Channel(template.channel), data.recipient_kind, data.recipient_value.strip()
    ):
        errors["recipient"] = problem
    if errors:
        raise ValidationFailed(errors)
    rule = (
        get_rule(session, rule_id=rule_id)
        if rule_id is not None
        else Rule(name=data.name, source_id=0, template_id=0, recipient_kind=data.recipient_kind)
    )
    if rule.builtin and (rule.source_id, rule.template_id) != (data.source_id, data.template_id):
        raise ValidationFailed({"name": "a built-in rule keeps its event and template; switch it off instead"})
    rule.name, rule.source_id, rule.template_id = data.name.strip(), data.source_id, data.template_id
    rule.recipient_kind, rule.recipient_value = data.recipient_kind, data.recipient_value.strip()
    rule.secret, rule.conditions, rule.active = data.secret, data.conditions.model_dump(mode="json"), data.active
    session.add(rule)
    session.commit()
    session.refresh(rule)
    return rule


def set_rule_active(session: Session, *, rule_id: int, active: bool) -> Rule:
    """Switch a rule on or off (built-in ones too)."""
    rule = get_rule(session, rule_id=rule_id)
    rule.active = active
    session.add(rule)
    session.commit()
    return rule


def delete_rule(session: Session, *, rule_id: int) -> None:
    """Delete a rule; its past deliveries stay in the log."""
    rule = get_rule(session, rule_id=rule_id)
    if rule.builtin:
        raise ValidationFailed({"name": "built-in rules cannot be deleted; switch them off"})
    session.delete(rule)
    session.commit()


def webhook_secret_for(url: str) -> str | None:
    """The signing secret of the active webhook rule that posts to `url`, if it has one."""
    with session_scope() as session:
        return session.exec(
            select(Rule.secret).where(Rule.recipient_value == url, Rule.secret != "", col(Rule.active).is_(True))
        ).first()
