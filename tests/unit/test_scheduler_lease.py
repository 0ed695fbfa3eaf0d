"""The scheduler lease against a real Redis: one leader, standbys see no schedules, a lapsed lease is taken over."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from taskiq import BrokerMessage, InMemoryBroker, ScheduledTask, ScheduleSource
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.exceptions import ScheduledTaskCancelledError

from postboard import names
from tasks.leader import LeaderLease, LeaderOnlySource, LeaderScheduler
from tests.support import eventually


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A scratch Redis database of the session's server."""
    client = Redis.from_url(os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/7")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


class OneSchedule(ScheduleSource):
    """A source holding one due schedule."""

    async def get_schedules(self) -> list[ScheduledTask]:
        return [ScheduledTask(task_name="t", labels={}, args=[], kwargs={}, time=datetime.now(UTC))]


def lease(redis: Redis, ttl: float = 2.0) -> LeaderLease:
    return LeaderLease(redis, ttl=ttl, cooldown=1.0)


async def test_one_leads_and_the_other_stands_by_until_the_lease_is_released(redis: Redis) -> None:
    first, second = lease(redis), lease(redis)
    assert await first.refresh()
    assert not await second.refresh()
    assert await first.refresh(), "the holder renews its own lease"
    assert (await redis.get(names.SCHEDULER_LEADER)).decode() == first.token
    await first.release()
    assert not first.is_leader()
    assert await second.refresh()


async def test_a_standby_sees_no_schedules_and_may_not_send(redis: Redis) -> None:
    leader, standby = lease(redis), lease(redis)
    await leader.refresh()
    await standby.refresh()
    task = (await OneSchedule().get_schedules())[0]
    assert len(await LeaderOnlySource(OneSchedule(), leader).get_schedules()) == 1
    assert await LeaderOnlySource(OneSchedule(), standby).get_schedules() == []
    with pytest.raises(ScheduledTaskCancelledError):
        await LeaderOnlySource(OneSchedule(), standby).pre_send(task)


async def test_a_leader_that_stops_renewing_stops_leading_and_a_standby_takes_over(redis: Redis) -> None:
    stalled, standby = lease(redis), lease(redis)
    await stalled.refresh()
    assert await eventually(lambda: not stalled.is_leader(), within=5), "a lapsed lease still counts as held"
    assert await eventually(standby.refresh, within=5)
    assert not await stalled.refresh(), "the old leader must not renew a lease someone else holds"
    # Having lost it, it does not contend again during its cool-down, even when the lease is free.
    await standby.release()
    assert not await stalled.refresh()


class RedisDownBroker(InMemoryBroker):
    """A broker whose queue refuses every job, like a Redis that went away."""

    async def kick(self, message: BrokerMessage) -> None:
        raise RedisConnectionError("Error 111 connecting")


async def test_a_leader_that_cannot_send_steps_down_then_leads_again(redis: Redis) -> None:
    held = lease(redis)
    scheduler = LeaderScheduler(RedisDownBroker(), [OneSchedule()], held)
    await held.refresh()
    source = scheduler.sources[0]
    task = (await source.get_schedules())[0]
    await scheduler.on_ready(source, task)  # logged, not raised: the loop's task must not die
    assert not held.is_leader()
    assert await source.get_schedules() == [], "a stepped-down scheduler must forget what it marked sent"
    assert not await held.refresh(), "it waits one cool-down before leading again"
    assert await eventually(held.refresh, within=5), "its own lease is still there to renew"


async def test_a_schedule_read_cancelled_by_the_stop_raises_nothing_and_a_finished_one_is_taken() -> None:
    loop = SchedulerLoop(LeaderScheduler(InMemoryBroker(), [], LeaderLease(Redis(), ttl=6, cooldown=1)))
    read = asyncio.create_task(asyncio.sleep(10, result=[]))
    read.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await read
    # Called as the task's done-callback by taskiq; taskiq's own raised CancelledError here.
    loop._update_schedules_task_future_callback(read)
    assert loop.scheduled_tasks == []
    done = asyncio.create_task(asyncio.sleep(0, result=[(OneSchedule(), [])]))
    await done
    loop._update_schedules_task_future_callback(done)
    assert len(loop.scheduled_tasks) == 1
