"""The notification centre: newest first, paged, unread marked, mark one or all as read."""

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from postboard.db import session_scope
from postboard.notifications.service import inbox_page, mark_all_read, mark_read
from postboard.web import routes
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState, new_live_posts

InboxRow = dict[str, Any]
PAGE_SIZE = 25


class InboxState(AppState):
    """One page of the user's notifications as loaded from the database."""

    items: Field[list[InboxRow]] = field(default_factory=list)
    total: Field[int] = field(0)
    newer: Field[int] = field(0)
    # The keyset that shows this page again (0: the newest page, which takes in new arrivals).
    page_before_id: Field[int] = field(0)

    def _show(self, *, before_id: int | None = None, after_id: int | None = None) -> None:
        with session_scope() as session:
            found = inbox_page(session, user_id=self.user_id, limit=PAGE_SIZE, before_id=before_id, after_id=after_id)
        rows = found.rows
        self.total, self.newer = found.total, found.newer
        self.page_before_id = (rows[0].id or 0) + 1 if found.has_newer and rows else 0
        self.items = [
            {
                "id": n.id,
                "post_id": n.post_id or 0,
                "title": n.title,
                "body": n.body,
                "url": n.url,
                "created_at": n.created_at.isoformat(),
                "unread": n.read_at is None,
            }
            for n in rows
        ]
        self._sync_unread()

    def _reload(self) -> None:
        self._show(before_id=self.page_before_id or None)

    @rx.var
    def page_label(self) -> str:
        """Which notifications are shown, of how many."""
        if self.total == 0:
            return ""
        return f"{self.newer + 1}–{self.newer + len(self.items)} of {self.total}"

    @rx.var
    def has_older(self) -> bool:
        """Whether an older page exists."""
        return self.newer + len(self.items) < self.total

    @event
    def reread(self) -> None:
        """Someone (another tab, a worker) changed this user's notifications: re-read the page shown."""
        if self.signed_in and self.router.page.path == routes.NOTIFICATIONS:
            self._reload()

    @event
    async def load(self) -> None:
        """Load the newest page and the exact unread count, and follow edits and deletions of their posts."""
        if self.signed_in:
            await self._watch("posts")
            self._show()

    @event
    def refresh_posts(self, ids: list[int]) -> None:
        """Posts changed: re-read the page if it shows an entry of one (all when `ids` is empty)."""
        if any(not ids or int(item["post_id"]) in ids for item in self.items):
            self._reload()

    @event
    def turn_page(self, step: int) -> Any:
        """Newer (-1) or older (+1) notifications."""
        if not self.signed_in or not self.items:
            return None
        if step > 0:
            self._show(before_id=int(self.items[-1]["id"]))
        else:
            self._show(after_id=int(self.items[0]["id"]))
        # The pager sits below the list: the new page is read from its top.
        return rx.call_script("window.scrollTo(0, 0)")

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
                rx.cond(
                    item["url"].to(str) != "",
                    rx.link(
                        rx.text(item["title"].to(str), weight=rx.cond(unread, "bold", "regular")),
                        href=item["url"].to(str),
                    ),
                    # A deleted post's entry: its title, no link to a page that is gone.
                    rx.text(item["title"].to(str), weight=rx.cond(unread, "bold", "regular"), color_scheme="gray"),
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


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(InboxState.page_label, size="2", color_scheme="gray"),
        rx.button(
            rx.icon("chevron-left", size=14),
            "Newer",
            size="1",
            variant="soft",
            disabled=InboxState.newer == 0,
            on_click=InboxState.turn_page(-1),
        ),
        rx.button(
            "Older",
            rx.icon("chevron-right", size=14),
            size="1",
            variant="soft",
            disabled=~InboxState.has_older,
            on_click=InboxState.turn_page(1),
        ),
        role="navigation",
        aria_label="Notification pages",
        spacing="2",
        align="center",
        justify="end",
        width="100%",
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
            rx.cond(InboxState.total > 0, _pager()),
            spacing="3",
            width="100%",
            max_width="48rem",
        ),
        title="Notifications",
    )
