"""Admins manage roles at /users."""

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ObjectVar

from postboard.db import session_scope
from postboard.errors import ValidationFailed
from postboard.users.models import Role
from postboard.users.service import count_users, search_users, set_role
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState

UserRow = dict[str, str]
ROLES = [r.value for r in Role]


class UsersState(AppState):
    """The users shown and the search filter."""

    rows: Field[list[UserRow]] = field(default_factory=list)
    total: Field[int] = field(0)
    query: Field[str] = field("")

    def _reload(self) -> None:
        with session_scope() as session:
            self.total = count_users(session)
            self.rows = [
                {"id": str(u.id), "name": u.name, "email": u.email, "role": str(u.role)}
                for u in search_users(session, query=self.query, limit=100)
            ]

    @event
    async def load(self) -> None:
        """Load the first page of users, and follow role changes and sign-ups."""
        if self.is_admin:
            self._reload()
            await self._watch("users")

    @event
    def reread(self) -> None:
        """Someone else changed users: re-read the list with the same search."""
        if self.is_admin:
            self._reload()

    @event
    def search(self, query: str) -> None:
        """Filter users by name or email."""
        self.query = query
        self._reload()

    @event
    def change_role(self, user_id: str, role: str) -> EventSpec | None:
        """Give a user another role."""
        if not self.is_admin or role not in ROLES:
            return None
        try:
            with session_scope() as session:
                user = set_role(session, user_id=int(user_id), role=Role(role))
        except ValidationFailed as exc:
            return rx.toast.error(str(exc))
        self._reload()
        return rx.toast.success(f"{user.name} is now {role}.")


def _row(user: ObjectVar[UserRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(user["name"]),
        rx.table.cell(user["email"]),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label="Role of " + user["email"]),
                rx.select.content(*(rx.select.item(role, value=role) for role in ROLES)),
                value=user["role"],
                size="1",
                on_change=lambda role: UsersState.change_role(user["id"], role),
            ),
        ),
    )


def users_page() -> rx.Component:
    """The users route (admins)."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.input(
                    placeholder="Search name or email",
                    on_change=UsersState.search.debounce(300),
                    width="20rem",
                    aria_label="Search users",
                ),
                rx.text(UsersState.total, " accounts", color_scheme="gray", size="2"),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Email"),
                        rx.table.column_header_cell("Role"),
                    )
                ),
                rx.table.body(rx.foreach(UsersState.rows, _row)),
                width="100%",
                variant="surface",
            ),
            spacing="3",
            width="100%",
        ),
        title="Users",
    )
