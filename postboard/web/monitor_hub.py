"""Pushes the queue monitor and post progress bars to the tabs watching them; runs the long-wait watch.

One loop per backend process. Each `MONITOR_INTERVAL` it reads the figures once for all
watching tabs of this process and sends an update only when they changed: the browser
never polls. Every `WATCH_SECONDS` it checks for long waits, so alerts go out even when
no admin has the monitor open; every few seconds it reports its tab count for /metrics.
"""

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from reflex.constants.state import FIELD_MARKER
from reflex.state import StateUpdate

from postboard import flows, names
from postboard.db import session_scope
from postboard.errors import NotFound
from postboard.mail.transport import SmtpTransport
from postboard.monitor.alerts import check_long_waits
from postboard.monitor.snapshot import build_snapshot
from postboard.monitor.store import JobStore
from postboard.settings import get_settings
from postboard.web.live_hub import LiveHub, hub

log = logging.getLogger(__name__)

QUEUES_ROOM = "postboard:queues"
POST_ROOM = "postboard:post:"
WATCH_SECONDS = 15.0
TABS_SECONDS = 5.0
BACKEND_ID = f"{socket.gethostname()}:{os.getpid()}"


def progress_payload(progress: flows.PostProgress) -> dict[str, int]:
    """The progress bar's figures."""
    return {
        "audience": progress.audience,
        "emailed": progress.emailed,
        "failed": progress.failed,
        "retrying": progress.retrying,
        "pending": progress.pending,
        "in_app": progress.in_app,
        "done": int(progress.done),
    }


def read_progress(post_id: int) -> dict[str, int] | None:
    """Read one post's progress from the database (None if the post is gone)."""
    try:
        with session_scope() as session:
            return progress_payload(flows.post_progress(session, post_id=post_id))
    except NotFound:
        return None


class MonitorHub:
    """The periodic pusher of one backend process."""

    def __init__(self, live: LiveHub) -> None:
        self.live = live
        self.queues_state = ""
        self.post_state = ""
        self._last: dict[str, str] = {}
        self._store: JobStore | None = None

    @property
    def store(self) -> JobStore:
        """This process's monitor store."""
        if self._store is None:
            self._store = JobStore.from_url(get_settings().redis_url)
        return self._store

    async def watch(self, sid: str, room: str) -> None:
        """Let a tab receive a room's updates (and forget what it was last sent)."""
        if self.live.sio is not None and sid:
            await self.live.sio.enter_room(sid, room, namespace=self.live.namespace)
            self._last.pop(room, None)

    async def unwatch_all(self, sid: str) -> None:
        """Stop a tab receiving monitor and progress updates (every page load starts clean)."""
        if self.live.sio is None or not sid:
            return
        for room in self.live.sio.rooms(sid, namespace=self.live.namespace):
            if room == QUEUES_ROOM or str(room).startswith(POST_ROOM):
                await self.live.sio.leave_room(sid, room, namespace=self.live.namespace)

    def watched_rooms(self) -> list[str]:
        """Rooms of this process that have at least one tab in them."""
        if self.live.sio is None:
            return []
        rooms = self.live.sio.manager.rooms.get(self.live.namespace, {})
        return [r for r, members in rooms.items() if isinstance(r, str) and r.startswith("postboard:") and members]

    async def snapshot(self) -> dict[str, Any]:
        """Build the queue monitor's figures now."""
        settings = get_settings()
        thresholds = {q: settings.long_wait_threshold(q) for q in names.QUEUES}
        return await build_snapshot(self.store, queues=names.QUEUES, thresholds=thresholds)

    async def tick(self) -> None:
        """Send each watched room its figures if they changed."""
        for room in self.watched_rooms():
            if room == QUEUES_ROOM:
                await self._push(room, self.queues_state, self.snapshot)
            elif room.startswith(POST_ROOM) and room[len(POST_ROOM) :].isdigit():
                post_id = int(room[len(POST_ROOM) :])
                await self._push(room, self.post_state, lambda p=post_id: self._progress(p))

    @staticmethod
    async def _progress(post_id: int) -> dict[str, Any] | None:
        progress = await asyncio.to_thread(read_progress, post_id)
        return None if progress is None else {"progress": progress}

    async def _push(self, room: str, state: str, read: Callable[[], Awaitable[dict[str, Any] | None]]) -> None:
        values = await read()
        if values is None or self.live.sio is None:
            return
        encoded = json.dumps(values, sort_keys=True, default=str)
        if self._last.get(room) == encoded:
            return
        self._last[room] = encoded
        update = StateUpdate(delta={state: {f"{var}{FIELD_MARKER}": value for var, value in values.items()}})
        await self.live.sio.emit("event", update, room=room, namespace=self.live.namespace)

    async def watch_queues(self) -> None:
        """Alert admins about long waits (once per incident, whichever process sees it first)."""
        settings = get_settings()
        with session_scope() as session:
            await check_long_waits(
                self.store, session, settings=settings, queues=names.QUEUES, transport=SmtpTransport(settings)
            )

    async def report_tabs(self) -> None:
        """Publish this process's signed-in tab count for /metrics."""
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.hset(names.BACKEND_TABS, BACKEND_ID, self.live.tab_count())
        pipe.zadd(names.BACKEND_SEEN, {BACKEND_ID: time.time()})
        await pipe.execute()

    async def run(self) -> None:
        """Loop for the life of the process; an error costs one round, never the process."""
        interval = get_settings().monitor_interval
        last_watch = last_tabs = 0.0
        while True:
            now = time.monotonic()
            jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = [("push", self.tick)]
            if now - last_watch >= WATCH_SECONDS:
                jobs.append(("long-wait watch", self.watch_queues))
                last_watch = now
            if now - last_tabs >= TABS_SECONDS:
                jobs.append(("tab report", self.report_tabs))
                last_tabs = now
            for name, job in jobs:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - Redis or SMTP down: try again next round
                    log.warning("monitor %s failed: %s", name, exc)
            await asyncio.sleep(interval)


monitor = MonitorHub(hub)
