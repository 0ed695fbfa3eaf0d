"""What the platform's list-and-form pages share: the open form, its errors, and saving or deleting a record."""

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from postboard.db import session_scope
from postboard.errors import NotFound, ValidationFailed
from postboard.web.event import event
from postboard.web.field import Field, field


class Named(Protocol):
    """A saved record, named in the toast that confirms it."""

    @property
    def name(self) -> str:
        """The record's name."""
        ...


class RecordEditorState(rx.State, mixin=True):
    """A page listing records with a form for one of them; mix in before AppState, which holds is_admin."""

    editing: Field[bool] = field(False)
    edit_id: Field[int] = field(0)
    errors: Field[dict[str, str]] = field(default_factory=dict)

    if TYPE_CHECKING:
        # AppState's, which every state using this mixin also derives from.
        is_admin: bool

        async def _watch(self, kind: str) -> bool:
            """AppState's."""
            ...

    def _reload(self) -> None:
        raise NotImplementedError

    # The resource kind the page lists (`live.channels.ADMIN_KINDS`): it re-reads when rows change.
    watch_kind: ClassVar[str]

    @event
    async def load(self) -> None:
        """List the records, the form closed, and follow changes others make to them."""
        if self.is_admin:
            self.editing = False
            self._reload()
            await self._watch(self.watch_kind)

    @event
    def reread(self) -> None:
        """Someone else changed these records: re-read the list (an open form is left as it is)."""
        if self.is_admin:
            self._reload()

    @event
    def cancel(self) -> None:
        """Close the form."""
        self.editing, self.errors = False, {}

    def _save(self, write: Callable[[Session], Named], *, what: str) -> EventSpec | None:
        """Write the form's record; problems show under their fields, success closes the form."""
        try:
            with session_scope() as session:
                saved = write(session)
        except ValidationFailed as exc:
            self.errors = exc.errors
            return None
        except NotFound as exc:
            self.errors = {"form": str(exc)}
            return None
        self.editing, self.errors = False, {}
        self._reload()
        return rx.toast.success(f"Saved {what} {saved.name}.")

    def _delete(self, remove: Callable[[Session], None], *, done: str, closes: int | None = None) -> EventSpec:
        """Delete a record and say so, or say why not; a form open on the record `closes` names closes too."""
        try:
            with session_scope() as session:
                remove(session)
        except (ValidationFailed, NotFound) as exc:
            return rx.toast.error(str(exc))
        if closes is not None and self.edit_id == closes:
            self.editing = False
        self._reload()
        return rx.toast.success(done)
