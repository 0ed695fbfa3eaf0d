"""One Redis subscription per backend process, fanned out to this process's signed-in tabs.

Every tab receives the same update, encoded once: the recent live posts (from which
the page derives the feed rows and the badge increment) and a toast event. No tab's
state is loaded or saved in the hot loop (STACK-NOTES: that is what costs 0.5–1 s at
1,000 tabs).
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex.event import EventCallback
from reflex.state import StateUpdate

from postboard import names
from postboard.errors import OUTAGES
from postboard.live.bus import RedisBus
from postboard.live.messages import LiveNotice, LivePost
from postboard.settings import get_settings
from postboard.web.realtime import Rooms, state_update

log = logging.getLogger(__name__)


class LiveHub:
    """Follows the live channels and pushes each message into the rooms it is for."""

    def __init__(self, rooms: Rooms, *, state: str, refresh_unread: EventCallback[()]) -> None:
        self.rooms = rooms
        # The root state holding `live_posts`, and the event that makes a tab re-read its unread count.
        self.state = state
        self.refresh_unread = refresh_unread
        self.recent: deque[dict[str, Any]] = deque(maxlen=get_settings().live_buffer)

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
        return state_update(self.state, {"live_posts": list(self.recent)}, [toast])

    async def deliver(self, post: LivePost) -> None:
        """Send one post to every signed-in tab of this process."""
        await self.rooms.emit(names.SIGNED_IN_ROOM, self.build_update(post))

    async def notify(self, notice: LiveNotice) -> None:
        """Send a notice to its users' tabs: a toast, and each tab re-reads its exact unread count."""
        toast = rx.toast.info(notice.title, description=notice.body[:200], duration=8000, close_button=True)
        update = state_update(events=[toast, self.refresh_unread])
        for user_id in notice.user_ids:
            await self.rooms.emit(names.user_room(user_id), update)

    async def run(self) -> None:
        """Follow the posts and notices channels for the life of the process."""
        await asyncio.gather(
            self._follow(names.POSTS_CHANNEL, self._on_post), self._follow(names.NOTICES_CHANNEL, self._on_notice)
        )

    async def _follow(self, channel: str, handle: Callable[[str], Awaitable[None]]) -> None:
        delay = 0.5
        while True:
            bus = RedisBus(get_settings().redis_url)
            try:
                async with bus.subscribe(channel) as messages:
                    delay = 0.5
                    async for raw in messages:
                        await self._handle_one(channel, handle, raw)
            except OUTAGES as exc:
                # Redis down or restarting: expected, so no traceback; retry with backoff.
                log.warning("live subscription to %s lost (%s); retrying in %.1fs", channel, exc, delay)
            except Exception:
                log.exception("live subscription to %s failed; retrying in %.1fs", channel, delay)
            finally:
                await bus.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @staticmethod
    async def _handle_one(channel: str, handle: Callable[[str], Awaitable[None]], raw: str) -> None:
        try:
            await handle(raw)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live message on %s not delivered: %.200s", channel, raw)

    async def _on_post(self, raw: str) -> None:
        try:
            post = LivePost.model_validate_json(raw)
        except ValueError:
            log.warning("ignoring malformed live message: %.200s", raw)
            return
        await self.deliver(post)

    async def _on_notice(self, raw: str) -> None:
        try:
            notice = LiveNotice.model_validate_json(raw)
        except ValueError:
            log.warning("ignoring malformed notice: %.200s", raw)
            return
        await self.notify(notice)
