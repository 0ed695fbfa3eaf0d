"""Event sources at /event-sources (admins): the event types that may fire, their schema and sample."""

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from postboard.web import routes
from postboard.web.components.form import code_area, form_buttons, labelled, labelled_input
from postboard.web.components.layout import field_error
from postboard.web.components.platform import edit_and_delete, list_table
from postboard.web.components.record_page import record_page
from postboard.web.pages.event_sources_state import SourceRow, SourcesState

SCHEMA_PLACEHOLDER = (
    '{\n  "type": "object",\n  "properties": {"order_id": {"type": "integer"}},\n  "required": ["order_id"]\n}'
)


def _error(field: str) -> rx.Var[str]:
    return SourcesState.errors.get(field, "").to(str)


def _json_area(name: str, value: rx.Var[str], on_change: Any, placeholder: str) -> rx.Component:
    return code_area(
        id=name, name=name, value=value, on_change=on_change, placeholder=placeholder, rows="9", width="100%"
    )


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(rx.cond(SourcesState.edit_id > 0, "Edit event source", "New event source"), size="4"),
                rx.grid(
                    labelled_input(
                        "Name",
                        id="name",
                        name="name",
                        default_value=SourcesState.name,
                        placeholder="order_created",
                        error=_error("name"),
                        hint="Lowercase letters, digits, '.', '_' or '-'. Callers send it as \"event\".",
                    ),
                    labelled_input(
                        "Description",
                        id="description",
                        name="description",
                        default_value=SourcesState.description,
                        placeholder="A customer placed an order",
                        error=_error("description"),
                    ),
                    labelled(
                        "JSON Schema (optional)",
                        _json_area(
                            "payload_schema", SourcesState.schema_text, SourcesState.set_schema_text, SCHEMA_PLACEHOLDER
                        ),
                        html_for="payload_schema",
                        error=_error("payload_schema"),
                        hint="Events whose payload does not fit are rejected with the reason.",
                    ),
                    labelled(
                        "Sample payload",
                        _json_area(
                            "sample_payload",
                            SourcesState.sample_text,
                            SourcesState.set_sample_text,
                            '{"order_id": 42, "total": 150}',
                        ),
                        html_for="sample_payload",
                        error=_error("sample_payload"),
                        hint="Prefills template previews and the Test event panel.",
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4",
                    width="100%",
                ),
                field_error(_error("form")),
                form_buttons(
                    rx.button("Save event source", type="submit"),
                    rx.button(
                        rx.icon("wand-sparkles", size=14),
                        "Sample from schema",
                        type="button",
                        variant="soft",
                        on_click=SourcesState.sample_from_schema,
                    ),
                    on_cancel=SourcesState.cancel,
                ),
                spacing="4",
                width="100%",
            ),
            id="source-form",
            on_submit=SourcesState.save,
            reset_on_submit=False,
            key=SourcesState.form_key,
        ),
        width="100%",
    )


def _row(source: ObjectVar[SourceRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.code(source.name, variant="ghost", weight="bold"),
                rx.cond(source.builtin, rx.badge("built-in", variant="outline", color_scheme="gray")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(rx.text(source.description, size="2", color_scheme="gray")),
        rx.table.cell(rx.cond(source.has_schema, rx.badge("schema", color_scheme="grass"), rx.text("—"))),
        rx.table.cell(rx.link(source.rules.to(str), href=routes.RULES)),
        rx.table.cell(
            edit_and_delete(
                on_edit=SourcesState.edit(source.id),
                on_delete=SourcesState.delete(source.id),
                title="Delete " + source.name.to(str) + "?",
                description="Its rules and received events go with it. Past deliveries stay in the log.",
                builtin=source.builtin,
            )
        ),
        data_testid="source-row",
        align="center",
    )


def event_sources_page() -> rx.Component:
    """The event sources route (admins)."""
    return record_page(
        title="Event sources",
        route=routes.EVENT_SOURCES,
        intro="The event types your services may send to POST /api/events.",
        new_label="New event source",
        on_new=SourcesState.new,
        editing=SourcesState.editing,
        form=_form(),
        table=list_table(
            SourcesState.rows,
            _row,
            heads=("Name", "Description", "Schema", "Rules", ""),
            empty="No event sources yet.",
        ),
    )
