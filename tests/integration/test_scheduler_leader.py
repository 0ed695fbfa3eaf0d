"""Two real `taskiq scheduler` processes: only the lease holder sends; kill -9 it and the other takes over."""

import json
import os
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from taskiq import ScheduledTask
from taskiq_redis import ListRedisScheduleSource

from postboard import names
from postboard.dev.services import scheduler_command
from postboard.settings import ROOT
from tasks.brokers import labels
from tests.databases import SQLITE_ONLY, Databases
from tests.integration.pipeline import Pipeline, running_pipeline
from tests.support import eventually, stop

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"), SQLITE_ONLY]

# A 3 s lease: a standby takes over within about 4 s of the leader's death.
FAST_LEASE = {"SCHEDULER_LEASE_SECONDS": "3", "SCHEDULER_INTERVAL": "1"}
PROBE, SENTINEL, RELAY = "probe_retry", "probe_sentinel", "relay_outbox"
STREAM = names.stream_key(names.NOTIFICATIONS_QUEUE)


def start_scheduler(pipeline: Pipeline, name: str) -> subprocess.Popen[bytes]:
    """Start one real scheduler, as `make dev` would, logging to `{name}.log`."""
    return subprocess.Popen(
        scheduler_command(update_interval=1),
        cwd=ROOT,
        env=pipeline.env,
        stdout=(pipeline.logs / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def log_of(pipeline: Pipeline, name: str) -> str:
    """What one scheduler logged so far."""
    path = pipeline.logs / f"{name}.log"
    return path.read_text() if path.exists() else ""


def sent(redis: "Redis[bytes]") -> list[tuple[int, str, list[Any]]]:
    """Every job the schedulers put on the notifications stream: (ms since epoch, task name, args)."""
    out = []
    for entry_id, fields in redis.xrange(STREAM):
        message = json.loads(fields[b"data"])
        out.append((int(entry_id.decode().split("-")[0]), message["task_name"], message["args"]))
    return out


def leader_pid(redis: "Redis[bytes]") -> int | None:
    """The pid in the lease holder's token (host:pid:nonce), if someone holds it."""
    token = redis.get(names.SCHEDULER_LEADER)
    return int(token.decode().split(":")[1]) if token else None


async def schedule_batch(redis_url: str, tag: str, *, count: int, due_in: float) -> None:
    """Add `count` one-off retries due in `due_in` seconds and a sentinel due 3 s after them."""
    source = ListRedisScheduleSource(redis_url, prefix=names.SCHEDULE_PREFIX)
    due = datetime.now(UTC) + timedelta(seconds=due_in)
    route = labels(names.NOTIFICATIONS_QUEUE)
    for i in range(count):
        await source.add_schedule(ScheduledTask(task_name=PROBE, labels=route, args=[tag, i], kwargs={}, time=due))
    later = due + timedelta(seconds=3)
    await source.add_schedule(ScheduledTask(task_name=SENTINEL, labels=route, args=[tag], kwargs={}, time=later))
    await source.shutdown()


def probes(redis: "Redis[bytes]", tag: str) -> Counter[int]:
    """How many times each probe of a batch was sent."""
    return Counter(int(args[1]) for _ms, task, args in sent(redis) if task == PROBE and args[0] == tag)


def fired(redis: "Redis[bytes]", tag: str) -> bool:
    """The batch's sentinel was sent: any probe a second scheduler would also send has been sent by now."""
    return any(task == SENTINEL and args == [tag] for _ms, task, args in sent(redis))


async def test_two_schedulers_send_each_retry_once_and_a_standby_takes_over(
    tmp_path: Path, redis_url: str, database: Databases
) -> None:
    """Two schedulers: each delayed retry and each periodic run is sent once; kill -9 the leader, the other sends."""
    with running_pipeline(tmp_path, redis_url, database=database, env=FAST_LEASE, queues=()) as pipeline:
        redis = Redis.from_url(redis_url)
        first = start_scheduler(pipeline, "scheduler-a")
        assert await eventually(lambda: "is the leader" in log_of(pipeline, "scheduler-a"), within=60)
        second = start_scheduler(pipeline, "scheduler-b")
        try:
            assert await eventually(lambda: "is standby" in log_of(pipeline, "scheduler-b"), within=60)
            assert leader_pid(redis) == first.pid

            await schedule_batch(redis_url, "both-up", count=20, due_in=2)
            assert await eventually(lambda: fired(redis, "both-up"), within=30), sent(redis)
            assert probes(redis, "both-up") == Counter(range(20)), "a delayed retry was sent twice, or not at all"
            relays = [ms for ms, task, _args in sent(redis) if task == RELAY]
            # The periodic relay runs every 30 s; two schedulers sending it would start within a second.
            assert relays, "the leader never sent the periodic relay"
            assert all(b - a > 20_000 for a, b in pairwise(relays)), relays
            assert "Sending task" not in log_of(pipeline, "scheduler-b")

            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            killed_ms = int(redis.time()[0]) * 1000
            await schedule_batch(redis_url, "after-kill", count=20, due_in=1)
            assert await eventually(lambda: leader_pid(redis) == second.pid, within=30), "the standby never took over"
            assert await eventually(lambda: fired(redis, "after-kill"), within=30), log_of(pipeline, "scheduler-b")
            assert probes(redis, "after-kill") == Counter(range(20))
            # The new leader runs the periodic jobs too, from the moment it leads.
            assert await eventually(
                lambda: any(ms >= killed_ms for ms, task, _args in sent(redis) if task == RELAY), within=30
            )

            stop(second)  # SIGTERM: a clean stop gives the lease up at once
            assert redis.get(names.SCHEDULER_LEADER) is None
            assert "released the lease" in log_of(pipeline, "scheduler-b")
        finally:
            for proc in (first, second):
                stop(proc)
            redis.close()
