"""The post page's state: the post read, its live fan-out progress, and Edit / Delete for its author and admins."""

from typing import Any

import reflex as rx

from postboard import names
from postboard.db import MAX_ROW_ID, session_scope
from postboard.errors import Forbidden, NotFound, ValidationFailed
from postboard.posts.models import PostView
from postboard.posts.service import PostDeleted, delete_post, edit_post, get_post
from postboard.users.models import Role, User
from postboard.web import routes
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.monitor_hub import read_progress
from postboard.web.state import AppState


class PostState(AppState):
    """The post being read."""

    found: Field[bool] = field(False)
    # Not found because it was deleted (shown as such, live, to tabs that had it open).
    deleted: Field[bool] = field(False)
    title: Field[str] = field("")
    content: Field[str] = field("")
    author: Field[str] = field("")
    created_at: Field[str] = field("")
    edited_at: Field[str] = field("")
    # The author's fan-out progress; the monitor hub pushes it while the page is open.
    is_author: Field[bool] = field(False)
    progress: Field[dict[str, int]] = field(default_factory=dict)
    editing: Field[bool] = field(False)
    title_error: Field[str] = field("")
    content_error: Field[str] = field("")

    shown_id: Field[int] = field(0)

    @rx.var
    def can_change(self) -> bool:
        """Whether this user may edit and delete the post shown (the server checks again)."""
        return self.found and (self.is_author or self.user_role == Role.ADMIN)

    def _read(self) -> PostView | None:
        try:
            with session_scope() as session:
                post = get_post(session, post_id=self.shown_id)
        except NotFound as exc:
            self.found, self.editing, self.deleted = False, False, isinstance(exc, PostDeleted)
            return None
        self.found = True
        self.title, self.content, self.author = post.title, post.content, post.author_name
        self.created_at = post.created_at.isoformat()
        self.edited_at = post.updated_at.isoformat() if post.updated_at else ""
        self.is_author = post.author_id == self.user_id
        return post

    def _clear_errors(self) -> None:
        self.title_error = self.content_error = ""

    @event
    async def load(self) -> None:
        """Load the post named in the URL; its author and admins also get the live fan-out progress."""
        if not self.signed_in:
            return
        raw = str(self.router.page.params.get("post_id", ""))
        self.found = self.is_author = self.deleted = self.editing = False
        self._clear_errors()
        self.shown_id = int(raw) if raw.isdigit() and int(raw) <= MAX_ROW_ID else 0
        if not self.shown_id or (post := self._read()) is None:
            return
        await self._watch("posts")
        if self.is_author or self.user_role == Role.ADMIN:
            self.progress = read_progress(post.id) or {}
            await self._enter(names.post_room(post.id), post_author=post.author_id)

    @event
    def refresh_posts(self, ids: list[int]) -> None:
        """Posts changed: re-read this one if it is among them (gone when it was deleted)."""
        if self.shown_id and (not ids or self.shown_id in ids):
            self._read()

    @event
    def start_edit(self) -> None:
        """Open the inline edit form."""
        self._clear_errors()
        self.editing = True

    @event
    def cancel_edit(self) -> None:
        """Close the edit form, keeping the post as it is."""
        self._clear_errors()
        self.editing = False

    @event
    def save_edit(self, form: dict[str, str]) -> Any:
        """Save the edited title and content; inline messages on bad input."""
        self._clear_errors()
        try:
            with session_scope() as session:
                actor = session.get(User, self.user_id)
                if actor is None:
                    return rx.redirect(routes.LOGIN)
                edit_post(
                    session,
                    actor=actor,
                    post_id=self.shown_id,
                    title=form.get("title", ""),
                    content=form.get("content", ""),
                )
        except ValidationFailed as exc:
            self.title_error = exc.errors.get("title", "")
            self.content_error = exc.errors.get("content", "")
            return None
        except (Forbidden, NotFound) as exc:
            self._read()
            return rx.toast.error(str(exc))
        self.editing = False
        self._read()
        return rx.toast.success("Post saved.")

    @event
    def delete(self) -> Any:
        """Delete the post and go back to the feed."""
        try:
            with session_scope() as session:
                actor = session.get(User, self.user_id)
                if actor is None:
                    return rx.redirect(routes.LOGIN)
                delete_post(session, actor=actor, post_id=self.shown_id)
        except (Forbidden, NotFound) as exc:
            self._read()
            return rx.toast.error(str(exc))
        self.found, self.deleted, self.editing = False, True, False
        return [rx.redirect(routes.HOME), rx.toast.success("Post deleted.")]
