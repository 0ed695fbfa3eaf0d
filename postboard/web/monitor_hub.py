"""Pushes the queue monitor and post progress bars to the tabs watching them; runs the long-wait watch.

One loop per backend process. Each `MONITOR_INTERVAL` it reads the figures once for all
watching tabs of this process and sends an update only when they changed or a tab
joined: the browser never polls. Every `WATCH_SECONDS` it checks for long waits, so
alerts go out even when no admin has the monitor open; every few seconds it reports
its tab count for /metrics.
"""

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosmtplib
from sqlalchemy.exc import OperationalError

from postboard import errors, flows, names
from postboard.db import session_scope
from postboard.errors import NotFound
from postboard.live.bus import open_bus
from postboard.live.messages import LiveNotice, announce
from postboard.mail.transport import SmtpTransport
from postboard.monitor.alerts import QUEUES_PATH, check_long_waits
from postboard.monitor.snapshot import build_snapshot
from postboard.monitor.store import JobStore
from postboard.settings import get_settings
from postboard.web.realtime import Rooms, state_update

log = logging.getLogger(__name__)

WATCH_SECONDS = 15.0
TABS_SECONDS = 5.0
# A service being down is expected now and then: logged without a traceback, tried next round.
MONITOR_OUTAGES: tuple[type[Exception], ...] = (*errors.OUTAGES, aiosmtplib.SMTPException, OperationalError)
Figures = dict[str, Any]


def read_progress(post_id: int) -> dict[str, int] | None:
    """Read one post's progress bar figures from the database (None if the post is gone)."""
    try:
        with session_scope() as session:
            return flows.post_progress(session, post_id=post_id).figures()
    except NotFound:
        return None


async def queue_snapshot(store: JobStore) -> Figures:
    """Build the queue monitor's figures now."""
    settings = get_settings()
    thresholds = {q: settings.long_wait_threshold(q) for q in names.QUEUES}
    return await build_snapshot(store, queues=names.QUEUES, thresholds=thresholds)


class MonitorHub:
    """The periodic pusher of one backend process."""

    def __init__(self, rooms: Rooms, store: JobStore, *, queues_state: str, post_state: str, push: bool = True) -> None:
        self.rooms = rooms
        self.store = store
        # False with LIVE_ENABLED=false: no figures are read or pushed; the alerts and the tab report still run.
        self.push = push
        # The page states the figures land in.
        self.queues_state = queues_state
        self.post_state = post_state
        self._sent: dict[str, tuple[str, frozenset[str]]] = {}
        self.backend_id = names.process_id()

    async def tick(self) -> None:
        """Send each watched room its figures if they changed, or if a tab joined since the last send."""
        watched = self.rooms.occupied(names.PAGE_ROOMS)
        # Forget rooms nobody watches any more: a returning tab gets fresh figures, and the map stays small.
        for gone in self._sent.keys() - set(watched):
            del self._sent[gone]
        for room in watched:
            read: Callable[[], Awaitable[Figures | None]]
            if room == names.QUEUES_ROOM:
                state, read = self.queues_state, functools.partial(queue_snapshot, self.store)
            elif (post_id := names.post_of_room(room)) is not None:
                state, read = self.post_state, functools.partial(self._progress, post_id)
            else:
                continue
            # Each room on its own: one that fails (a post's progress, the database) must not starve the others.
            await _guarded(f"push to {room}", functools.partial(self._push, room, state, read))

    @staticmethod
    async def _progress(post_id: int) -> Figures | None:
        progress = await asyncio.to_thread(read_progress, post_id)
        return None if progress is None else {"progress": progress}

    async def _push(self, room: str, state: str, read: Callable[[], Awaitable[Figures | None]]) -> None:
        values = await read()
        if values is None:
            return
        encoded = json.dumps(values, sort_keys=True, default=str)
        members = self.rooms.members(room)
        last = self._sent.get(room)
        if last is not None and last[0] == encoded and members <= last[1]:
            return
        self._sent[room] = (encoded, members)
        await self.rooms.emit(room, state_update(state, values))

    async def watch_queues(self) -> None:
        """Alert admins about long waits (once per incident, whichever process sees it first)."""
        settings = get_settings()
        with session_scope() as session:
            opened = await check_long_waits(
                self.store, session, settings=settings, queues=names.QUEUES, transport=SmtpTransport(settings)
            )
        if not opened:
            return
        # After the commit, so each admin tab re-reads an unread count that includes the alert.
        async with open_bus(enabled=settings.live_enabled, url=settings.redis_url) as bus:
            for alert in opened:
                notice = LiveNotice(title=alert.title, body=alert.body, url=QUEUES_PATH)
                await announce(bus, type=names.NOTIFICATION_CREATED, to=[names.ADMINS_ROOM], data=notice)

    async def report_tabs(self) -> None:
        """Publish this process's signed-in tab count for /metrics."""
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.hset(names.BACKEND_TABS, self.backend_id, str(self.rooms.count(names.SIGNED_IN_ROOM)))
        pipe.zadd(names.BACKEND_SEEN, {self.backend_id: time.time()})
        await pipe.execute()

    async def run(self) -> None:
        """Loop for the life of the process; an error costs one round, never the process."""
        interval = get_settings().monitor_interval
        last_watch = last_tabs = 0.0
        while True:
            now = time.monotonic()
            jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = [("push", self.tick)] if self.push else []
            if now - last_watch >= WATCH_SECONDS:
                jobs.append(("long-wait watch", self.watch_queues))
                last_watch = now
            if now - last_tabs >= TABS_SECONDS:
                jobs.append(("tab report", self.report_tabs))
                last_tabs = now
            for name, job in jobs:
                await _guarded(name, job)
            await asyncio.sleep(interval)


async def _guarded(name: str, job: Callable[[], Awaitable[None]]) -> None:
    """Run one piece of a round; an outage is one log line, a bug a traceback, neither ends the loop."""
    try:
        await job()
    except MONITOR_OUTAGES as exc:
        log.warning("monitor %s failed: %s", name, exc)
    except Exception:
        log.exception("monitor %s failed", name)
