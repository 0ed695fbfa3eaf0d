"""The stream broker against a real Redis: reclaim without holding the lock, and Redis outages survived."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from postboard.dev.services import free_port, redis_command
from tasks.streams import StreamBroker
from tests.support import stop

STREAM, GROUP = "test-stream", "test-group"


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """A scratch Redis database of the session's server."""
    url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/6"
    redis = Redis.from_url(url)
    await redis.flushdb()
    yield url
    await redis.flushdb()
    await redis.aclose()


def _broker(url: str, consumer: str) -> StreamBroker:
    return StreamBroker(
        url=url,
        queue_name=STREAM,
        consumer_group_name=GROUP,
        consumer_name=consumer,
        consumer_id="0",
        idle_timeout=0,
        unacknowledged_lock_timeout=30,
        xread_block=50,
        xread_count=2,
        unacknowledged_batch_size=10,
    )


async def test_reclaimed_jobs_are_yielded_after_the_lock_is_released(url: str) -> None:
    redis = Redis.from_url(url)
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for n in range(3):
        await redis.xadd(STREAM, {b"data": f"job-{n}".encode()})
    # A worker that took the jobs and died: they stay pending under its name.
    await redis.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=10)

    broker = _broker(url, "alive")
    await broker.startup()
    listening = broker.listen()
    got = []
    async for message in listening:
        got.append(message.data)
        assert await redis.exists(f"autoclaim:{GROUP}:{STREAM}") == 0, "reclaim lock held while a job waits"
        await message.ack()
        if len(got) == 3:
            break
    await listening.aclose()
    await broker.shutdown()
    assert sorted(got) == [b"job-0", b"job-1", b"job-2"]
    pending = await redis.xpending(STREAM, GROUP)
    assert pending["pending"] == 0
    await redis.aclose()


async def test_new_jobs_are_fetched_a_few_at_a_time(url: str) -> None:
    redis = Redis.from_url(url)
    broker = _broker(url, "alive")
    await broker.startup()
    for n in range(5):
        await redis.xadd(STREAM, {b"data": f"job-{n}".encode()})
    listening = broker.listen()
    first = await anext(listening)
    # Only `xread_count` jobs are delivered to this worker; the rest stay for other workers.
    pending = await redis.xpending(STREAM, GROUP)
    assert (first.data, pending["pending"]) == (b"job-0", 2)
    await listening.aclose()
    await broker.shutdown()
    await redis.aclose()


async def test_listen_waits_for_redis_instead_of_ending() -> None:
    broker = _broker("redis://127.0.0.1:1/0", "alive")
    listening = broker.listen()
    # A broken connection must not end the generator (that stops the worker): it keeps waiting.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(listening), timeout=1.5)
    await listening.aclose()


def _start_redis(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    cmd = redis_command(port=port, data_dir=data_dir)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


async def test_redis_coming_back_runs_the_recovery_hook(tmp_path: Path) -> None:
    port = free_port()
    broker = _broker(f"redis://127.0.0.1:{port}/0", "alive")
    recovered = asyncio.Event()

    async def hook() -> None:
        recovered.set()

    broker.on_recovered = hook
    listening = broker.listen()
    reading = asyncio.ensure_future(anext(listening))
    await asyncio.sleep(1.0)
    assert not recovered.is_set()
    # An empty Redis: the consumer group must be made again too.
    server = await asyncio.to_thread(_start_redis, port, tmp_path)
    try:
        await asyncio.wait_for(recovered.wait(), timeout=15)
    finally:
        stop(server)
    assert recovered.is_set()
    assert not reading.done(), "listen must keep going after the outage"
    reading.cancel()
