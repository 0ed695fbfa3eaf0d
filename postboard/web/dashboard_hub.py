"""Pushes the dashboard widgets' figures to the tabs showing them, and keeps this process's presence in Redis.

One loop per backend process. Every tick it writes the users with a connected tab here
(`live.presence`), then, if a tab of this process shows the dashboard, reads the figures
once for all of them (one set of queries per tick, not per tab) and sends each dashboard
channel its values only when they changed or a tab joined. Ticks are a second apart, so
a channel gets at most one push per second; the page never polls.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from postboard import names
from postboard.clock import utcnow
from postboard.dashboard.figures import Row, dashboard_figures, queue_rows
from postboard.db import session_scope
from postboard.live.presence import Presence
from postboard.monitor.store import JobStore
from postboard.settings import get_settings
from postboard.web.gate import Gate
from postboard.web.monitor_hub import MONITOR_OUTAGES
from postboard.web.realtime import Rooms, state_update

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# A page load reuses the last tick's figures when this fresh; the tick after it sends the tab current ones.
FRESH_SECONDS = 5.0


@dataclass
class Latest:
    """The figures of the last tick, for page loads in between."""

    public: Row | None = None
    system: Row | None = None
    at: float = field(default=float("-inf"))

    def fresh(self, *, admin: bool) -> tuple[Row, Row | None] | None:
        """The last figures if recent enough (and with the system ones, for an admin)."""
        if self.public is None or time.monotonic() - self.at > FRESH_SECONDS or (admin and self.system is None):
            return None
        return self.public, self.system


latest = Latest()


def connected_online(gate: Gate, rooms: Rooms) -> dict[int, float]:
    """The users with a connected tab on this process (sooner than the gate's next prune), each with since."""
    online: dict[int, float] = {}
    for sid, tab in list(gate.tabs.items()):
        if rooms.connected(sid):
            user = tab.viewer.user_id
            online[user] = min(online.get(user, tab.since), tab.since)
    return online


async def read_queues(store: JobStore) -> list[Row]:
    """Depth, oldest wait and workers of every queue."""
    settings = get_settings()
    thresholds = {q: settings.long_wait_threshold(q) for q in names.QUEUES}
    return await queue_rows(store, queues=names.QUEUES, thresholds=thresholds)


def read_figures(online: dict[int, float], *, queues: list[Row] | None) -> tuple[Row, Row | None]:
    """Read the dashboard's figures from the database (system figures when `queues` is given)."""
    with session_scope() as session:
        return dashboard_figures(
            session, online=online, listing=get_settings().presence_listing, queues=queues, now=utcnow()
        )


async def load_figures(
    presence: Presence, store: JobStore, *, here: Callable[[], dict[int, float]], admin: bool
) -> tuple[Row, Row | None]:
    """The figures for one page load: the last tick's if fresh, else read now (live push off, first tab)."""
    found = latest.fresh(admin=admin)
    if found is not None:
        return found
    # This process's own tabs count even when Redis is out or no hub writes presence (live push off).
    online = here()
    queues: list[Row] | None = [] if admin else None
    try:
        for user, since in (await presence.online()).items():
            online[user] = min(online.get(user, since), since)
        if admin:
            queues = await read_queues(store)
    except MONITOR_OUTAGES as exc:
        log.warning("dashboard figures without Redis: %s", exc)
    return await asyncio.to_thread(read_figures, online, queues=queues)


class DashboardHub:
    """The dashboard pusher and presence writer of one backend process."""

    def __init__(self, rooms: Rooms, gate: Gate, presence: Presence, store: JobStore, *, state: str) -> None:
        self.rooms = rooms
        self.gate = gate
        self.presence = presence
        self.store = store
        # The page state the figures land in.
        self.state = state
        self._sent: dict[str, tuple[str, frozenset[str]]] = {}

    async def tick(self) -> None:
        """Write this process's presence; read the figures once and push what changed to each channel."""
        await self.presence.publish(connected_online(self.gate, self.rooms))
        public_tabs = self.rooms.members(names.DASHBOARD_ROOM)
        system_tabs = self.rooms.members(names.DASHBOARD_ADMIN_ROOM)
        # Forget channels nobody watches: a returning tab gets fresh figures.
        for room, tabs in ((names.DASHBOARD_ROOM, public_tabs), (names.DASHBOARD_ADMIN_ROOM, system_tabs)):
            if not tabs:
                self._sent.pop(room, None)
        if not public_tabs and not system_tabs:
            return
        online = await self.presence.online()
        queues = await read_queues(self.store) if system_tabs else None
        public, system = await asyncio.to_thread(read_figures, online, queues=queues)
        latest.public, latest.system, latest.at = public, system, time.monotonic()
        if public_tabs:
            await self._push(names.DASHBOARD_ROOM, public, public_tabs)
        if system is not None:
            await self._push(names.DASHBOARD_ADMIN_ROOM, system, system_tabs)

    async def _push(self, room: str, values: Row, members: frozenset[str]) -> None:
        encoded = json.dumps(values, sort_keys=True, default=str)
        last = self._sent.get(room)
        if last is not None and last[0] == encoded and members <= last[1]:
            return
        self._sent[room] = (encoded, members)
        await self.rooms.emit(room, state_update(self.state, values))

    async def run(self) -> None:
        """Loop for the life of the process; an error costs one tick, never the process."""
        try:
            while True:
                try:
                    await self.tick()
                except MONITOR_OUTAGES as exc:
                    log.warning("dashboard tick failed: %s", exc)
                except Exception:
                    log.exception("dashboard tick failed")
                await asyncio.sleep(TICK_SECONDS)
        finally:
            await self._withdraw()

    async def _withdraw(self) -> None:
        # At shutdown: this process's users stop counting at once, not when the heartbeat expires.
        try:
            await self.presence.withdraw()
        except MONITOR_OUTAGES as exc:
            log.warning("presence withdraw failed: %s", exc)
