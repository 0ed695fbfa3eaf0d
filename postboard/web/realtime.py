"""This process's sockets and rooms (join, leave, emit, count), and the one hand-built Reflex update.

Page states and the hubs use it; it imports no page state. Room names come from
`postboard.names`. Reflex's wire format (the delta keys, `StateUpdate`) is touched only
by `state_update`, pinned by a test to the Reflex version in pyproject.toml.
"""

import gc
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reflex.constants.state import FIELD_MARKER
from reflex.event import Event, EventCallback, EventSpec
from reflex.state import StateUpdate
from socketio import AsyncServer


def state_update(
    state: str = "", values: Mapping[str, Any] | None = None, events: Sequence[EventSpec | EventCallback[()]] = ()
) -> StateUpdate:
    """Build the update Reflex would send after `state`'s vars took `values`, plus `events` to run."""
    delta = {state: {f"{var}{FIELD_MARKER}": value for var, value in values.items()}} if state and values else {}
    return StateUpdate(delta=delta, events=Event.from_event_type(list(events)) if events else [])


# A pong takes milliseconds; a ping unanswered this long means the tab is probably cut off.
PING_ANSWER_SECONDS = 2.0


class Rooms:
    """The socket server of this backend process, seen as named rooms of tabs."""

    def __init__(self) -> None:
        self.sio: AsyncServer | None = None
        self.namespace = "/_event"
        # Emits in progress: the collector is back on only when the last overlapping one ends.
        self._bursts = 0
        # The named rooms each tab was put in: socket.io can only find a tab's rooms by looking
        # through every room (one per user), which made each page load cost O(tabs).
        self._joined: dict[str, set[str]] = {}

    def attach(self, sio: AsyncServer | None, namespace: str) -> None:
        """Use the app's socket server (at startup)."""
        self.sio = sio
        self.namespace = namespace

    async def join(self, sid: str, *rooms: str) -> None:
        """Put a tab into rooms."""
        if self.sio is None or not sid:
            return
        for room in rooms:
            await self.sio.enter_room(sid, room, namespace=self.namespace)
        self._joined.setdefault(sid, set()).update(rooms)

    async def leave(self, sid: str, *prefixes: str, keep: Iterable[str] = ()) -> None:
        """Take a tab out of every room whose name starts with one of `prefixes`, except those in `keep`."""
        if self.sio is None or not sid:
            return
        kept = set(keep)
        for room in self.rooms_of(sid):
            if room.startswith(prefixes) and room not in kept:
                await self.sio.leave_room(sid, room, namespace=self.namespace)
                self._joined[sid].discard(room)
        if not self._joined.get(sid, True):
            del self._joined[sid]

    def rooms_of(self, sid: str) -> list[str]:
        """The named rooms a tab is in (not its own sid room)."""
        if self.sio is None:
            return []
        joined = self._joined.get(sid)
        if not joined:
            return []
        # socket.io empties a gone tab's rooms itself; only those it still holds count.
        present: Mapping[Any, Any] = self.sio.manager.rooms.get(self.namespace, {})
        return [room for room in joined if sid in present.get(room, ())]

    def forget(self, sid: str) -> None:
        """Drop what is known of a tab whose socket has gone."""
        self._joined.pop(sid, None)

    def connected(self, sid: str) -> bool:
        """Whether a tab's socket is still connected to this process."""
        return self.sio is not None and bool(self.sio.manager.is_connected(sid, self.namespace))

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
        gc.disable()
        try:
            await self.sio.emit("event", update, room=room, namespace=self.namespace)
        finally:
            self._bursts -= 1
            if self._bursts == 0:
                gc.enable()


rooms = Rooms()
