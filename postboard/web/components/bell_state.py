"""The bell's panel: the latest notifications, unread first, read again while the panel is open."""

from typing import Any

import reflex as rx

from postboard.db import session_scope
from postboard.notifications.service import latest_for_user, mark_all_read, mark_read
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState

BellRow = dict[str, Any]
PANEL_SIZE = 10
EXCERPT = 100


def _excerpt(body: str) -> str:
    return body if len(body) <= EXCERPT else body[: EXCERPT - 1].rstrip() + "…"


class BellState(AppState):
    """What the open panel shows; nothing is read while it is closed."""

    opened: Field[bool] = field(False)
    items: Field[list[BellRow]] = field(default_factory=list)

    @rx.var
    def has_unread(self) -> bool:
        """Whether the panel shows an unread notification (unread come first, so any unread is shown)."""
        return any(item["unread"] for item in self.items)

    def _read(self) -> None:
        with session_scope() as session:
            rows = latest_for_user(session, user_id=self.user_id, limit=PANEL_SIZE)
        self.items = [
            {
                "id": n.id,
                "title": n.title,
                "body": _excerpt(n.body),
                "url": n.url,
                "created_at": n.created_at.isoformat(),
                "unread": n.read_at is None,
            }
            for n in rows
        ]
        self._sync_unread()

    @event
    async def open_panel(self) -> None:
        """The panel was opened (or a live post arrived while it is open): read its notifications."""
        self.opened = True
        if self.signed_in:
            # Edited and deleted posts reword their entries: follow them while the panel is open.
            await self._watch("posts")
            self._read()

    @event
    async def close_panel(self) -> None:
        """The panel closed: stop re-reading it, and stop being told of edited posts."""
        self.opened = False
        await self._unwatch("posts")

    @event
    def reload(self) -> None:
        """This user's notifications changed (another tab, a worker): re-read them if the panel is open."""
        if self.opened and self.signed_in:
            self._read()

    @event
    def read_one(self, notification_id: int) -> None:
        """Mark one notification as read."""
        if not self.signed_in:
            return
        with session_scope() as session:
            mark_read(session, user_id=self.user_id, notification_id=notification_id)
        self._read()

    @event
    def read_all(self) -> None:
        """Mark every notification as read."""
        if not self.signed_in:
            return
        with session_scope() as session:
            mark_all_read(session, user_id=self.user_id)
        self._read()
