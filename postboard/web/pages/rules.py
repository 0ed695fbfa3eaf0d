"""Rules at /rules (admins): event → template → recipients, on or off, with conditions on the payload."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.events.models import RecipientKind
from postboard.web import routes
from postboard.web.components.condition_builder import condition_builder
from postboard.web.components.form import form_buttons, labelled, labelled_input
from postboard.web.components.layout import field_error
from postboard.web.components.platform import channel_badge, edit_and_delete, list_table, select_content
from postboard.web.components.record_page import record_page
from postboard.web.pages.rules_state import ROLES, Choice, RuleRow, RulesState


def _error(field: str) -> rx.Var[str]:
    return RulesState.errors.get(field, "").to(str)


def _select(
    choices: rx.Var[list[Choice]], *, id: str, value: rx.Var[str], field: str, disabled: rx.Var[bool] | bool = False
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=id, width="100%", placeholder="Choose…"),
        select_content(rx.foreach(choices, lambda c: rx.select.item(c.label, value=c.value))),
        value=value,
        on_change=lambda v: RulesState.set_field(field, v),
        disabled=disabled,
    )


def _recipient_value() -> rx.Component:
    kind = RulesState.recipient_kind
    return rx.match(  # type: ignore[no-any-return]  # rx.match is Any to mypy: pyproject.toml
        kind,
        (RecipientKind.ALL_USERS.value, rx.fragment()),
        (
            RecipientKind.ROLE.value,
            rx.select(
                ROLES,
                value=RulesState.recipient_value,
                on_change=lambda v: RulesState.set_field("recipient_value", v),
                aria_label="Role",
                position="popper",
            ),
        ),
        rx.input(
            value=RulesState.recipient_value,
            on_change=lambda v: RulesState.set_field("recipient_value", v),
            placeholder=rx.match(
                kind,
                (RecipientKind.FIELD.value, "customer_email"),
                (RecipientKind.USER.value, "user id, e.g. 1"),
                "https://…",
            ),
            aria_label="Recipient",
            flex="1",
        ),
    )


def _recipients() -> rx.Component:
    return labelled(
        "Recipients",
        rx.hstack(
            rx.box(
                _select(RulesState.kinds, id="recipient-kind", value=RulesState.recipient_kind, field="recipient_kind"),
                width="12rem",
                flex_shrink="0",
            ),
            _recipient_value(),
            spacing="2",
            width="100%",
        ),
        html_for="recipient-kind",
        hint=RulesState.recipient_hint,
        error=_error("recipient"),
    )


def _form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(rx.cond(RulesState.edit_id > 0, "Edit rule", "New rule"), size="4"),
                rx.cond(RulesState.edit_builtin, rx.badge("built-in: event and template stay", color_scheme="gray")),
                align="center",
                spacing="3",
            ),
            rx.grid(
                labelled_input(
                    "Name",
                    id="rule-name",
                    value=RulesState.name,
                    on_change=lambda v: RulesState.set_field("name", v),
                    placeholder="Order confirmation email",
                    error=_error("name"),
                ),
                labelled(
                    "Event source",
                    _select(
                        RulesState.sources,
                        id="rule-source",
                        value=RulesState.source_id,
                        field="source_id",
                        disabled=RulesState.edit_builtin,
                    ),
                    html_for="rule-source",
                    error=_error("source_id"),
                ),
                labelled(
                    "Template",
                    _select(
                        RulesState.templates,
                        id="rule-template",
                        value=RulesState.template_id,
                        field="template_id",
                        disabled=RulesState.edit_builtin,
                    ),
                    html_for="rule-template",
                    hint="The template's channel decides who the rule can send to.",
                    error=_error("template_id"),
                ),
                _recipients(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.cond(
                RulesState.channel == "webhook",
                labelled_input(
                    "Webhook secret",
                    id="rule-secret",
                    value=RulesState.secret,
                    on_change=lambda v: RulesState.set_field("secret", v),
                    placeholder="empty: WEBHOOK_SECRET",
                    type="password",
                    width="24rem",
                    hint="Signs each POST with an HMAC-SHA256 header the receiver can check.",
                ),
            ),
            rx.text("Conditions", weight="medium", size="2"),
            condition_builder(
                mode=RulesState.mode,
                rows=RulesState.conditions,
                errors=RulesState.condition_errors,
                on_mode=RulesState.set_mode,
                on_change=RulesState.change_condition,
                on_add=RulesState.add_condition,
                on_remove=RulesState.remove_condition,
            ),
            rx.el.label(
                rx.hstack(
                    rx.switch(checked=RulesState.active, on_change=RulesState.set_form_active),
                    rx.text("On: sends when its event fires", size="2"),
                    spacing="2",
                    align="center",
                ),
            ),
            field_error(_error("form")),
            form_buttons(rx.button("Save rule", on_click=RulesState.save), on_cancel=RulesState.cancel),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _row(rule: ObjectVar[RuleRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.switch(
                checked=rule.active,
                on_change=lambda on: RulesState.set_active(rule.id, on),
                aria_label="Rule " + rule.name.to(str) + " on",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.text(rule.name, weight="medium", color=rx.cond(rule.active, "inherit", rx.color("gray", 10))),
                    rx.cond(rule.builtin, rx.badge("built-in", variant="outline", color_scheme="gray")),
                    spacing="2",
                    align="center",
                ),
                rx.text("to ", rule.recipients, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.code(rule.source, variant="ghost")),
        rx.table.cell(
            rx.hstack(channel_badge(rule.channel, rule.channel_label), rx.text(rule.template, size="2"), spacing="2")
        ),
        rx.table.cell(rx.code(rule.conditions, variant="ghost", size="1")),
        rx.table.cell(
            edit_and_delete(
                on_edit=RulesState.edit(rule.id),
                on_delete=RulesState.delete(rule.id),
                title="Delete rule " + rule.name.to(str) + "?",
                description="Its past deliveries stay in the log.",
                builtin=rule.builtin,
            )
        ),
        data_testid="rule-row",
        align="center",
    )


def rules_page() -> rx.Component:
    """The rules route (admins)."""
    return record_page(
        title="Rules",
        route=routes.RULES,
        intro="When an event fires, every rule of its source that is on and matches sends.",
        new_label="New rule",
        on_new=RulesState.new,
        editing=RulesState.editing,
        form=_form(),
        table=list_table(
            RulesState.rows,
            _row,
            heads=("On", "Rule", "Event", "Template", "Conditions", ""),
            empty="No rules yet.",
        ),
    )
