"""The notification centre: newest first, unread marked, mark one or all as read."""

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from postboard.db import session_scope
from postboard.notifications.service import list_for_user, mark_all_read, mark_read
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState, new_live_posts

InboxRow = dict[str, Any]
PAGE = 50


class InboxState(AppState):
    """The user's notifications as loaded from the database."""

    items: Field[list[InboxRow]] = field(default_factory=list)

    def _reload(self) -> None:
        with session_scope() as session:
            rows = list_for_user(session, user_id=self.user_id, limit=PAGE)
        self.items = [
            {
                "id": n.id,
                "title": n.title,
                "body": n.body,
                "url": n.url,
                "created_at": n.created_at.isoformat(),
                "unread": n.read_at is None,
            }
            for n in rows
        ]
        self._sync_unread()

    @event
    def load(self) -> None:
        """Load the newest notifications and the exact unread count."""
        if self.signed_in:
            self._reload()

    @event
    def read_one(self, notification_id: int) -> None:
        """Mark one notification as read."""
        with session_scope() as session:
            mark_read(session, user_id=self.user_id, notification_id=notification_id)
        self._reload()

    @event
    def read_all(self) -> None:
        """Mark every notification as read."""
        with session_scope() as session:
            mark_all_read(session, user_id=self.user_id)
        self._reload()


def _item(item: ObjectVar[InboxRow]) -> rx.Component:
    unread = item["unread"].to(bool)
    return rx.card(
        rx.hstack(
            rx.box(
                width="10px",
                height="10px",
                border_radius="50%",
                flex_shrink="0",
                margin_top="6px",
                background=rx.cond(unread, rx.color("indigo", 9), "transparent"),
            ),
            rx.vstack(
                rx.link(
                    rx.text(item["title"].to(str), weight=rx.cond(unread, "bold", "regular")),
                    href=item["url"].to(str),
                ),
                rx.text(item["body"].to(str), size="2", color_scheme="gray"),
                rx.moment(
                    item["created_at"].to(str),
                    from_now=True,
                    style={"fontSize": "12px"},
                ),
                spacing="1",
                align="start",
                flex="1",
            ),
            rx.cond(
                unread,
                rx.button(
                    "Mark as read",
                    size="1",
                    variant="soft",
                    on_click=InboxState.read_one(item["id"].to(int)),
                ),
                rx.badge("read", color_scheme="gray", variant="surface"),
            ),
            align="start",
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid=rx.cond(unread, "notification-unread", "notification-read"),
    )


def notifications_page() -> rx.Component:
    """The notifications route."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.text("Newest first.", color_scheme="gray", size="2"),
                rx.button(
                    rx.icon("check-check", size=16),
                    "Mark all as read",
                    variant="outline",
                    on_click=InboxState.read_all,
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.cond(
                new_live_posts.length() > 0,
                rx.hstack(
                    rx.icon("bell-ring", size=16),
                    rx.text("New notifications arrived.", size="2"),
                    rx.button("Show them", size="1", variant="soft", on_click=InboxState.load),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.foreach(InboxState.items, _item),
            rx.cond(
                InboxState.items.length() == 0,
                rx.text("Nothing here yet.", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
            max_width="48rem",
        ),
        title="Notifications",
    )
