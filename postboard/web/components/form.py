"""Form pieces the admin pages share: labelled fields, and reading what people typed."""

import json
from typing import Any

import reflex as rx
from pydantic import ValidationError

from postboard.posts.models import CONTENT_MAX, TITLE_MAX
from postboard.web.components.layout import field_error

# Code, JSON and templates, in the theme's monospace font.
MONO = {"fontFamily": "var(--code-font-family)", "fontSize": "13px"}


def field_label(text: str, *, html_for: str) -> rx.Component:
    """A field's label, tied to its control by id."""
    return rx.el.label(text, html_for=html_for, style={"fontWeight": 500, "fontSize": "14px"})


def labelled(
    label: str,
    control: rx.Component,
    *,
    html_for: str,
    error: rx.Var[str] | None = None,
    hint: rx.Var[str] | str | None = None,
) -> rx.Component:
    """A label above its control, then a hint and the field's inline error."""
    parts = [field_label(label, html_for=html_for), control]
    if hint is not None:
        parts.append(rx.text(hint, size="1", color_scheme="gray"))
    if error is not None:
        parts.append(field_error(error))
    return rx.vstack(*parts, spacing="1", width="100%", align="stretch")


def labelled_input(
    label: str,
    *,
    id: str,
    error: rx.Var[str] | None = None,
    hint: rx.Var[str] | str | None = None,
    **props: Any,
) -> rx.Component:
    """A labelled text input; `props` go to the input."""
    return labelled(label, rx.input(id=id, **props), html_for=id, error=error, hint=hint)


def post_fields(
    *,
    prefix: str,
    title_error: rx.Var[str],
    content_error: rx.Var[str],
    title: rx.Var[str] | None = None,
    content: rx.Var[str] | None = None,
    rows: str = "5",
) -> list[rx.Component]:
    """A post's Title and Content fields (publishing and editing), with their inline errors."""
    shown = {"default_value": title} if title is not None else {"placeholder": "What is new?"}
    said = {"default_value": content} if content is not None else {"placeholder": "Say it in full."}
    return [
        labelled(
            "Title",
            rx.input(id=f"{prefix}title", name="title", size="3", width="100%", max_length=TITLE_MAX + 50, **shown),
            html_for=f"{prefix}title",
            error=title_error,
        ),
        labelled(
            "Content",
            rx.text_area(
                id=f"{prefix}content",
                name="content",
                size="3",
                width="100%",
                rows=rows,
                max_length=CONTENT_MAX + 100,
                **said,
            ),
            html_for=f"{prefix}content",
            error=content_error,
        ),
    ]


def code_area(**props: Any) -> rx.Component:
    """A text area for JSON or a template: monospace, no spell checking."""
    return rx.text_area(spell_check=False, style=MONO, **props)


def form_buttons(*buttons: rx.Component, on_cancel: Any) -> rx.Component:
    """A form's buttons, then Cancel, which never submits it."""
    return rx.hstack(
        *buttons,
        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=on_cancel),
        spacing="3",
    )


def json_object(text: str) -> dict[str, Any] | None:
    """Read a JSON object typed in a textarea; blank is None; ValueError says what is wrong."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object, such as {"order_id": 42}')
    return value


def pretty(value: Any) -> str:
    """JSON as people read it in a textarea."""
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def input_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints about submitted input, as field → message."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        empty = error["type"] == "string_too_short" and error.get("ctx", {}).get("min_length") == 1
        errors.setdefault(field, "required" if empty else str(error["msg"]).removeprefix("Value error, "))
    return errors
