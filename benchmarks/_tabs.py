"""Simulated browser tabs: python-socketio clients speaking Reflex's wire protocol.

A tab connects the way `state.js` `connect()` does: websocket transport only, the
session token in the query string, the page's `hydrate_and_load` event and the state
schema hash in the socket.io CONNECT packet's auth (`bootAuth`), and the tab's cookies
(here `pb_session`) on the websocket upgrade request, where Reflex's `router_data`
headers come from. Each tab timestamps every "event" packet as Engine.IO hands it
over, before socket.io decodes it, and reports live-post updates to an `Inbox`.
"""

import asyncio
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import engineio
import socketio
from engineio import packet as eio_packet

NAMESPACE = "/_event"
SOCKETIO_PATH = "_event"
# A socket.io EVENT packet in our namespace whose event name is "event".
_EVENT_PREFIX = f'2{NAMESPACE},["event"'
_PAGE = "/"


@dataclass(frozen=True)
class Boot:
    """What the compiled frontend sends on connect (printed by `_boot.py`)."""

    state_name: str
    state_schema: str
    hashes: list[str]
    cookie_var: str
    live_key: str
    reflex_version: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Boot":
        """Build from `_boot.py`'s JSON."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def auth(self, session_token: str) -> dict[str, Any]:
        """Return the CONNECT auth of a first page load of "/" with the session cookie set."""
        event = {
            "name": f"{self.state_name}.hydrate_and_load",
            "payload": {"vars": {self.cookie_var: session_token}, "hashes": self.hashes},
            "router_data": {"pathname": _PAGE, "asPath": _PAGE},
        }
        return {"event": event, "state_schema": self.state_schema}


class Inbox:
    """Receive times and sizes of live-post updates, per post id, across all tabs."""

    def __init__(self, live_key: str, tabs: int) -> None:
        self.live_key, self.tabs = live_key, tabs
        self.times: dict[int, list[float]] = defaultdict(list)
        self.sizes: dict[int, int] = {}
        self._complete: dict[int, asyncio.Event] = {}

    def expect(self, post_id: int) -> asyncio.Event:
        """Return an event set once every tab has received post `post_id`."""
        return self._complete.setdefault(post_id, asyncio.Event())

    def record(self, update: Any, stamp: float, size: int) -> None:
        """Note one tab's receipt of an update, if it carries live posts."""
        post_id = self._newest_post(update)
        if post_id is None:
            return
        received = self.times[post_id]
        received.append(stamp)
        self.sizes[post_id] = size
        if len(received) == self.tabs and post_id in self._complete:
            self._complete[post_id].set()

    def _newest_post(self, update: Any) -> int | None:
        delta = update.get("delta") if isinstance(update, dict) else None
        for substate in (delta or {}).values():
            posts = substate.get(self.live_key) if isinstance(substate, dict) else None
            if posts:
                return int(posts[0]["id"])
        return None


class _StampingEngineIO(engineio.AsyncClient):  # type: ignore[misc]
    """An Engine.IO client that timestamps "event" packets as soon as they are read."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stamps: deque[tuple[float, int]] = deque()

    async def _receive_packet(self, pkt: eio_packet.Packet) -> None:
        data = pkt.data
        if pkt.packet_type == eio_packet.MESSAGE and isinstance(data, str) and data.startswith(_EVENT_PREFIX):
            self.stamps.append((time.perf_counter(), len(data.encode())))
        await super()._receive_packet(pkt)


class _TabClient(socketio.AsyncClient):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return _StampingEngineIO


@dataclass
class Tab:
    """One simulated browser tab of one signed-in user."""

    client: _TabClient
    url: str
    auth: dict[str, Any]

    async def connect(self, wait_timeout: float) -> None:
        """Open the socket and send the hydrate event, as the page does on load."""
        await self.client.connect(
            self.url,
            transports=["websocket"],
            namespaces=[NAMESPACE],
            socketio_path=SOCKETIO_PATH,
            auth=self.auth,
            wait_timeout=wait_timeout,
        )


def make_tab(base_url: str, session_token: str, boot: Boot, inbox: Inbox, http: aiohttp.ClientSession) -> Tab:
    """Build a tab with a fresh client token, carrying `session_token` as its cookie."""
    client = _TabClient(
        reconnection=False,
        handle_sigint=False,
        http_session=http,
        request_timeout=30,
        websocket_extra_options={
            # Passed straight to aiohttp's ws_connect: engineio would move a Cookie
            # given as `headers` into the cookie jar, which skips IP-address hosts.
            "headers": {"Cookie": f"pb_session={session_token}", "Origin": base_url},
            "protocols": (boot.reflex_version,),
        },
    )
    eio: _StampingEngineIO = client.eio

    def on_event(update: Any) -> None:
        stamp, size = eio.stamps.popleft()
        inbox.record(update, stamp, size)

    client.on("event", on_event, namespace=NAMESPACE)
    return Tab(client=client, url=f"{base_url}?token={uuid.uuid4()}", auth=boot.auth(session_token))


def new_http_session() -> aiohttp.ClientSession:
    """Return one HTTP session for all tabs: no connection limit, no cookie jar."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def connect_all(tabs: Sequence[Tab], *, batch: int, wait_timeout: float = 60.0) -> None:
    """Connect tabs `batch` at a time; raise on the first tab that fails."""
    for start in range(0, len(tabs), batch):
        await asyncio.gather(*(tab.connect(wait_timeout) for tab in tabs[start : start + batch]))


async def disconnect_all(tabs: Sequence[Tab]) -> None:
    """Close every tab's socket."""
    await asyncio.gather(*(tab.client.disconnect() for tab in tabs), return_exceptions=True)
