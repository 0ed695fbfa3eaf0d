"""The root app state: who is signed in, the exact unread count, live posts pushed by the hub."""

from typing import Any

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ArrayVar, NumberVar
from reflex.vars.base import Var, VarData

from postboard import names
from postboard.db import session_scope
from postboard.notifications.service import unread_summary
from postboard.posts.service import posts_after
from postboard.settings import get_settings
from postboard.users.models import Role, User
from postboard.users.service import end_session, user_for_token
from postboard.web import routes
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.gate import gate, viewer_of

SESSION_COOKIE = "pb_session"
LivePostRow = dict[str, Any]


class AppState(rx.State):
    """Auth and the live figures every page header shows."""

    session_token: str = rx.Cookie(
        "", name=SESSION_COOKIE, same_site="lax", max_age=get_settings().session_days * 86400
    )
    user_id: Field[int] = field(0)
    user_name: Field[str] = field("")
    user_email: Field[str] = field("")
    user_role: Field[str] = field("")
    # Exact at the last sync with the database; live posts newer than
    # `synced_post_id` are added to it in the browser.
    unread_count: Field[int] = field(0)
    synced_post_id: Field[int] = field(0)
    # Written only by the live hub's broadcast, never by a handler.
    live_posts: Field[list[LivePostRow]] = field(default_factory=list)

    @rx.var
    def signed_in(self) -> bool:
        """Whether someone is signed in."""
        return self.user_id > 0

    @rx.var
    def can_publish(self) -> bool:
        """Whether the user may publish posts."""
        return self.user_role in (Role.ADMIN, Role.EDITOR)

    @rx.var
    def is_admin(self) -> bool:
        """Whether the user is an admin."""
        return self.user_role == Role.ADMIN

    def _set_user(self, user: User | None) -> None:
        self.user_id = user.id or 0 if user else 0
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.user_role = str(user.role) if user else ""

    def _sync_unread(self) -> None:
        with session_scope() as session:
            summary = unread_summary(session, user_id=self.user_id)
        self.unread_count = summary.count
        self.synced_post_id = summary.newest_post_id

    async def _load_user(self) -> bool:
        with session_scope() as session:
            user = user_for_token(session, token=self.session_token)
        self._set_user(user)
        # A page load leaves the page channels; the page's own load enters its own.
        viewer = viewer_of(self.user_id, self.user_role)
        tab = self.router.session
        await gate.admit(tab.session_id, token=self.session_token, viewer=viewer, client=tab.client_token)
        if user is None:
            return False
        self._sync_unread()
        return True

    async def _enter(self, channel: str, *, post_author: int | None = None) -> bool:
        """Put this tab into one of its page's channels, if its user may receive it."""
        return await gate.enter(self.router.session.session_id, channel, post_author=post_author)

    async def _watch(self, kind: str) -> bool:
        """Have this page told when rows of `kind` change (its state's `names.watch_room`)."""
        return await self._enter(names.watch_room(kind, self.get_name()))

    async def _unwatch(self, kind: str) -> None:
        """Stop telling this state when rows of `kind` change."""
        await gate.leave(self.router.session.session_id, names.watch_room(kind, self.get_name()))

    @event
    async def access_changed(self) -> Any:
        """The gate saw this tab's session end or its role change: follow it without a reload."""
        was_admin = self.user_role == Role.ADMIN
        with session_scope() as session:
            user = user_for_token(session, token=self.session_token)
        self._set_user(user)
        if user is None:
            self.session_token, self.unread_count = "", 0
            return [rx.redirect(routes.LOGIN), rx.toast.info("You were signed out.")]
        self._sync_unread()
        if was_admin and user.role != Role.ADMIN and self.router.page.path in routes.ADMIN_PAGES:
            return [rx.redirect(routes.HOME), rx.toast.error("Your account is no longer an admin.")]
        return None

    @event
    def refresh_unread(self) -> None:
        """Re-read the exact unread count (a notice for this user was just delivered)."""
        if self.user_id:
            self._sync_unread()

    def _missed_notice(self) -> EventSpec | None:
        # A tab back on a new socket (network cut, backend restart): one notice for all it missed.
        seen = gate.missed_since(self.router.session.session_id)
        if seen is None:
            return None
        with session_scope() as session:
            count, newest = posts_after(session, after_id=seen)
        if count == 0:
            return None
        if count == 1:
            return rx.toast.info("1 new post while you were away", description=newest, duration=8000)
        return rx.toast.info(
            f"{count} new posts while you were away", description=f"The newest: {newest}", duration=8000
        )

    @event
    async def require_user(self) -> Any:
        """on_load of signed-in pages: load the user or send them to sign in."""
        if not await self._load_user():
            return rx.redirect(routes.LOGIN)
        return self._missed_notice()

    @event
    async def require_admin(self) -> Any:
        """on_load of admin pages."""
        if not await self._load_user():
            return rx.redirect(routes.LOGIN)
        if self.user_role != Role.ADMIN:
            return [
                rx.redirect(routes.HOME),
                rx.toast.error("That page is for admins."),
            ]
        return self._missed_notice()

    @event
    async def redirect_if_signed_in(self) -> Any:
        """on_load of the sign-in pages: a signed-in user goes to the dashboard."""
        if await self._load_user():
            return rx.redirect(routes.HOME)
        return None

    @event
    async def sign_out(self) -> Any:
        """End this browser's session."""
        if self.session_token:
            with session_scope() as session:
                end_session(session, token=self.session_token)
        await gate.drop(self.router.session.session_id)
        self.session_token = ""
        self._set_user(None)
        self.unread_count = 0
        return rx.redirect(routes.LOGIN)


def _js(expr: str, var_type: type, *deps: Var[Any]) -> Var[Any]:
    # A client-side expression over state vars, carrying their hooks and imports.
    data = VarData.merge(*(d._get_all_var_data() for d in deps))
    return Var(_js_expr=expr, _var_type=var_type, _var_data=data).guess_type()


# Live posts the page has not counted yet: the browser derives these from the
# broadcast buffer, so the server never touches per-tab state for a live post.
new_live_posts: ArrayVar[list[LivePostRow]] = _js(
    f"({AppState.live_posts!s}).filter((p) => p.id > {AppState.synced_post_id!s})",
    list[LivePostRow],
    AppState.live_posts,
    AppState.synced_post_id,
).to(list)
# When every buffered live post is new to the tab, more may have gone past the buffer:
# the tab re-reads the exact count (this box mounts only then; the re-read unmounts it).
BUFFER_FULL = new_live_posts.length() >= get_settings().live_buffer


def unread_keeper() -> rx.Component:
    """Keeps the badge exact past the live buffer: re-reads the count when the buffer is all new."""
    return rx.cond(BUFFER_FULL, rx.box(on_mount=AppState.refresh_unread, display="none"))  # type: ignore[no-any-return]  # rx.cond is Any to mypy


unread_badge: NumberVar[int] = _js(
    f"({AppState.unread_count!s} + ({new_live_posts!s}).length)",
    int,
    AppState.unread_count,
    new_live_posts,
).to(int)
