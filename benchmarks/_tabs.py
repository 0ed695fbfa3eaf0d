"""Simulated browser tabs: python-socketio clients speaking Reflex's wire protocol.

A tab connects the way `state.js` `connect()` does: websocket transport only, the
session token in the query string, the page's `hydrate_and_load` event and the state
schema hash in the socket.io CONNECT packet's auth (`bootAuth`), and the tab's cookies
(here `pb_session`) on the websocket upgrade request, where Reflex's `router_data`
headers come from. Each tab timestamps a live-post update as soon as Engine.IO has
read its packet, before socket.io would decode it, and reports it to an `Inbox`.
"""

import asyncio
import re
import time
import uuid
from collections import defaultdict
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
    """What the compiled frontend sends on connect (as `_boot.py` computes it)."""

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
        # The newest post leads the list (the hub prepends it), its id first.
        self._newest_id = re.compile(rf'"{re.escape(live_key)}"\s*:\s*\[\s*\{{\s*"id"\s*:\s*(\d+)')
        self.times: dict[int, list[float]] = defaultdict(list)
        self.sizes: dict[int, int] = {}
        # Sockets the server closed or that dropped while the benchmark still wanted them.
        self.drops = 0
        self.closing = False
        self._complete: dict[int, asyncio.Event] = {}
        self._wanted: dict[int, int] = {}

    def expect(self, post_id: int, tabs: int | None = None) -> asyncio.Event:
        """Return an event set once every tab (or the first `tabs` connected) has received post `post_id`."""
        self._wanted[post_id] = self.tabs if tabs is None else tabs
        return self._complete.setdefault(post_id, asyncio.Event())

    def take(self, packet: str, stamp: float) -> bool:
        """Record a raw socket.io "event" packet if it carries a new live post; say whether it did."""
        match = self._newest_id.search(packet) if self.live_key in packet else None
        if match is None:
            return False
        post_id = int(match[1])
        received = self.times[post_id]
        received.append(stamp)
        self.sizes[post_id] = len(packet.encode())
        if len(received) == self._wanted.get(post_id, self.tabs) and post_id in self._complete:
            self._complete[post_id].set()
        return True


class _StampingEngineIO(engineio.AsyncClient):
    """An Engine.IO client that times live updates as soon as it has read their packet.

    A live update is recorded and not decoded further: what a page does with it is not
    part of the push latency, and decoding 1,000 copies in this one process would delay
    the reading of the other tabs' sockets. Every other packet goes on to socket.io.
    """

    def __init__(self, *, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox

    async def _receive_packet(self, pkt: eio_packet.Packet) -> None:
        stamp, data = time.perf_counter(), pkt.data
        if (
            pkt.packet_type == eio_packet.MESSAGE
            and isinstance(data, str)
            and data.startswith(_EVENT_PREFIX)
            and self.inbox.take(data, stamp)
        ):
            return
        await super()._receive_packet(pkt)


class _TabClient(socketio.AsyncClient):
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
        inbox=inbox,
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

    @client.on("disconnect", namespace=NAMESPACE)
    def _dropped(*_: Any) -> None:
        if not inbox.closing:
            inbox.drops += 1

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
