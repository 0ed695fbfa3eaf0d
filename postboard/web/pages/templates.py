"""Templates at /templates (admins): a message per channel, previewed live against a sample payload."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.deliveries.models import Channel
from postboard.web import routes
from postboard.web.components.form import code_area, field_label, form_buttons, labelled, labelled_input
from postboard.web.components.layout import field_error
from postboard.web.components.platform import channel_badge, edit_and_delete, list_table, select_content
from postboard.web.components.record_page import record_page
from postboard.web.pages.templates_state import TemplateRow, TemplatesState


def _error(field: str) -> rx.Var[str]:
    return TemplatesState.errors.get(field, "").to(str)


def _channel_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id="channel", width="100%"),
        select_content(*(rx.select.item(c.label, value=c.value) for c in Channel)),
        value=TemplatesState.channel,
        on_change=TemplatesState.set_channel,
    )


def _variables() -> rx.Component:
    return rx.hstack(
        rx.text("Variables used:", size="1", color_scheme="gray"),
        rx.cond(
            TemplatesState.used.length() > 0,
            rx.foreach(
                TemplatesState.used,
                lambda v: rx.badge(
                    rx.code(v, variant="ghost", size="1"),
                    color_scheme=rx.cond(TemplatesState.missing.contains(v), "red", "gray"),
                    title=rx.cond(TemplatesState.missing.contains(v), "not in the sample payload", ""),
                ),
            ),
            rx.text("none yet: write {{ order_id }} to use a payload field", size="1", color_scheme="gray"),
        ),
        wrap="wrap",
        spacing="1",
        align="center",
        data_testid="template-variables",
    )


def _editor_fields() -> rx.Component:
    return rx.vstack(
        labelled_input(
            "Name",
            id="template-name",
            value=TemplatesState.name,
            on_change=TemplatesState.set_name,
            error=_error("name"),
        ),
        labelled("Channel", _channel_select(), html_for="channel", error=_error("channel")),
        labelled_input(
            "Subject",
            id="subject",
            value=TemplatesState.subject,
            on_change=TemplatesState.set_subject,
            disabled=~TemplatesState.subject_allowed,
            placeholder=rx.cond(TemplatesState.subject_allowed, "Order {{ order_id }} confirmed", "—"),
            hint=TemplatesState.subject_hint,
            error=_error("subject"),
        ),
        labelled(
            "Body",
            code_area(
                id="body",
                value=TemplatesState.body,
                on_change=TemplatesState.set_body,
                rows="10",
                placeholder="Hello {{ customer_name }}, your order of {{ total }} is confirmed.",
            ),
            html_for="body",
            error=_error("body"),
        ),
        _variables(),
        spacing="3",
        width="100%",
    )


def _preview_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            field_label("Sample payload", html_for="sample"),
            # Built from parts so the label lands on the trigger, the element a screen reader focuses.
            rx.select.root(
                rx.select.trigger(placeholder="from event source…", aria_label="Sample from event source"),
                rx.select.content(
                    rx.foreach(TemplatesState.source_names, lambda name: rx.select.item(name, value=name)),
                    position="popper",
                ),
                value=TemplatesState.sample_source,
                on_change=TemplatesState.choose_sample,
                size="1",
            ),
            justify="between",
            align="center",
            width="100%",
        ),
        code_area(
            id="sample",
            value=TemplatesState.sample_text,
            on_change=TemplatesState.set_sample_text,
            rows="9",
            width="100%",
        ),
        field_error(TemplatesState.sample_error),
        rx.text("Preview", weight="medium", size="2", margin_top="0.5em"),
        rx.cond(
            TemplatesState.problem != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert", size=16)),
                rx.callout.text(TemplatesState.problem),
                rx.cond(
                    TemplatesState.problem_quote != "",
                    rx.code(TemplatesState.problem_quote, size="1", color_scheme="red", style={"whiteSpace": "pre"}),
                ),
                color_scheme="red",
                size="1",
                role="alert",
                width="100%",
                data_testid="template-problem",
            ),
            rx.box(
                rx.cond(
                    TemplatesState.preview_subject != "",
                    rx.text(TemplatesState.preview_subject, weight="bold", size="3", margin_bottom="0.5em"),
                ),
                rx.cond(
                    TemplatesState.preview_body != "",
                    rx.text(TemplatesState.preview_body, size="2", white_space="pre-wrap"),
                    rx.text("The rendered message shows here as you type.", size="2", color_scheme="gray"),
                ),
                padding="1em",
                border=f"1px solid {rx.color('gray', 5)}",
                border_radius="8px",
                background=rx.color("gray", 1),
                width="100%",
                min_height="6em",
                data_testid="template-preview",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _editor() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(TemplatesState.edit_id > 0, "Edit template", "New template"), size="4"),
            rx.grid(
                _editor_fields(),
                _preview_panel(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="5",
                width="100%",
            ),
            field_error(_error("form")),
            form_buttons(rx.button("Save template", on_click=TemplatesState.save), on_cancel=TemplatesState.cancel),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def _row(t: ObjectVar[TemplateRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(t.name, weight="medium")),
        rx.table.cell(channel_badge(t.channel, t.channel_label)),
        rx.table.cell(rx.text(t.subject, size="2", color_scheme="gray", truncate=True, max_width="24rem")),
        rx.table.cell(rx.moment(t.updated_at, from_now=True, style={"fontSize": "13px"})),
        rx.table.cell(
            edit_and_delete(
                on_edit=TemplatesState.edit(t.id),
                on_delete=TemplatesState.delete(t.id),
                title="Delete template " + t.name.to(str) + "?",
                description="Rules that use it must be changed first.",
            )
        ),
        data_testid="template-row",
        align="center",
    )


def templates_page() -> rx.Component:
    """The templates route (admins)."""
    return record_page(
        title="Templates",
        route=routes.TEMPLATES,
        intro="Messages per channel, filled in from the event payload with {{ field }}.",
        new_label="New template",
        on_new=TemplatesState.new,
        editing=TemplatesState.editing,
        form=_editor(),
        table=list_table(
            TemplatesState.rows,
            _row,
            heads=("Name", "Channel", "Subject", "Updated", ""),
            empty="No templates yet.",
        ),
    )
