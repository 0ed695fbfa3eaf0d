"""The floor: a bare python-socketio server that fans one Redis message out to a room.

Run as a script by `fanout.py`. Every socket that connects to namespace `/_event` joins
one room; a Redis subscriber in the same process does ONE `sio.emit("event", ...)` to
that room per message, with a payload padded to the byte size the message asks for
(the size of Postboard's update for the same message). It serves `GET /api/health`
like Postboard, so the benchmark can check every tab joined. The server runs under
Granian (ASGI, one worker: what `reflex run --env prod` uses), uvicorn or aiohttp.
"""

import argparse
import asyncio
import gc
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from redis.asyncio import Redis
from socketio import packet

NAMESPACE = "/_event"
SOCKETIO_PATH = "_event"
ROOM = "floor:tabs"
# The substate and var the payload's post list sits under; the tabs look for any
# substate holding the live key, as they do in Postboard's delta.
FLOOR_STATE = "floor"

AsgiApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def encoded_size(payload: dict[str, Any]) -> int:
    """Return the UTF-8 size of the socket.io packet that carries `payload` as an "event"."""
    pkt = packet.Packet(packet.EVENT, namespace=NAMESPACE, data=["event", payload])
    encoded = pkt.encode()
    return len(encoded.encode() if isinstance(encoded, str) else encoded)


def padded_payload(msg_id: int, target_bytes: int, live_key: str) -> dict[str, Any]:
    """Return an update-shaped payload for post `msg_id` whose packet is `target_bytes` long."""
    post: dict[str, Any] = {"id": msg_id, "pad": ""}
    payload: dict[str, Any] = {"delta": {FLOOR_STATE: {live_key: [post]}}, "events": [], "final": True}
    post["pad"] = "x" * max(0, target_bytes - encoded_size(payload))
    return payload


class Floor:
    """The socket server, its room of tabs and its Redis subscription."""

    def __init__(self, *, async_mode: str, redis_url: str, channel: str, live_key: str) -> None:
        self.sio = socketio.AsyncServer(
            async_mode=async_mode,
            cors_allowed_origins="*",
            transports=["websocket"],
            allow_upgrades=False,
            async_handlers=False,
            ping_interval=25,
            ping_timeout=120,
        )
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.redis_url, self.channel, self.live_key = redis_url, channel, live_key
        self.task: asyncio.Task[None] | None = None

    async def on_connect(self, sid: str, _environ: dict[str, Any], _auth: Any = None) -> None:
        """Put every tab in the room as it connects."""
        await self.sio.enter_room(sid, ROOM, namespace=NAMESPACE)

    def tab_count(self) -> int:
        """Return how many tabs are in the room."""
        return sum(1 for _ in self.sio.manager.get_participants(NAMESPACE, ROOM))

    async def start(self) -> None:
        """Start the Redis subscriber."""
        self.task = asyncio.create_task(self.subscribe())

    async def stop(self) -> None:
        """Stop the Redis subscriber."""
        if self.task is not None:
            self.task.cancel()

    async def subscribe(self) -> None:
        """Emit one padded update to the room per message on the channel."""
        redis = Redis.from_url(self.redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        async for item in pubsub.listen():
            if item.get("type") == "message":
                await self.deliver(json.loads(item["data"]))

    async def deliver(self, message: dict[str, int]) -> None:
        """Fan one message out, keeping the collector out of the burst as Postboard's hub does."""
        payload = padded_payload(message["id"], message["bytes"], self.live_key)
        gc.disable()
        try:
            await self.sio.emit("event", payload, room=ROOM, namespace=NAMESPACE)
        finally:
            gc.enable()


def _floor_from_env(async_mode: str) -> Floor:
    return Floor(
        async_mode=async_mode,
        redis_url=os.environ["REDIS_URL"],
        channel=os.environ["FLOOR_CHANNEL"],
        live_key=os.environ["FLOOR_LIVE_KEY"],
    )


def create_asgi_app() -> AsgiApp:
    """Build the ASGI app Granian serves (a factory: Granian imports it in its worker)."""
    floor = _floor_from_env("asgi")

    async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = json.dumps({"status": "ok", "live_tabs": floor.tab_count()}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    app: AsgiApp = socketio.ASGIApp(
        floor.sio,
        other_asgi_app=health,
        socketio_path=SOCKETIO_PATH,
        on_startup=floor.start,
        on_shutdown=floor.stop,
    )
    return app


def serve_granian(port: int, workers: int = 1) -> None:
    """Serve the ASGI app with Granian (one worker by default, as `fanout.py` runs Reflex's prod backend)."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        target="_floor:create_asgi_app",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_level=LogLevels.warning,
    ).serve()


def serve_uvicorn(port: int) -> None:
    """Serve the ASGI app with uvicorn (what Reflex runs, under gunicorn, when `REFLEX_USE_GRANIAN=false`)."""
    import uvicorn

    uvicorn.run(create_asgi_app(), host="127.0.0.1", port=port, log_level="warning")


def serve_aiohttp(port: int) -> None:
    """Serve the same server with aiohttp instead."""
    from aiohttp import web

    floor = _floor_from_env("aiohttp")
    app = web.Application()
    floor.sio.attach(app, socketio_path=SOCKETIO_PATH)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "live_tabs": floor.tab_count()})

    async def on_startup(_app: web.Application) -> None:
        await floor.start()

    app.router.add_get("/api/health", health)
    app.on_startup.append(on_startup)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def main() -> None:
    """Parse the command line and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=("granian", "uvicorn", "aiohttp"), default="granian")
    parser.add_argument("--channel", required=True)
    parser.add_argument("--live-key", default="live_posts_rx_state_")
    parser.add_argument("--workers", type=int, default=1, help="Granian workers (each its own Redis subscriber)")
    args = parser.parse_args()
    os.environ["FLOOR_CHANNEL"], os.environ["FLOOR_LIVE_KEY"] = args.channel, args.live_key
    if args.server == "granian":
        serve_granian(args.port, args.workers)
    elif args.server == "uvicorn":
        serve_uvicorn(args.port)
    else:
        serve_aiohttp(args.port)


if __name__ == "__main__":
    main()
