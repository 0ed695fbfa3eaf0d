"""What the notification-platform pages share: sub-navigation, lists, row buttons, channel badges, confirmations."""

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx
from reflex.vars import ArrayVar

from postboard.web import routes

# (label, route, icon): the order an admin works in, from what fires to what went out.
PLATFORM_PAGES = (
    ("Event sources", routes.EVENT_SOURCES, "radio"),
    ("Templates", routes.TEMPLATES, "file-text"),
    ("Rules", routes.RULES, "git-branch"),
    ("Test event", routes.TEST_EVENT, "flask-conical"),
    ("Deliveries", routes.DELIVERIES, "list-checks"),
    ("API tokens", routes.TOKENS, "key-round"),
    ("SMS box", routes.SMSBOX, "message-square"),
)


def platform_tabs(current: str) -> rx.Component:
    """A compact row linking the platform pages, the current one marked."""
    return rx.flex(
        *(
            rx.link(
                rx.hstack(rx.icon(icon, size=14), rx.text(label, size="2"), spacing="1", align="center"),
                href=route,
                underline="none",
                color_scheme="indigo" if route == current else "gray",
                high_contrast=route != current,
                weight="bold" if route == current else "regular",
                aria_current="page" if route == current else None,
                padding="0.35em 0.7em",
                border_radius="6px",
                background=rx.color("indigo", 3) if route == current else "transparent",
            )
            for label, route, icon in PLATFORM_PAGES
        ),
        wrap="wrap",
        gap="1",
        margin_bottom="1.2em",
        aria_label="Notifications platform",
        role="navigation",
    )


def channel_badge(channel: rx.Var[str] | str, label: rx.Var[str] | str) -> rx.Component:
    """A channel's name in its colour."""
    return rx.badge(
        label,
        color_scheme=rx.match(
            channel,
            ("email", "indigo"),
            ("in_app", "violet"),
            ("sms", "grass"),
            ("slack", "plum"),
            ("webhook", "orange"),
            "gray",
        ),
        variant="soft",
    )


def confirm(
    trigger: rx.Component, *, title: str | rx.Var[str], description: str | rx.Var[str], action: str, on_confirm: Any
) -> rx.Component:
    """A button that asks before doing something that can't be undone."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(action, color_scheme="red", on_click=on_confirm)),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            max_width="28rem",
        ),
    )


def confirm_button(
    label: str, *, title: str | rx.Var[str], description: str | rx.Var[str], on_confirm: Any
) -> rx.Component:
    """A row's small red button that asks before doing what it says (delete, revoke)."""
    return confirm(
        rx.button(label, size="1", variant="soft", color_scheme="red"),
        title=title,
        description=description,
        action=label,
        on_confirm=on_confirm,
    )


def edit_and_delete(
    *,
    on_edit: Any,
    on_delete: Any,
    title: rx.Var[str],
    description: str,
    builtin: rx.Var[bool] | None = None,
) -> rx.Component:
    """A row's Edit button, then Delete that asks first; a built-in record has no Delete."""
    delete = confirm_button("Delete", title=title, description=description, on_confirm=on_delete)
    return rx.hstack(
        rx.button("Edit", size="1", variant="soft", on_click=on_edit),
        delete if builtin is None else rx.cond(builtin, rx.fragment(), delete),
        spacing="2",
    )


def table_head(*heads: str) -> rx.Component:
    """A table's row of column headings."""
    return rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in heads)))


def list_table(
    rows: ArrayVar[Sequence[Any]],
    row: Callable[[Any], rx.Component],
    *,
    heads: tuple[str, ...],
    empty: str,
    icon: str = "inbox",
    **props: Any,
) -> rx.Component:
    """The page's records as a table, one `row` each, or a quiet placeholder when there are none."""
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        rows.length() > 0,
        rx.table.root(
            table_head(*heads),
            rx.table.body(rx.foreach(rows, row)),
            width="100%",
            variant="surface",
            **props,
        ),
        empty_state(empty, icon=icon),
    )


def empty_state(text: str, icon: str = "inbox") -> rx.Component:
    """A quiet placeholder for an empty list."""
    return rx.card(
        rx.hstack(rx.icon(icon, size=18, color=rx.color("gray", 9)), rx.text(text, size="2", color_scheme="gray")),
        width="100%",
        variant="surface",
    )


def open_button(label: rx.Var[str] | rx.Component, on_click: Any) -> rx.Component:
    """A row's text that opens it: a button, since following a "#" link would rerun the page's load."""
    return rx.button(
        label,
        variant="ghost",
        size="1",
        on_click=on_click,
        style={"textAlign": "left", "justifyContent": "flex-start", "height": "auto", "whiteSpace": "normal"},
    )


def select_content(*items: rx.Component) -> rx.Component:
    """A select's options, opened below the trigger (item-aligned options move under the pointer as they open)."""
    return rx.select.content(*items, position="popper")
