"""The newest live post each browser tab was there for, kept where every backend process can read it.

A tab whose socket drops comes back on a new socket, maybe on another backend (nginx
moves it when its backend died); that backend reads what the tab had seen and tells it
exactly how many posts it missed. In Redis one key per browser tab, expiring after
`SEEN_TTL` without a change; the in-memory twin serves one process and the unit tests.
"""

from collections import OrderedDict
from collections.abc import Mapping
from typing import Protocol

from redis.asyncio import Redis

from postboard import names

# A tab away longer than this (and no post since) is not told what it missed; its page still reloads the feed.
SEEN_TTL = 7 * 24 * 3600
# Browser tabs the in-memory twin remembers (a few bytes each).
SEEN_KEPT = 20_000


class SeenStore(Protocol):
    """Where the gate keeps the newest post seen per browser tab."""

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        ...

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs."""
        ...


class MemorySeen:
    """One process's memory of it, bounded to the `SEEN_KEPT` most recent tabs."""

    def __init__(self, kept: int = SEEN_KEPT) -> None:
        self.kept = kept
        self.seen: OrderedDict[str, int] = OrderedDict()

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        return self.seen.get(client)

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs."""
        for client, post in seen.items():
            self.seen[client] = post
            self.seen.move_to_end(client)
        while len(self.seen) > self.kept:
            self.seen.popitem(last=False)


class RedisSeen:
    """Every backend's memory of it: one expiring key per browser tab."""

    def __init__(self, redis: Redis, *, ttl: int = SEEN_TTL) -> None:
        self.redis = redis
        self.ttl = ttl

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        found = await self.redis.get(names.seen_key(client))
        return int(found) if found is not None else None

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs (one round trip)."""
        if not seen:
            return
        pipe = self.redis.pipeline(transaction=False)
        for client, post in seen.items():
            pipe.set(names.seen_key(client), post, ex=self.ttl)
        await pipe.execute()
