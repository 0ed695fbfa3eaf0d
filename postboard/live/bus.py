"""Pub/sub port: publish a message, subscribe to a channel (Redis, in-memory, or silent when live is off)."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub


class Bus(Protocol):
    """Publishes text messages on named channels."""

    # False for the silent bus: callers word their receipts by it, they never branch on the setting.
    live: bool

    async def publish(self, channel: str, message: str) -> None:
        """Publish one message."""
        ...


class ClosingBus(Bus, Protocol):
    """A bus holding a connection to close."""

    async def close(self) -> None:
        """Release the connection."""
        ...


class RedisBus:
    """Redis pub/sub."""

    live = True

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_connect_timeout=3, health_check_interval=30)

    async def publish(self, channel: str, message: str) -> None:
        """Publish one message on a Redis channel."""
        await self._redis.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        """Yield an iterator of the channel's messages while subscribed."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        try:
            yield self._messages(pubsub)
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated

    @staticmethod
    async def _messages(pubsub: PubSub) -> AsyncIterator[str]:
        async for item in pubsub.listen():
            if item.get("type") == "message":
                data = item["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


class MemoryBus:
    """Test twin: delivers to in-process subscribers and keeps a log."""

    live = True

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self._queues: dict[str, list[asyncio.Queue[str]]] = defaultdict(list)

    async def publish(self, channel: str, message: str) -> None:
        """Record and deliver one message."""
        self.published.append((channel, message))
        for queue in self._queues[channel]:
            queue.put_nowait(message)

    async def close(self) -> None:
        """Nothing to release; here so the twin stands in for `RedisBus`."""

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        """Yield an iterator of the channel's messages while subscribed."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues[channel].append(queue)

        async def messages() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            self._queues[channel].remove(queue)


class SilentBus:
    """The bus while live push is off (LIVE_ENABLED=false): every message is dropped, nothing connects."""

    live = False

    async def publish(self, channel: str, message: str) -> None:
        """Drop the message."""


@asynccontextmanager
async def open_bus(*, enabled: bool, url: str, connect: Callable[[str], ClosingBus] = RedisBus) -> AsyncIterator[Bus]:
    """The one place the live switch acts for publishers: a connected bus while live, the silent one when off."""
    if not enabled:
        yield SilentBus()
        return
    bus = connect(url)
    try:
        yield bus
    finally:
        await bus.close()
