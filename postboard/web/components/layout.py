"""The frame every signed-in page shares: header with navigation, badge and account menu."""

import reflex as rx

from postboard import names
from postboard.web import routes
from postboard.web.components.bell import bell
from postboard.web.components.platform import PLATFORM_PAGES
from postboard.web.state import AppState, unread_keeper


def brand_mark(size: int) -> rx.Component:
    """The Postboard logo (assets/logo.svg, served by Reflex; the emails use its PNG)."""
    return rx.image(src=names.LOGO_SVG, alt="", width=f"{size}px", height=f"{size}px", flex_shrink="0")


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(
        label,
        href=href,
        size="2",
        weight="medium",
        color_scheme="gray",
        high_contrast=True,
    )


# The row of links shows from the `md` breakpoint (62em, 992 px); below it the Menu button carries them.
WIDE_ONLY = ["none", "none", "none", "flex"]
NARROW_ONLY = ["flex", "flex", "flex", "none"]
ADMIN_PAGES = (
    ("Mailbox", routes.MAILBOX, "mail"),
    ("Users", routes.USERS, "users"),
    ("Queues", routes.QUEUES, "activity"),
    *PLATFORM_PAGES,
)


def _menu_link(label: str, route: str, icon: str) -> rx.Component:
    return rx.menu.item(
        rx.hstack(rx.icon(icon, size=14), label, spacing="2", align="center"),
        on_click=rx.redirect(route),
    )


def navigation_menu() -> rx.Component:
    """The narrow screen's Menu button: every page the role may open."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("menu", size=18),
                aria_label="Menu",
                variant="soft",
                color_scheme="gray",
                size="2",
                display=NARROW_ONLY,
            ),
        ),
        rx.menu.content(
            _menu_link("Feed", routes.HOME, "newspaper"),
            rx.cond(AppState.is_admin, rx.fragment(*(_menu_link(*page) for page in ADMIN_PAGES))),
            align="end",
        ),
    )


def platform_menu() -> rx.Component:
    """The admin's "Platform" menu: every notification-platform page in one place."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                "Platform",
                rx.icon("chevron-down", size=14),
                variant="ghost",
                color_scheme="gray",
                size="2",
                style={"fontWeight": 500, "color": "var(--gray-12)"},
            ),
        ),
        rx.menu.content(*(_menu_link(*page) for page in PLATFORM_PAGES)),
    )


def header() -> rx.Component:
    """Top bar: brand, navigation, notifications, account."""
    return rx.box(
        rx.hstack(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        brand_mark(26),
                        rx.heading("Postboard", size="5"),
                        align="center",
                        spacing="2",
                    ),
                    href=routes.HOME,
                    underline="none",
                    color_scheme="gray",
                    high_contrast=True,
                ),
                rx.hstack(
                    _nav_link("Feed", routes.HOME),
                    rx.cond(AppState.is_admin, _nav_link("Mailbox", routes.MAILBOX)),
                    rx.cond(AppState.is_admin, _nav_link("Users", routes.USERS)),
                    rx.cond(AppState.is_admin, _nav_link("Queues", routes.QUEUES)),
                    rx.cond(AppState.is_admin, platform_menu()),
                    spacing="5",
                    padding_left="1.5em",
                    display=WIDE_ONLY,
                ),
                align="center",
            ),
            rx.hstack(
                bell(),
                navigation_menu(),
                rx.menu.root(
                    rx.menu.trigger(
                        rx.button(
                            rx.icon("circle-user", size=16),
                            rx.text(AppState.user_name, display=["none", "none", "inline"]),
                            aria_label=AppState.user_name,
                            variant="soft",
                            color_scheme="gray",
                            size="2",
                        ),
                    ),
                    rx.menu.content(
                        rx.menu.item(
                            rx.text(AppState.user_email, size="1", color_scheme="gray"),
                            disabled=True,
                        ),
                        rx.menu.item(
                            rx.text("Role: ", AppState.user_role, size="1"),
                            disabled=True,
                        ),
                        rx.menu.separator(),
                        rx.menu.item("Sign out", on_click=AppState.sign_out),
                    ),
                ),
                spacing=rx.breakpoints(initial="2", xs="4"),
                align="center",
            ),
            justify="between",
            align="center",
            max_width="72rem",
            margin="0 auto",
            padding_x=rx.breakpoints(initial="1em", xs="1.5em"),
            height="60px",
        ),
        role="banner",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
    )


def page(*children: rx.Component, title: str, subnav: rx.Component | None = None) -> rx.Component:
    """A signed-in page: header, then a centred column; blank until the user is known."""
    return rx.box(
        header(),
        unread_keeper(),
        rx.cond(
            AppState.signed_in,
            rx.box(
                subnav if subnav is not None else rx.fragment(),
                rx.heading(title, size="7", margin_bottom="0.8em"),
                *children,
                max_width="72rem",
                margin="0 auto",
                padding="2em 1.5em",
            ),
            rx.center(rx.spinner(size="3"), padding="4em"),
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )


def field_error(message: rx.Var[str]) -> rx.Component:
    """An inline message under a form field, shown only when there is one."""
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        message != "", rx.text(message, color_scheme="red", size="2", role="alert")
    )
