"""The rule condition builder: all/any, then rows of field, operator and value; and reading them back."""

import json
from typing import Any

import reflex as rx
from pydantic import ValidationError
from reflex.vars import ArrayVar, NumberVar, ObjectVar

from postboard.events.conditions import Condition, Conditions, Operator
from postboard.web.components.platform import select_content

ConditionRow = dict[str, str]
VALUE_HINTS = {
    Operator.IN.value: "a, b, c",
    Operator.EXISTS.value: "no value",
    Operator.CONTAINS.value: "text or item",
}


def _scalar(text: str) -> Any:
    """What a person meant by a typed value: 100 is a number, true a boolean, anything else text."""
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def row_value(op: str, text: str) -> Any:
    """The value a condition row stands for, by its operator."""
    if op == Operator.EXISTS:
        return None
    if op == Operator.IN:
        return [_scalar(part) for part in text.split(",") if part.strip()]
    return _scalar(text)


def shown_value(value: Any) -> str:
    """A stored condition value as the row's text input shows it."""
    if isinstance(value, list):
        return ", ".join(shown_value(v) for v in value)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def to_rows(conditions: Conditions) -> list[ConditionRow]:
    """A rule's conditions as editable rows."""
    return [{"field": c.field, "op": c.op.value, "value": shown_value(c.value)} for c in conditions.items]


def read_rows(mode: str, rows: list[ConditionRow]) -> tuple[Conditions | None, list[str]]:
    """The rows as Conditions, or None and a message per row that is wrong ("" for the fine ones)."""
    items: list[Condition] = []
    problems: list[str] = []
    for row in rows:
        try:
            items.append(
                Condition(field=row["field"], op=Operator(row["op"]), value=row_value(row["op"], row["value"]))
            )
            problems.append("")
        except (ValidationError, ValueError) as exc:
            messages = [str(e["msg"]) for e in exc.errors()] if isinstance(exc, ValidationError) else [str(exc)]
            problems.append("; ".join(m.removeprefix("Value error, ") for m in messages))
    if any(problems):
        return None, problems
    return Conditions(mode="any" if mode == "any" else "all", items=items), problems


def summary(conditions: Conditions) -> str:
    """The conditions in one line, as the rules list shows them."""
    if not conditions.items:
        return "always"
    joiner = " and " if conditions.mode == "all" else " or "
    parts = []
    for c in conditions.items:
        value = "" if c.op is Operator.EXISTS else " " + json.dumps(c.value, ensure_ascii=False)
        parts.append(f"{c.field} {c.op.label}{value}")
    return joiner.join(parts)


def _row(
    row: ObjectVar[ConditionRow], index: NumberVar[int], errors: ArrayVar[list[str]], on_change: Any, on_remove: Any
) -> rx.Component:
    number = (index + 1).to_string()
    return rx.vstack(
        rx.hstack(
            rx.input(
                value=row["field"],
                on_change=lambda v: on_change(index, "field", v),
                placeholder="payload field, e.g. total",
                aria_label="Condition " + number + " field",
                width="14rem",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Condition " + number + " operator", width="8.5rem"),
                select_content(*(rx.select.item(op.label, value=op.value) for op in Operator)),
                value=row["op"],
                on_change=lambda v: on_change(index, "op", v),
            ),
            rx.input(
                value=row["value"],
                on_change=lambda v: on_change(index, "value", v),
                placeholder=rx.match(row["op"], *VALUE_HINTS.items(), "value, e.g. 100"),
                disabled=row["op"] == Operator.EXISTS.value,
                aria_label="Condition " + number + " value",
                flex="1",
            ),
            rx.icon_button(
                rx.icon("x", size=14),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=on_remove(index),
                aria_label="Remove condition " + number,
            ),
            spacing="2",
            align="center",
            width="100%",
        ),
        rx.cond(
            errors.length() > index,
            rx.cond(errors[index] != "", rx.text(errors[index], color_scheme="red", size="1", role="alert")),
        ),
        spacing="1",
        width="100%",
    )


def condition_builder(
    *,
    mode: rx.Var[str],
    rows: ArrayVar[list[ConditionRow]],
    errors: ArrayVar[list[str]],
    on_mode: Any,
    on_change: Any,
    on_add: Any,
    on_remove: Any,
) -> rx.Component:
    """Send when all/any of these hold: editable rows, add and remove."""
    return rx.vstack(
        rx.cond(
            rows.length() == 0,
            rx.text("No conditions: every event of the source sends.", size="2", color_scheme="gray"),
            rx.hstack(
                rx.text("Send when", size="2"),
                rx.segmented_control.root(
                    rx.segmented_control.item("all", value="all"),
                    rx.segmented_control.item("any", value="any"),
                    value=mode,
                    on_change=on_mode,
                    size="1",
                    aria_label="Match all or any",
                ),
                rx.text("of these conditions hold", size="2"),
                spacing="2",
                align="center",
            ),
        ),
        rx.foreach(rows, lambda row, index: _row(row, index, errors, on_change, on_remove)),
        rx.button(rx.icon("plus", size=14), "Add condition", type="button", variant="soft", size="1", on_click=on_add),
        spacing="2",
        width="100%",
        padding="0.8em",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="8px",
    )
