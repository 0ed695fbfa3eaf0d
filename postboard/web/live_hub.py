"""One Redis subscription per backend process: each live envelope goes to the socket channels it names.

`post.created` goes to every signed-in tab as one update, encoded once: the recent live posts
(from which the page derives the feed rows and the badge) and a toast. `notification.created`
goes to user or admin channels: a toast, and each tab re-reads its exact unread count.
`resource.changed` is coalesced per channel and kind (at most one push a second) and makes the
pages watching that kind re-read what they show (seed 004's global subscriber). No tab's state
is loaded or saved here (STACK-NOTES: that is what costs 0.5–1 s at 1,000 tabs).
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventCallback
from reflex.state import StateUpdate

from postboard import names
from postboard.errors import OUTAGES
from postboard.live.bus import RedisBus
from postboard.live.messages import Envelope, LiveNotice, LivePost, ResourceChanged
from postboard.settings import get_settings
from postboard.web.realtime import Rooms, state_update
from postboard.web.watchers import Watchers

log = logging.getLogger(__name__)

# Re-reads posts by id for the live buffer: a post missing from the answer is gone (deleted).
PostReader = Callable[[list[int]], dict[int, LivePost]]
PUSH_EVERY = 1.0


class _Pending:
    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.many = False

    def add(self, change: ResourceChanged) -> None:
        self.ids.update(change.ids)
        self.many = self.many or not change.ids


class LiveHub:
    """Follows the live channel and pushes each envelope into the channels it is for."""

    def __init__(
        self,
        rooms: Rooms,
        *,
        state: str,
        refresh_unread: EventCallback[()],
        watchers: Watchers | None = None,
        read_posts: PostReader | None = None,
        on_post: Callable[[int], None] | None = None,
    ) -> None:
        self.rooms = rooms
        # The root state holding `live_posts`, and the event that makes a tab re-read its unread count.
        self.state = state
        self.refresh_unread = refresh_unread
        self.watchers = watchers or Watchers()
        self.read_posts = read_posts
        # Told each post id once it went out (the gate keeps what connected tabs have seen).
        self.on_post = on_post
        self.recent: deque[dict[str, Any]] = deque(maxlen=get_settings().live_buffer)
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._pushed: dict[tuple[str, str], float] = {}

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

    async def notify(self, notice: LiveNotice, to: list[str]) -> None:
        """Send a notice to the tabs of its channels: a toast, and each tab re-reads its exact unread count."""
        toast = rx.toast.info(notice.title, description=notice.body[:200], duration=8000, close_button=True)
        update = state_update(events=[toast, self.refresh_unread, *self.watchers.user_events("notifications")])
        for room in to:
            await self.rooms.emit(room, update)

    def changed(self, change: ResourceChanged, to: list[str]) -> None:
        """Note rows that changed; `flush` pushes them."""
        for room in to:
            self._pending.setdefault((room, change.kind), _Pending()).add(change)

    async def flush(self, now: float | None = None) -> int:
        """Push the noted changes whose channel was not pushed in the last second; return how many went."""
        now = time.monotonic() if now is None else now
        due = [key for key in self._pending if now - self._pushed.get(key, -PUSH_EVERY) >= PUSH_EVERY]
        for key in due:
            pending = self._pending.pop(key)
            self._pushed[key] = now
            room, kind = key
            ids = [] if pending.many else sorted(pending.ids)
            await self._push_change(room, kind, ids)
        return len(due)

    async def handle(self, raw: str) -> None:
        """Route one envelope by its type."""
        try:
            envelope = Envelope.model_validate_json(raw)
            if envelope.type == names.POST_CREATED:
                await self._deliver_to(LivePost.model_validate(envelope.data), envelope.to)
            elif envelope.type == names.NOTIFICATION_CREATED:
                await self.notify(LiveNotice.model_validate(envelope.data), envelope.to)
            elif envelope.type == names.RESOURCE_CHANGED:
                self.changed(ResourceChanged.model_validate(envelope.data), envelope.to)
            else:
                log.warning("ignoring live message of unknown type %r", envelope.type)
        except ValidationError:
            log.warning("ignoring malformed live message: %.200s", raw)

    async def run(self) -> None:
        """Follow the live channel and push coalesced changes, for the life of the process."""
        await asyncio.gather(self._follow(), self._flush_forever())

    async def _deliver_to(self, post: LivePost, to: list[str]) -> None:
        update = self.build_update(post)
        for room in to:
            await self.rooms.emit(room, update)
        if self.on_post is not None:
            self.on_post(post.id)

    async def _push_change(self, room: str, kind: str, ids: list[int]) -> None:
        if names.user_of_room(room) is not None:
            events = [self.refresh_unread, *self.watchers.user_events(kind)]
            await self.rooms.emit(room, state_update(events=events))
            return
        prefix = f"{room}."
        for watching in self.rooms.occupied([prefix]):
            reload = self.watchers.page_reload(kind, watching.removeprefix(prefix))
            if reload is not None:
                await self.rooms.emit(watching, state_update(events=[reload(ids)]))
        if kind == "posts" and self.read_posts is not None:
            await self._refresh_recent(ids)

    async def _refresh_recent(self, ids: list[int]) -> None:
        # Edited or deleted posts in the live buffer: the feed rows and badge derive from it.
        shown = [int(p["id"]) for p in self.recent]
        wanted = [i for i in shown if not ids or i in ids]
        if not wanted or self.read_posts is None:
            return
        fresh = await asyncio.to_thread(self.read_posts, wanted)
        kept: list[dict[str, Any]] = []
        for item in self.recent:
            post_id = int(item["id"])
            if post_id not in wanted:
                kept.append(item)
            elif post_id in fresh:
                kept.append(fresh[post_id].model_dump())
        self.recent = deque(kept, maxlen=self.recent.maxlen)
        await self.rooms.emit(names.SIGNED_IN_ROOM, state_update(self.state, {"live_posts": list(self.recent)}))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(PUSH_EVERY / 4)
            try:
                await self.flush()
            except Exception:
                log.exception("live changes not pushed")

    async def _follow(self) -> None:
        delay = 0.5
        while True:
            bus = RedisBus(get_settings().redis_url)
            try:
                async with bus.subscribe(names.LIVE_CHANNEL) as messages:
                    delay = 0.5
                    async for raw in messages:
                        await self._handle_one(raw)
            except OUTAGES as exc:
                # Redis down or restarting: expected, so no traceback; retry with backoff.
                log.warning("live subscription lost (%s); retrying in %.1fs", exc, delay)
            except Exception:
                log.exception("live subscription failed; retrying in %.1fs", delay)
            finally:
                await bus.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _handle_one(self, raw: str) -> None:
        try:
            await self.handle(raw)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live message not delivered: %.200s", raw)
