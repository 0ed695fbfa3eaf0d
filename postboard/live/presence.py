"""Who is online, agreed by every backend process through Redis.

Each backend process writes the users with a connected tab on it (user id -> since) into
a hash of its own every tick, with an expiry, and marks itself alive in a sorted set.
Readers union the hashes of the processes seen within `PRESENCE_TTL`: a user with tabs on
two processes counts once, with the earlier since; a process that dies drops out when
its heartbeat is older than the TTL (and its hash expires).
"""

import time
from collections.abc import Mapping

from redis.asyncio import Redis

from postboard import names
from postboard.monitor.store import async_reply

# Well under the 30 s a crashed tab may stay listed; a live process writes every second.
PRESENCE_TTL = 10.0


class Presence:
    """This process's online users in Redis, and everyone's."""

    def __init__(self, redis: Redis, *, backend: str | None = None, ttl: float = PRESENCE_TTL) -> None:
        self.redis = redis
        self.backend = backend or names.process_id()
        self.ttl = ttl

    async def publish(self, online: Mapping[int, float], *, now: float | None = None) -> None:
        """Replace this process's online users and renew its heartbeat."""
        now = now or time.time()
        key = names.presence_key(self.backend)
        # One transaction: a reader never sees the hash emptied between the delete and the write.
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        if online:
            pipe.hset(key, mapping={str(user): repr(since) for user, since in online.items()})
            pipe.expire(key, int(self.ttl) + 1)
        pipe.zadd(names.PRESENCE_BACKENDS, {self.backend: now})
        pipe.zremrangebyscore(names.PRESENCE_BACKENDS, "-inf", now - self.ttl)
        await pipe.execute()

    async def withdraw(self) -> None:
        """This process stops: its users are no longer online through it."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(names.presence_key(self.backend))
        pipe.zrem(names.PRESENCE_BACKENDS, self.backend)
        await pipe.execute()

    async def online(self, *, now: float | None = None) -> dict[int, float]:
        """Every user online on any live process, with the earliest since."""
        now = now or time.time()
        backends = await self.redis.zrangebyscore(names.PRESENCE_BACKENDS, now - self.ttl, "+inf")
        if not backends:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for backend in backends:
            pipe.hgetall(names.presence_key(_text(backend)))
        hashes: list[dict[str, str]] = await async_reply(pipe.execute())
        users: dict[int, float] = {}
        for found in hashes:
            for user, since in found.items():
                uid, at = int(user), float(since)
                users[uid] = min(users.get(uid, at), at)
        return users


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
