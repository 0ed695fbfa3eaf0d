"""This process's sockets and rooms (join, leave, emit, count), and the one hand-built Reflex update.

Page states and the hubs use it; it imports no page state. Room names come from
`postboard.names`. Reflex's wire format (the delta keys, `StateUpdate`) is touched only
by `state_update`, pinned by a test to the Reflex version in pyproject.toml.
"""

import asyncio
import gc
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reflex.constants.state import FIELD_MARKER
from reflex.event import Event, EventCallback, EventSpec
from reflex.state import StateUpdate
from socketio import AsyncManager, AsyncServer


def state_update(
    state: str = "", values: Mapping[str, Any] | None = None, events: Sequence[EventSpec | EventCallback[()]] = ()
) -> StateUpdate:
    """Build the update Reflex would send after `state`'s vars took `values`, plus `events` to run."""
    delta = {state: {f"{var}{FIELD_MARKER}": value for var, value in values.items()}} if state and values else {}
    return StateUpdate(delta=delta, events=Event.from_event_type(list(events)) if events else [])


# A pong takes milliseconds; a ping unanswered this long means the tab is probably cut off.
PING_ANSWER_SECONDS = 2.0


class IndexedManager(AsyncManager):  # type: ignore[misc]  # socketio is untyped
    """socket.io's client manager with an index of each tab's rooms.

    The stock manager finds a tab's rooms, and empties them when it disconnects, by walking
    every room of the namespace (one per tab, one per user): each page load and each closed
    tab cost O(tabs), and a backend losing 5,000 tabs at once spent seconds in that walk.
    """

    def __init__(self) -> None:
        super().__init__()
        self.rooms_by_sid: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        """Enter a room and note it in the index."""
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self.rooms_by_sid.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        """Leave a room and drop it from the index."""
        super().basic_leave_room(sid, namespace, room)
        joined = self.rooms_by_sid.get((namespace, sid))
        if joined is not None:
            joined.discard(room)
            if not joined:
                del self.rooms_by_sid[(namespace, sid)]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms a tab is in, its own sid room included (as the stock manager answers)."""
        return [room for room in self.rooms_by_sid.get((namespace, sid), ()) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """Take a gone tab out of its rooms (from the index), then forget its callbacks and pending marks."""
        for room in list(self.rooms_by_sid.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        # The rest is the stock manager's basic_disconnect (python-socketio 5.x), without its walk.
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]


def index_rooms(sio: AsyncServer) -> None:
    """Give a socket server the indexed manager, carrying over whatever the old one holds."""
    old = sio.manager
    if isinstance(old, IndexedManager):
        return
    manager = IndexedManager()
    manager.set_server(sio)
    manager.rooms, manager.eio_to_sid, manager.callbacks = old.rooms, old.eio_to_sid, old.callbacks
    manager.pending_connect, manager.pending_disconnect = old.pending_connect, old.pending_disconnect
    for namespace, named in old.rooms.items():
        for room, members in named.items():
            for sid in members:
                manager.rooms_by_sid.setdefault((namespace, sid), set()).add(room)
    sio.manager = manager


class Rooms:
    """The socket server of this backend process, seen as named rooms of tabs."""

    def __init__(self) -> None:
        self.sio: AsyncServer | None = None
        self.namespace = "/_event"
        # Emits in progress: the collector is back on only when the last overlapping one ends;
        # `quiet` is set while there is none (the collector's full pass waits for it).
        self._bursts = 0
        self.quiet = asyncio.Event()
        self.quiet.set()

    def attach(self, sio: AsyncServer | None, namespace: str) -> None:
        """Use the app's socket server (at startup), with its rooms indexed per tab."""
        if sio is not None:
            index_rooms(sio)
        self.sio = sio
        self.namespace = namespace

    async def join(self, sid: str, *rooms: str) -> None:
        """Put a tab into rooms."""
        if self.sio is None or not sid:
            return
        for room in rooms:
            await self.sio.enter_room(sid, room, namespace=self.namespace)

    async def leave(self, sid: str, *prefixes: str, keep: Iterable[str] = ()) -> None:
        """Take a tab out of every room whose name starts with one of `prefixes`, except those in `keep`."""
        if self.sio is None or not sid:
            return
        kept = set(keep)
        for room in self.rooms_of(sid):
            if room.startswith(prefixes) and room not in kept:
                await self.sio.leave_room(sid, room, namespace=self.namespace)

    def rooms_of(self, sid: str) -> list[str]:
        """The named rooms a tab is in (not its own sid room)."""
        if self.sio is None:
            return []
        return [room for room in self.sio.manager.get_rooms(sid, self.namespace) if room != sid]

    def connected(self, sid: str) -> bool:
        """Whether a tab's socket is still connected to this process."""
        return self.sio is not None and bool(self.sio.manager.is_connected(sid, self.namespace))

    def came_with(self, sid: str) -> str:
        """The client token a tab's socket connected with ("" if unknown).

        Reflex may link the socket to another token than this one: its Redis token manager takes
        a token still on record for a socket as a duplicated browser tab and hands out a fresh
        one, and a SIGKILLed backend never removes the records of its sockets.
        """
        if self.sio is None or not sid:
            return ""
        environ = self.sio.get_environ(sid, self.namespace) or {}
        tokens = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("token", [])
        return tokens[0] if tokens else ""

    def answering(self, sid: str) -> bool:
        """Whether a tab's socket is connected and answered its last ping (a silent network cut fails this first)."""
        if not self.connected(sid) or self.sio is None:
            return False
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, self.namespace)
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
        waiting_since = getattr(socket, "last_ping", None)
        return socket is not None and (not waiting_since or time.time() - waiting_since < PING_ANSWER_SECONDS)

    def members(self, room: str) -> frozenset[str]:
        """The tabs (socket ids) in a room."""
        if self.sio is None:
            return frozenset()
        return frozenset(sid for sid, _ in self.sio.manager.get_participants(self.namespace, room))

    def count(self, room: str) -> int:
        """How many tabs are in a room."""
        return len(self.members(room))

    def occupied(self, prefixes: Iterable[str]) -> list[str]:
        """Rooms named with one of `prefixes` that hold at least one tab."""
        if self.sio is None:
            return []
        wanted = tuple(prefixes)
        rooms: Mapping[Any, Any] = self.sio.manager.rooms.get(self.namespace, {})
        return [r for r, tabs in rooms.items() if isinstance(r, str) and r.startswith(wanted) and tabs]

    async def emit(self, room: str, update: StateUpdate) -> None:
        """Send one update to every tab in a room (encoded once by socket.io)."""
        if self.sio is None:
            return
        # A full collection in the middle of a 1,000-socket fan-out costs 170-270 ms
        # and frees nothing: keep the collector out of the burst.
        self._bursts += 1
        self.quiet.clear()
        gc.disable()
        try:
            await self.sio.emit("event", update, room=room, namespace=self.namespace)
        finally:
            self._bursts -= 1
            if self._bursts == 0:
                gc.enable()
                self.quiet.set()


rooms = Rooms()
