"""The newest live post each browser tab was there for, kept where every backend process can read it.

A tab whose socket drops comes back on a new socket, maybe on another backend (nginx
moves it when its backend died); that backend reads what the tab had seen and tells it
exactly how many posts it missed.

A post must not cost a write per connected tab: a tab still connected does not hold a
number but names its backend process (`@process`), and each process records its own
newest post once per re-check. Only when a tab leaves (its socket closed or stopped
answering) is its own number frozen in. A SIGKILLed process never freezes its tabs, and
they read its last record. In Redis one key per browser tab and one per process,
expiring after `SEEN_TTL` without a change; the in-memory twin serves one process and
the unit tests.
"""

from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from postboard import names

# A tab away longer than this (and no post since) is not told what it missed; its page still reloads the feed.
SEEN_TTL = 7 * 24 * 3600
# Browser tabs the in-memory twin remembers (a few bytes each).
SEEN_KEPT = 20_000
# What a connected tab's record holds before the name of its process.
LINKED = "@"


class SeenStore(Protocol):
    """Where the gate keeps the newest post seen per browser tab."""

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        ...

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs."""
        ...

    async def record(self, process: str, newest: int, *, joined: Collection[str], left: Mapping[str, int]) -> None:
        """A re-check: the process's newest post, its tabs that connected, those that left with what they saw."""
        ...


class MemorySeen:
    """One process's memory of it, bounded to the `SEEN_KEPT` most recent tabs."""

    def __init__(self, kept: int = SEEN_KEPT) -> None:
        self.kept = kept
        self.seen: OrderedDict[str, int | str] = OrderedDict()
        self.processes: dict[str, int] = {}

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        found = self.seen.get(client)
        return self.processes.get(found[len(LINKED) :]) if isinstance(found, str) else found

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs."""
        self._set(seen)

    async def record(self, process: str, newest: int, *, joined: Collection[str], left: Mapping[str, int]) -> None:
        """A re-check: the process's newest post, its tabs that connected, those that left with what they saw."""
        self.processes[process] = newest
        self._set(left)
        self._set(dict.fromkeys(joined, LINKED + process))

    def _set(self, seen: Mapping[str, int | str]) -> None:
        for client, value in seen.items():
            self.seen[client] = value
            self.seen.move_to_end(client)
        while len(self.seen) > self.kept:
            self.seen.popitem(last=False)


class RedisSeen:
    """Every backend's memory of it: one expiring key per browser tab and per backend process."""

    def __init__(self, redis: Redis, *, ttl: int = SEEN_TTL) -> None:
        self.redis = redis
        self.ttl = ttl

    async def get(self, client: str) -> int | None:
        """Return the newest post this browser tab was there for, None if unknown."""
        found = _text(await self.redis.get(names.seen_key(client)))
        if found is not None and found.startswith(LINKED):
            found = _text(await self.redis.get(names.seen_process_key(found[len(LINKED) :])))
        return int(found) if found is not None else None

    async def put(self, seen: Mapping[str, int]) -> None:
        """Record the newest post seen for these browser tabs (one round trip)."""
        if seen:
            pipe = self.redis.pipeline(transaction=False)
            self._freeze(pipe, seen)
            await pipe.execute()

    async def record(self, process: str, newest: int, *, joined: Collection[str], left: Mapping[str, int]) -> None:
        """A re-check: the process's newest post, its tabs that connected, those that left with what they saw.

        One round trip; the process's post is written before the tabs that name it.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(names.seen_process_key(process), newest, ex=self.ttl)
        self._freeze(pipe, left)
        for client in joined:
            pipe.set(names.seen_key(client), LINKED + process, ex=self.ttl)
        await pipe.execute()

    def _freeze(self, pipe: Pipeline, seen: Mapping[str, int]) -> None:
        for client, post in seen.items():
            pipe.set(names.seen_key(client), post, ex=self.ttl)


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
