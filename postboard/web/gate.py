"""The socket gate: which channels each tab of this process is in, by `live.channels`, re-checked every second.

A page load admits the tab (its session channels, no page channels); the page then asks
to enter its own. Every second the gate re-checks every tab's session (`users.access`: from
the database when a sign-out or role change moved the access epoch, else from memory): a tab
whose user was signed out, whose session expired or whose role changed leaves what it may
no longer receive at once, and is told (`changed`) so the page can follow.

The gate also records the newest live post each connected tab was there for (`live.seen`,
in Redis so any backend can read it), so a tab whose socket dropped and came back (same
browser tab, new socket, maybe on another backend) can be told what it missed: one write
per re-check for the whole process, and one per tab that came or left (not one per tab
per post). It is exact for a closed socket to within the one-second re-check; a silent
network cut is noticed at the next ping (REFLEX_SOCKET_INTERVAL), so posts sent just
before such a cut can count as seen.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reflex.state import StateUpdate

from postboard import names
from postboard.db import session_scope
from postboard.errors import OUTAGES
from postboard.live.channels import Viewer, may_receive, session_channels
from postboard.live.seen import MemorySeen, SeenStore
from postboard.users.access import SessionCache
from postboard.users.models import Role
from postboard.users.service import token_hash
from postboard.web.realtime import Rooms, rooms, state_update

log = logging.getLogger(__name__)

SessionReader = Callable[[Sequence[str]], dict[str, tuple[int, Role]]]


# The live sessions among these token hashes, from the database when access may have changed.
read_sessions: SessionReader = SessionCache(session_scope)


@dataclass(slots=True)
class Tab:
    """One signed-in tab: its session, who it is, since when, and the page channels it entered."""

    token_hash: str
    viewer: Viewer
    since: float
    # The browser tab: Reflex's client token, the same across its sockets.
    client: str = ""
    # Page channel -> the author of its post (for `post.{id}`), None for the others.
    page: dict[str, int | None] = field(default_factory=dict)


class Gate:
    """Admits tabs to channels, and takes them out again when their access changes."""

    def __init__(
        self,
        rooms: Rooms,
        *,
        read: SessionReader = read_sessions,
        clock: Callable[[], float] = time.time,
        seen: SeenStore | None = None,
        process: str | None = None,
    ) -> None:
        self.rooms = rooms
        self.tabs: dict[str, Tab] = {}
        self._read = read
        self._clock = clock
        # Sent to a tab whose access changed (set at startup to the root state's handler).
        self.changed: StateUpdate = state_update()
        # The newest post announced live; per browser tab (client token) the newest it was there for
        # (set at startup to the Redis store shared by every backend). Its connected tabs name this
        # process there (a name of this run only: a restart must not speak for the dead run's tabs),
        # and read the newest post it recorded last.
        self.newest_post = 0
        self.seen: SeenStore = seen or MemorySeen()
        self.process = process or f"{names.process_id()}:{uuid.uuid4().hex[:12]}"
        self._recorded = 0
        self._linked: set[str] = set()
        self._returning: dict[str, int] = {}

    async def admit(self, sid: str, *, token: str, viewer: Viewer | None, client: str = "") -> None:
        """A page load: leave the page channels, then be in exactly the viewer's session channels."""
        if not sid:
            return
        await self.rooms.leave(sid, *names.PAGE_ROOMS)
        if viewer is None:
            await self.drop(sid)
            return
        old = self.tabs.get(sid)
        if old is None and client:
            await self._returned(sid, client)
        since = old.since if old is not None and old.viewer.user_id == viewer.user_id else self._clock()
        self.tabs[sid] = Tab(token_hash(token), viewer, since, client)
        await self._settle(sid)

    def note_post(self, post_id: int) -> None:
        """A post went out live to every connected tab."""
        self.newest_post = max(self.newest_post, post_id)

    def missed_since(self, sid: str) -> int | None:
        """For a tab back on a new socket: the newest post it had seen before (None if it is not back)."""
        return self._returning.pop(sid, None)

    async def _returned(self, sid: str, client: str) -> None:
        # A browser tab on a new socket of this process: if it was seen before (here or on another
        # backend), its old socket dropped. The page it loads now shows everything so far.
        # A tab whose backend was killed comes back under a new client token (Reflex still has
        # its old socket on record, `Rooms.came_with`): what it had seen is under the one it had.
        try:
            before = await self.seen.get(client)
            if before is None and (came_with := self.rooms.came_with(sid)) not in ("", client):
                before = await self.seen.get(came_with)
            await self.seen.put({client: self.newest_post})
        except OUTAGES as exc:
            log.warning("newest post seen by a tab not read (%s): it is not told what it missed", exc)
            return
        # The next re-check links it to this process (its record holds the newest post till then).
        self._linked.discard(client)
        if before is not None:
            self._returning[sid] = before

    async def _record_seen(self) -> None:
        # One round trip: this process's newest post, the tabs that came (they now read it), and
        # those that left or stopped answering, frozen at what this process recorded before.
        here = {t.client for s, t in self.tabs.items() if t.client and self.rooms.answering(s)}
        joined, left = here - self._linked, self._linked - here
        try:
            await self.seen.record(
                self.process, self.newest_post, joined=joined, left=dict.fromkeys(left, self._recorded)
            )
        except OUTAGES as exc:
            log.warning("newest post seen by %s tab(s) not recorded (%s)", len(here), exc)
            return
        self._linked, self._recorded = here, self.newest_post

    async def enter(self, sid: str, channel: str, *, post_author: int | None = None) -> bool:
        """Put an admitted tab into one of its page's channels, if its viewer may receive it."""
        tab = self.tabs.get(sid)
        if tab is None or not may_receive(tab.viewer, channel, post_author=post_author):
            return False
        tab.page[channel] = post_author
        await self.rooms.join(sid, channel)
        return True

    async def leave(self, sid: str, channel: str) -> None:
        """Take a tab out of one of its page's channels (a panel that closed)."""
        tab = self.tabs.get(sid)
        if tab is not None and channel in tab.page:
            del tab.page[channel]
            await self.rooms.leave(sid, channel, keep=tab.page)

    async def drop(self, sid: str) -> None:
        """Sign-out or a dead session: the tab leaves every channel."""
        self.tabs.pop(sid, None)
        self._returning.pop(sid, None)
        await self.rooms.leave(sid, *names.SESSION_ROOMS, *names.PAGE_ROOMS)

    def online_here(self) -> dict[int, float]:
        """The users with a tab on this process, each with the earliest time one of their tabs came."""
        online: dict[int, float] = {}
        for tab in self.tabs.values():
            user = tab.viewer.user_id
            online[user] = min(online.get(user, tab.since), tab.since)
        return online

    def prune(self) -> None:
        """Forget the tabs whose socket has closed."""
        for sid in [s for s in self.tabs if not self.rooms.connected(s)]:
            del self.tabs[sid]
            self._returning.pop(sid, None)

    async def prune_forever(self, interval: float = 1.0) -> None:
        """With live push off: no channels to re-check, but closed tabs still leave (who is online reads them)."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.prune()
            except Exception:
                log.exception("closed tabs not forgotten")

    async def recheck(self) -> int:
        """Re-read every tab's session; move the tabs whose access changed. Return how many moved."""
        self.prune()
        await self._record_seen()
        if not self.tabs:
            return 0
        asked = {t.token_hash for t in self.tabs.values()}
        found = await asyncio.to_thread(self._read, sorted(asked))
        moved = 0
        for sid, tab in list(self.tabs.items()):
            if tab.token_hash not in asked:
                continue  # admitted while the sessions were read: the next re-check has it
            now = found.get(tab.token_hash)
            viewer = Viewer(*now) if now is not None else None
            if viewer == tab.viewer:
                continue
            if viewer is None:
                await self.drop(sid)
            else:
                tab.viewer = viewer
                await self._settle(sid)
            await self.rooms.emit(sid, self.changed)
            moved += 1
        return moved

    async def run(self, interval: float = 1.0) -> None:
        """Re-check for the life of the process."""
        while True:
            await asyncio.sleep(interval)
            try:
                moved = await self.recheck()
            except OUTAGES as exc:
                log.warning("channel re-check skipped (%s)", exc)
            except Exception:
                log.exception("channel re-check failed")
            else:
                if moved:
                    log.info("channel access changed for %s tab(s)", moved)

    async def _settle(self, sid: str) -> None:
        tab = self.tabs[sid]
        wanted = session_channels(tab.viewer)
        await self.rooms.leave(sid, *names.SESSION_ROOMS, keep=wanted)
        for channel, author in list(tab.page.items()):
            if not may_receive(tab.viewer, channel, post_author=author):
                del tab.page[channel]
                await self.rooms.leave(sid, channel, keep=tab.page)
        await self.rooms.join(sid, *wanted)


def viewer_of(user_id: int, role: str) -> Viewer | None:
    """The viewer of a signed-in tab (None when nobody is signed in)."""
    return Viewer(user_id, Role(role)) if user_id else None


gate = Gate(rooms)
