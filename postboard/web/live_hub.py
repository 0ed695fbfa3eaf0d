"""One Redis subscription per backend process, fanned out to this process's signed-in tabs.

Every tab receives the same update, encoded once: the recent live posts (from which
the page derives the feed rows and the badge increment) and a toast event. No tab's
state is loaded or saved in the hot loop (STACK-NOTES: that is what costs 0.5–1 s at
1,000 tabs).
"""

import asyncio
import gc
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex.constants.state import FIELD_MARKER
from reflex.event import Event
from reflex.state import StateUpdate
from socketio import AsyncServer

from postboard import names
from postboard.live.bus import RedisBus
from postboard.live.messages import LiveNotice, LivePost
from postboard.settings import get_settings

log = logging.getLogger(__name__)

ROOM = "postboard:signed-in"


class LiveHub:
    """Holds this process's socket server and its buffer of recent live posts."""

    def __init__(self) -> None:
        self.sio: AsyncServer | None = None
        self.namespace = "/_event"
        self.state_key = ""
        self.recent: deque[dict[str, Any]] = deque(maxlen=get_settings().live_buffer)

    async def join(self, sid: str, user_id: int) -> None:
        """Let a signed-in tab receive live posts and its user's own notices."""
        if self.sio is not None and sid:
            await self.sio.enter_room(sid, ROOM, namespace=self.namespace)
            await self.sio.enter_room(sid, names.user_room(user_id), namespace=self.namespace)

    async def leave(self, sid: str) -> None:
        """Stop a tab receiving live posts and notices (sign-out)."""
        if self.sio is not None and sid:
            for room in list(self.sio.manager.get_rooms(sid, self.namespace)):
                if room == ROOM or room.startswith(names.USER_ROOM_PREFIX):
                    await self.sio.leave_room(sid, room, namespace=self.namespace)

    def tab_count(self) -> int:
        """Return how many signed-in tabs this process serves."""
        if self.sio is None:
            return 0
        return sum(1 for _ in self.sio.manager.get_participants(self.namespace, ROOM))

    def build_update(self, post: LivePost) -> StateUpdate:
        """Return the one update every tab gets for a post."""
        if all(item["id"] != post.id for item in self.recent):
            self.recent.appendleft(post.model_dump())
        toast = rx.toast.info(
            post.title,
            description=f"{post.author} · {post.excerpt}",
            duration=8000,
            close_button=True,
        )
        return StateUpdate(
            delta={self.state_key: {f"live_posts{FIELD_MARKER}": list(self.recent)}},
            events=Event.from_event_type(toast),
        )

    async def deliver(self, post: LivePost) -> None:
        """Send one post to every signed-in tab of this process."""
        if self.sio is None:
            return
        update = self.build_update(post)
        # A full collection in the middle of a 1,000-socket fan-out costs 170-270 ms
        # and frees nothing: keep the collector out of the burst.
        gc.disable()
        try:
            await self.sio.emit("event", update, room=ROOM, namespace=self.namespace)
        finally:
            gc.enable()

    async def run(self, app: rx.App) -> None:
        """Subscribe to the posts channel for the life of the process, reconnecting on errors."""
        from rxconfig import config

        self.sio = app.sio
        self.namespace = config.get_event_namespace()
        if not get_settings().live_enabled:
            log.info("live push disabled by LIVE_ENABLED=false")
            return
        await asyncio.gather(
            self._follow(names.POSTS_CHANNEL, self._handle), self._follow(names.NOTICES_CHANNEL, self._notice)
        )

    async def _follow(self, channel: str, handle: Callable[[str], Awaitable[None]]) -> None:
        delay = 0.5
        while True:
            bus = RedisBus(get_settings().redis_url)
            try:
                async with bus.subscribe(channel) as messages:
                    delay = 0.5
                    async for raw in messages:
                        await handle(raw)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: retry, never kill the web process
                log.warning("live subscription lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                await bus.close()

    async def _handle(self, raw: str) -> None:
        try:
            post = LivePost.model_validate_json(raw)
        except ValueError:
            log.warning("ignoring malformed live message: %.200s", raw)
            return
        await self.deliver(post)

    async def _notice(self, raw: str) -> None:
        try:
            notice = LiveNotice.model_validate_json(raw)
        except ValueError:
            log.warning("ignoring malformed notice: %.200s", raw)
            return
        if self.sio is None:
            return
        from postboard.web.state import AppState

        toast = rx.toast.info(notice.title, description=notice.body[:200], duration=8000, close_button=True)
        # Each tab re-reads its user's exact unread count (one small query), as a reload would.
        events = [*Event.from_event_type(toast), *Event.from_event_type(AppState.refresh_unread())]
        update = StateUpdate(delta={}, events=events)
        for user_id in notice.user_ids:
            await self.sio.emit("event", update, room=names.user_room(user_id), namespace=self.namespace)


hub = LiveHub()
