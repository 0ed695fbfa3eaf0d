"""Which page re-reads what when rows of a kind change: one registry, filled where the app is wired.

A page watches a kind by entering `names.watch_room(kind, its state's name)` on load; the
live hub looks the room's page up here to know which event to send it.
"""

from collections.abc import Callable, Sequence

from reflex.event import EventCallback, EventSpec

# Builds the event a watching page gets, from the ids that changed ([]: many, re-read all).
PageReload = Callable[[list[int]], EventSpec | EventCallback[()]]


def reread_all(handler: EventCallback[()]) -> PageReload:
    """A page reload that re-reads all it shows, whichever ids changed."""
    return lambda _ids: handler


class Watchers:
    """Registry of page reloads per resource kind, and the events a user's tabs get for their own kinds."""

    def __init__(self) -> None:
        self._pages: dict[str, dict[str, PageReload]] = {}
        self._user: dict[str, list[EventCallback[()]]] = {}

    def page(self, kind: str, state_name: str, reload: PageReload) -> None:
        """Have the page of `state_name` re-read with `reload` when rows of `kind` change."""
        self._pages.setdefault(kind, {})[state_name] = reload

    def user(self, kind: str, *events: EventCallback[()]) -> None:
        """Send these events to a user's tabs when rows of `kind` belonging to them change."""
        self._user.setdefault(kind, []).extend(events)

    def page_reload(self, kind: str, state_name: str) -> PageReload | None:
        """The reload of one watching page (None if it registered none)."""
        return self._pages.get(kind, {}).get(state_name)

    def user_events(self, kind: str) -> Sequence[EventCallback[()]]:
        """The events a user's tabs get when their rows of `kind` change."""
        return self._user.get(kind, ())
