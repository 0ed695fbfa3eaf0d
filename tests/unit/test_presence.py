"""Presence in a real Redis: several backend processes agree on who is online."""

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from postboard.live.presence import Presence


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A scratch database of the session's Redis."""
    client = Redis.from_url(os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/8", decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_a_user_with_tabs_on_two_backends_counts_once_with_the_earlier_since(redis: Redis) -> None:
    one, two = Presence(redis, backend="web-1"), Presence(redis, backend="web-2")
    await one.publish({1: 100.0, 2: 150.0}, now=200.0)
    await two.publish({1: 90.0, 3: 180.0}, now=200.0)
    assert await one.online(now=201.0) == {1: 90.0, 2: 150.0, 3: 180.0}
    assert await two.online(now=201.0) == await one.online(now=201.0)


async def test_closing_the_last_tab_takes_the_user_out_at_the_next_write(redis: Redis) -> None:
    one, two = Presence(redis, backend="web-1"), Presence(redis, backend="web-2")
    await one.publish({1: 100.0, 2: 150.0}, now=200.0)
    await two.publish({1: 120.0}, now=200.0)
    await one.publish({2: 150.0}, now=201.0)
    assert await two.online(now=201.5) == {1: 120.0, 2: 150.0}
    await two.publish({}, now=202.0)
    assert await one.online(now=202.5) == {2: 150.0}


async def test_a_backend_that_stops_writing_drops_out_after_the_ttl(redis: Redis) -> None:
    alive, crashed = Presence(redis, backend="web-1", ttl=10.0), Presence(redis, backend="web-2", ttl=10.0)
    await crashed.publish({7: 100.0}, now=100.0)
    await alive.publish({1: 100.0}, now=100.0)
    assert await alive.online(now=105.0) == {1: 100.0, 7: 100.0}
    await alive.publish({1: 100.0}, now=111.0)
    assert await alive.online(now=111.0) == {1: 100.0}
    assert await redis.ttl("postboard:presence:web-2") > 0  # the hash itself expires too


async def test_a_backend_that_shuts_down_withdraws_its_users_at_once(redis: Redis) -> None:
    one, two = Presence(redis, backend="web-1"), Presence(redis, backend="web-2")
    await one.publish({1: 100.0}, now=200.0)
    await two.publish({2: 100.0}, now=200.0)
    await two.withdraw()
    assert await one.online(now=200.5) == {1: 100.0}
