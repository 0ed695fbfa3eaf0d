"""The layout of the platform's list-and-form pages: what they list and New, the form while open, the list."""

from typing import Any

import reflex as rx

from postboard.web.components.layout import page
from postboard.web.components.platform import platform_tabs


def record_page(
    *,
    title: str,
    route: str,
    intro: str,
    new_label: str,
    on_new: Any,
    editing: rx.Var[bool],
    form: rx.Component,
    table: rx.Component,
) -> rx.Component:
    """A platform page of records: the intro and New button, the form above the list while it is open."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.text(intro, size="2", color_scheme="gray"),
                rx.button(rx.icon("plus", size=14), new_label, on_click=on_new),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.cond(editing, form),
            table,
            spacing="4",
            width="100%",
        ),
        title=title,
        subnav=platform_tabs(route),
    )
