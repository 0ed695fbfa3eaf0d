"""The header's bell: the live unread count, and a panel of the latest notifications to read and mark."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.web import routes
from postboard.web.components.bell_state import BellRow, BellState
from postboard.web.state import AppState, unread_badge


def _trigger() -> rx.Component:
    return rx.button(
        rx.icon("bell", size=18),
        # On a phone the bell and the count say it; the label keeps the word for screen readers.
        rx.text("Notifications", size="2", weight="medium", display=["none", "none", "none", "inline"]),
        rx.badge(
            unread_badge.to_string(),
            color_scheme=rx.cond(unread_badge > 0, "red", "gray"),
            variant="solid",
            radius="full",
            data_testid="unread-count",
        ),
        aria_label="Notifications, " + unread_badge.to_string() + " unread",
        variant="ghost",
        color_scheme="gray",
        size="2",
        style={"color": "var(--gray-12)"},
    )


def _item(item: ObjectVar[BellRow]) -> rx.Component:
    unread = item["unread"].to(bool)
    return rx.el.li(
        rx.hstack(
            rx.box(
                width="8px",
                height="8px",
                border_radius="50%",
                flex_shrink="0",
                margin_top="7px",
                background=rx.cond(unread, rx.color("indigo", 9), "transparent"),
            ),
            rx.vstack(
                rx.cond(
                    item["url"].to(str) != "",
                    rx.link(
                        rx.text(item["title"].to(str), size="2", weight=rx.cond(unread, "bold", "regular")),
                        href=item["url"].to(str),
                        color_scheme="gray",
                        high_contrast=True,
                    ),
                    # A deleted post's entry: no link to a page that is gone.
                    rx.text(
                        item["title"].to(str), size="2", weight=rx.cond(unread, "bold", "regular"), color_scheme="gray"
                    ),
                ),
                rx.text(item["body"].to(str), size="1", color_scheme="gray"),
                rx.moment(
                    item["created_at"].to(str), from_now=True, style={"fontSize": "11px", "color": "var(--gray-10)"}
                ),
                spacing="1",
                align="start",
                flex="1",
                min_width="0",
                overflow_wrap="anywhere",
            ),
            rx.cond(
                unread,
                rx.button("Mark as read", size="1", variant="soft", on_click=BellState.read_one(item["id"].to(int))),
            ),
            align="start",
            spacing="2",
            width="100%",
        ),
        padding="0.6em 0.2em",
        border_top=f"1px solid {rx.color('gray', 4)}",
        data_testid=rx.cond(unread, "bell-unread", "bell-read"),
    )


def _newest_live_post() -> rx.Var[str]:
    # Changes when a live post arrives (not when one is edited, nor when the badge syncs).
    newest: rx.Var[int] = rx.cond(AppState.live_posts.length() > 0, AppState.live_posts[0]["id"], 0)
    return newest.to_string()


def _panel() -> rx.Component:
    return rx.popover.content(
        # Mounted while the panel is open, and mounted again for each live post: each mount re-reads.
        # The key sits on a wrapper: Reflex puts a component's own key inside its memo, past its effects.
        rx.box(
            rx.box(on_mount=BellState.open_panel, on_unmount=BellState.close_panel),
            key=_newest_live_post(),
            display="none",
        ),
        rx.hstack(
            rx.heading("Notifications", size="3", as_="h2"),
            rx.button(
                rx.icon("check-check", size=14),
                "Mark all as read",
                size="1",
                variant="outline",
                disabled=~BellState.has_unread,
                on_click=BellState.read_all,
            ),
            justify="between",
            align="center",
            width="100%",
            padding_bottom="0.5em",
        ),
        rx.cond(
            BellState.items.length() > 0,
            rx.el.ul(
                rx.foreach(BellState.items, _item),
                aria_label="Latest notifications",
                list_style="none",
                margin="0",
                padding="0",
                max_height="min(60vh, 30rem)",
                overflow_y="auto",
            ),
            rx.text("No notifications yet.", size="2", color_scheme="gray", padding_y="1em"),
        ),
        rx.box(
            rx.link("See all", href=routes.NOTIFICATIONS, size="2", weight="medium"),
            border_top=f"1px solid {rx.color('gray', 4)}",
            padding_top="0.6em",
            text_align="center",
        ),
        aria_label="Notifications",
        align="end",
        side_offset=6,
        collision_padding=8,
        width="min(24rem, calc(100vw - 16px))",
        size="2",
    )


def bell() -> rx.Component:
    """The bell button with the unread count; it opens the panel of the latest notifications."""
    return rx.popover.root(rx.popover.trigger(_trigger()), _panel())
