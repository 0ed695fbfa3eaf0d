"""The state behind /event-sources: the sources listed and the one being edited."""

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from pydantic import ValidationError

from postboard.db import session_scope
from postboard.errors import NotFound
from postboard.events.schemas import SchemaProblem, check_schema, sample_payload
from postboard.events.service import SourceIn, delete_source, get_source, list_rules, list_sources, save_source
from postboard.web.components.form import input_errors, json_object, pretty
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.pages.platform_state import RecordEditorState
from postboard.web.state import AppState


@dataclass
class SourceRow:
    """One event source as the list shows it."""

    id: int
    name: str
    description: str
    rules: int
    has_schema: bool
    builtin: bool


class SourcesState(RecordEditorState, AppState):
    """The sources listed and the one being edited."""

    watch_kind: ClassVar[str] = "sources"

    rows: Field[list[SourceRow]] = field(default_factory=list)
    # Bumped on every open, so the form's inputs remount with the new defaults.
    form_key: Field[int] = field(0)
    name: Field[str] = field("")
    description: Field[str] = field("")
    schema_text: Field[str] = field("")
    sample_text: Field[str] = field("")

    def _reload(self) -> None:
        with session_scope() as session:
            rules = Counter(rule.source_id for rule in list_rules(session))
            self.rows = [
                SourceRow(
                    id=s.id or 0,
                    name=s.name,
                    description=s.description,
                    rules=rules[s.id or 0],
                    has_schema=s.payload_schema is not None,
                    builtin=s.builtin,
                )
                for s in list_sources(session)
            ]

    def _open(self, *, source_id: int, name: str, description: str, schema: Any, sample: Any) -> None:
        self.editing, self.edit_id, self.form_key = True, source_id, self.form_key + 1
        self.name, self.description = name, description
        self.schema_text, self.sample_text = pretty(schema), pretty(sample)
        self.errors = {}

    @event
    def new(self) -> None:
        """Open an empty form."""
        self._open(source_id=0, name="", description="", schema=None, sample=None)

    @event
    def edit(self, source_id: int) -> Any:
        """Open the form on one source."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                s = get_source(session, source_id=source_id)
        except NotFound as exc:
            self._reload()
            return rx.toast.error(str(exc))
        self._open(
            source_id=source_id,
            name=s.name,
            description=s.description,
            schema=s.payload_schema,
            sample=s.sample_payload,
        )
        return None

    @event
    def set_schema_text(self, text: str) -> None:
        """Keep the schema as typed."""
        self.schema_text = text
        self.errors.pop("payload_schema", None)

    @event
    def set_sample_text(self, text: str) -> None:
        """Keep the sample as typed."""
        self.sample_text = text
        self.errors.pop("sample_payload", None)

    @event
    def sample_from_schema(self) -> None:
        """Fill the sample payload with an example built from the schema typed so far."""
        try:
            schema = json_object(self.schema_text)
            if schema is None:
                raise ValueError("write a schema first")
            check_schema(schema)
        except (ValueError, SchemaProblem) as exc:
            self.errors = {"payload_schema": str(exc)}
            return
        self.errors = {}
        self.sample_text = pretty(sample_payload(schema))

    @event
    def save(self, form: dict[str, Any]) -> Any:
        """Create or update the source from the form; every problem shows under its field."""
        if not self.is_admin:
            return None
        errors: dict[str, str] = {}
        parsed: dict[str, dict[str, Any] | None] = {}
        for key, text in (("payload_schema", self.schema_text), ("sample_payload", self.sample_text)):
            try:
                parsed[key] = json_object(text)
            except ValueError as exc:
                errors[key] = str(exc)
        try:
            data = SourceIn(name=str(form.get("name", "")), description=str(form.get("description", "")), **parsed)
        except ValidationError as exc:
            errors = input_errors(exc) | errors
        if errors:
            self.errors = errors
            return None
        return self._save(
            lambda session: save_source(session, data, source_id=self.edit_id or None), what="event source"
        )

    @event
    def delete(self, source_id: int) -> Any:
        """Delete a source with its rules."""
        if not self.is_admin:
            return None
        return self._delete(
            lambda session: delete_source(session, source_id=source_id),
            done="Event source deleted.",
            closes=source_id,
        )
