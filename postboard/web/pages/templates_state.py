"""The state behind /templates: the templates listed, the one being edited, its live preview."""

from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from pydantic import ValidationError

from postboard import names
from postboard.db import session_scope
from postboard.deliveries.models import Channel
from postboard.errors import NotFound
from postboard.events.schemas import sample_payload
from postboard.events.service import (
    SUBJECT_ALLOWED,
    SUBJECT_REQUIRED,
    TemplateIn,
    delete_template,
    get_source,
    get_template,
    list_sources,
    list_templates,
    save_template,
)
from postboard.events.templating import TemplateProblem, render, variables
from postboard.web.components.form import input_errors, json_object, pretty
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.pages.platform_state import RecordEditorState
from postboard.web.state import AppState


@dataclass
class TemplateRow:
    """One template as the list shows it."""

    id: int
    name: str
    channel: str
    channel_label: str
    subject: str
    updated_at: str


class TemplatesState(RecordEditorState, AppState):
    """The templates listed, the one being edited and its live preview."""

    watch_kind: ClassVar[str] = "templates"

    rows: Field[list[TemplateRow]] = field(default_factory=list)
    source_names: Field[list[str]] = field(default_factory=list)
    name: Field[str] = field("")
    channel: Field[str] = field(Channel.EMAIL.value)
    subject: Field[str] = field("")
    body: Field[str] = field("")
    sample_source: Field[str] = field("")
    sample_text: Field[str] = field("{}")
    sample_error: Field[str] = field("")
    preview_subject: Field[str] = field("")
    preview_body: Field[str] = field("")
    problem: Field[str] = field("")
    problem_quote: Field[str] = field("")
    used: Field[list[str]] = field(default_factory=list)
    missing: Field[list[str]] = field(default_factory=list)

    @rx.var
    def subject_allowed(self) -> bool:
        """Whether the chosen channel's messages carry a subject."""
        return self.channel in SUBJECT_ALLOWED

    @rx.var
    def subject_hint(self) -> str:
        """What the subject field is for on the chosen channel."""
        if self.channel == Channel.IN_APP:
            return "The notification's title."
        if self.channel in SUBJECT_REQUIRED:
            return "Required."
        if self.channel in SUBJECT_ALLOWED:
            return "Optional: a bold heading above the message."
        return f"{Channel(self.channel).label} messages have no subject."

    def _reload(self) -> None:
        with session_scope() as session:
            self.rows = [
                TemplateRow(
                    id=t.id or 0,
                    name=t.name,
                    channel=str(t.channel),
                    channel_label=Channel(t.channel).label,
                    subject=t.subject or "",
                    updated_at=t.updated_at.isoformat(),
                )
                for t in list_templates(session)
            ]
            self.source_names = [s.name for s in list_sources(session)]

    def _preview(self) -> None:
        subject = self.subject if self.channel in SUBJECT_ALLOWED else ""
        self.used = sorted(variables(subject) | variables(self.body))
        self.preview_subject = self.preview_body = self.problem = self.problem_quote = self.sample_error = ""
        try:
            sample = json_object(self.sample_text) or {}
        except ValueError as exc:
            self.sample_error, self.missing = f"Sample payload: {exc}", []
            return
        self.missing = [name for name in self.used if name not in sample]
        try:
            self.preview_subject = render(subject, sample, field="subject") if subject.strip() else ""
            self.preview_body = render(self.body, sample, field="body")
        except TemplateProblem as problem:
            self.problem = str(problem)
            lines = (subject if problem.field == "subject" else self.body).splitlines()
            if problem.line and 0 < problem.line <= len(lines):
                self.problem_quote = f"{problem.line} │ {lines[problem.line - 1]}"

    def _sample_of(self, source_name: str) -> str:
        if not self.is_admin:
            return "{}"
        try:
            with session_scope() as session:
                source = get_source(session, name=source_name)
        except NotFound:
            return "{}"
        return pretty(source.sample_payload or sample_payload(source.payload_schema))

    def _open(self, *, template_id: int, name: str, channel: str, subject: str, body: str) -> None:
        self.editing, self.edit_id, self.errors = True, template_id, {}
        self.name, self.channel, self.subject, self.body = name, channel, subject, body
        if self.sample_source not in self.source_names:
            custom = [n for n in self.source_names if n != names.POST_CREATED]
            self.sample_source = (custom or self.source_names or [""])[0]
        self.sample_text = self._sample_of(self.sample_source) if self.sample_source else "{}"
        self._preview()

    @event
    def new(self) -> None:
        """Open an empty editor."""
        self._open(template_id=0, name="", channel=Channel.EMAIL.value, subject="", body="")

    @event
    def edit(self, template_id: int) -> Any:
        """Open the editor on one template."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                t = get_template(session, template_id=template_id)
        except NotFound as exc:
            return rx.toast.error(str(exc))
        self._open(template_id=template_id, name=t.name, channel=str(t.channel), subject=t.subject or "", body=t.body)
        return None

    @event
    def set_name(self, value: str) -> None:
        """Keep the name as typed."""
        self.name = value

    @event
    def set_channel(self, value: str) -> None:
        """Switch the channel; the subject field follows it."""
        self.channel = value if value in {c.value for c in Channel} else Channel.EMAIL.value
        self.errors.pop("subject", None)
        self._preview()

    @event
    def set_subject(self, value: str) -> None:
        """Keep the subject and preview it."""
        self.subject = value
        self._preview()

    @event
    def set_body(self, value: str) -> None:
        """Keep the body and preview it."""
        self.body = value
        self._preview()

    @event
    def set_sample_text(self, value: str) -> None:
        """Preview against another payload."""
        self.sample_text = value
        self._preview()

    @event
    def choose_sample(self, source_name: str) -> None:
        """Preview against an event source's sample payload."""
        self.sample_source = source_name
        self.sample_text = self._sample_of(source_name)
        self._preview()

    @event
    def save(self) -> Any:
        """Create or update the template; problems show under their fields."""
        if not self.is_admin:
            return None
        subject = self.subject if self.channel in SUBJECT_ALLOWED else None
        try:
            data = TemplateIn(name=self.name.strip(), channel=Channel(self.channel), subject=subject, body=self.body)
        except ValidationError as exc:
            self.errors = input_errors(exc)
            return None
        return self._save(
            lambda session: save_template(session, data, template_id=self.edit_id or None), what="template"
        )

    @event
    def delete(self, template_id: int) -> Any:
        """Delete a template no rule uses."""
        if not self.is_admin:
            return None
        return self._delete(lambda session: delete_template(session, template_id=template_id), done="Template deleted.")
