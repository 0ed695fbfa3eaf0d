"""The Redis stream broker, with the two ways taskiq-redis 1.2.2 loses workers fixed."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 5.0


class StreamBroker(RedisStreamBroker):
    """Reads new jobs, then reclaims a dead worker's; survives Redis outages.

    Upstream yields reclaimed jobs while still holding the reclaim lock. A worker whose slots
    are all busy then holds it past `unacknowledged_lock_timeout`; releasing an expired lock
    raises `LockNotOwnedError` and kills the worker. Here the lock covers only XAUTOCLAIM.
    Upstream also lets a Redis connection error end `listen`, which stops the worker.
    """

    # Called (in the background) when Redis answers again after an outage: the outbox relay.
    on_recovered: Callable[[], Awaitable[object]] | None = None
    # Held so the running hook is not garbage-collected.
    _recovery: "asyncio.Task[None] | None" = None

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """Yield new jobs, then jobs idle longer than `idle_timeout`; wait out Redis outages."""
        backoff = 0.5
        down = False
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                try:
                    batch = [*await self._read_new(redis), *await self._reclaim(redis)]
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    # Redis came back empty (no persistence): make the stream and group again.
                    log.warning("queue %s: consumer group missing; creating it", self.queue_name)
                    await self._declare_consumer_group()
                    continue
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    log.warning("queue %s: Redis unreachable (%s); retrying in %.1f s", self.queue_name, exc, backoff)
                    down = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                if down and self.on_recovered is not None:
                    log.info("queue %s: Redis is back", self.queue_name)
                    self._recovery = asyncio.create_task(self._recovered())
                backoff, down = 0.5, False
                for message in batch:
                    yield message

    async def _recovered(self) -> None:
        try:
            await self.on_recovered()  # type: ignore[misc]
        except Exception:
            log.exception("queue %s: recovery hook failed", self.queue_name)

    async def _read_new(self, redis: Redis) -> list[AckableMessage]:
        fetched = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">", **self.additional_streams},  # type: ignore[dict-item]
            block=self.block,
            noack=False,
            count=self.count,
        )
        return [
            AckableMessage(data=msg[b"data"], ack=self._ack_generator(id=msg_id, queue_name=stream))
            for stream, messages in fetched
            for msg_id, msg in messages
        ]

    async def _reclaim(self, redis: Redis) -> list[AckableMessage]:
        claimed: list[AckableMessage] = []
        for stream in [self.queue_name, *self.additional_streams]:
            lock = redis.lock(
                f"autoclaim:{self.consumer_group_name}:{stream}", timeout=self.unacknowledged_lock_timeout
            )
            if not await lock.acquire(blocking=False):
                continue
            try:
                _next, messages, *_deleted = await redis.xautoclaim(
                    name=stream,
                    groupname=self.consumer_group_name,
                    consumername=self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
                )
            finally:
                with contextlib.suppress(LockError):
                    await lock.release()
            if messages:
                log.info("queue %s: reclaimed %s job(s) idle over %s ms", stream, len(messages), self.idle_timeout)
            claimed += [
                AckableMessage(data=msg[b"data"], ack=self._ack_generator(id=msg_id, queue_name=stream))
                for msg_id, msg in messages
                # XAUTOCLAIM returns a nil body for an entry trimmed from the stream.
                if msg
            ]
        return claimed
