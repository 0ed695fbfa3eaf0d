"""In-memory twins of the ports, for fast unit tests."""

from collections.abc import Iterable

from reflex.state import StateUpdate

from postboard.outbox.models import OutboxEvent
from postboard.web.realtime import Rooms


class RecordingDispatcher:
    """Keeps the events it was asked to dispatch."""

    def __init__(self) -> None:
        self.events: list[OutboxEvent] = []

    async def dispatch(self, event: OutboxEvent) -> None:
        """Record the event."""
        self.events.append(event)


class DownDispatcher:
    """Behaves like a queue whose Redis is unreachable."""

    async def dispatch(self, event: OutboxEvent) -> None:
        """Fail as redis-py does when the server is down."""
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class MemoryRooms(Rooms):
    """The rooms of a socket server with no sockets: membership in dicts, emits recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.tabs: dict[str, set[str]] = {}
        self.sent: list[tuple[str, StateUpdate]] = []
        # Tabs whose socket has gone, and tabs cut off without the server knowing yet.
        self.gone: set[str] = set()
        self.silent: set[str] = set()
        # The client token each socket connected with, when Reflex linked it to another one.
        self.came: dict[str, str] = {}

    async def join(self, sid: str, *rooms: str) -> None:
        """Put a tab into rooms."""
        for room in rooms:
            self.tabs.setdefault(room, set()).add(sid)

    async def leave(self, sid: str, *prefixes: str, keep: Iterable[str] = ()) -> None:
        """Take a tab out of the rooms named with `prefixes`, except `keep`."""
        for room, tabs in self.tabs.items():
            if room.startswith(prefixes) and room not in set(keep):
                tabs.discard(sid)

    def rooms_of(self, sid: str) -> list[str]:
        """The rooms a tab is in."""
        return [room for room, tabs in self.tabs.items() if sid in tabs]

    def members(self, room: str) -> frozenset[str]:
        """The tabs in a room."""
        return frozenset(self.tabs.get(room, ()))

    def connected(self, sid: str) -> bool:
        """Whether a tab is still there."""
        return sid not in self.gone

    def came_with(self, sid: str) -> str:
        """The client token a tab's socket connected with ("" if not set)."""
        return self.came.get(sid, "")

    def answering(self, sid: str) -> bool:
        """Whether a tab is there and not cut off."""
        return self.connected(sid) and sid not in self.silent

    def occupied(self, prefixes: Iterable[str]) -> list[str]:
        """Rooms named with `prefixes` that hold a tab."""
        wanted = tuple(prefixes)
        return [room for room, tabs in self.tabs.items() if room.startswith(wanted) and tabs]

    async def emit(self, room: str, update: StateUpdate) -> None:
        """Record the update."""
        self.sent.append((room, update))
