"""The emails queue served by two worker processes (`taskiq worker --workers 2`): one email each, true figures."""

import os
import signal
from pathlib import Path

import pytest
from redis import Redis

from postboard import names
from postboard.db import make_engine
from postboard.monitor.records import JobStatus
from postboard.monitor.store import WORKER_TTL, JobStore
from tests.databases import SQLITE_ONLY, Databases
from tests.integration.faults.fanout import CHUNK_TASK, SENDING, all_sent, email_statuses, publish_post, read_mail, seed
from tests.integration.faults.fanout import slow_down as slow_sink
from tests.integration.pipeline import Pipeline, drained, running_pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"), SQLITE_ONLY]

# One job at a time per process and 100-recipient chunks: many chunks, so both processes must take some.
GROUP = {"EMAIL_CONCURRENCY": "1", "EMAIL_CHUNK_SIZE": "100"}
# Jobs idle 3 s are reclaimed and a claim lapses after 2 s, so a killed process's chunk is finished quickly.
RECLAIM = {**GROUP, "JOB_IDLE_TIMEOUT_MS": "3000", "SEND_LEASE_SECONDS": "2"}
PROCESSES = 2
EMAILS = names.EMAILS_QUEUE


def consumers(redis_url: str) -> dict[str, int]:
    """The emails group's consumers (named after their worker process) and the jobs each holds unacknowledged."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        rows = client.xinfo_consumers(names.stream_key(EMAILS), names.group_name(EMAILS))
        return {c["name"]: int(c["pending"]) for c in rows}
    finally:
        client.close()


def live_workers(redis_url: str) -> set[str]:
    """Worker processes of the emails queue with a heartbeat younger than the monitor's cut-off."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        now = float(client.time()[0])
        return set(client.zrangebyscore(names.workers_key(EMAILS), now - WORKER_TTL, "+inf"))
    finally:
        client.close()


def start_group(pipeline: Pipeline) -> None:
    """Start the emails worker with two processes, one job at a time each."""
    pipeline.start_worker(EMAILS, processes=PROCESSES, concurrency=1)


async def test_two_email_processes_share_a_fanout_and_the_monitor_counts_both(
    tmp_path: Path, redis_url: str, database: Databases
) -> None:
    """1,000 recipients over two processes: each mailed once, both worked, the monitor says 2 and counts right."""
    audience = 1_000
    queues = (names.NOTIFICATIONS_QUEUE,)
    with running_pipeline(tmp_path, redis_url, database=database, env=GROUP, queues=queues) as pipeline:
        start_group(pipeline)
        engine = make_engine(pipeline.engine_url)
        store = JobStore.from_url(redis_url)
        # 3 ms per message keeps each chunk busy long enough for both processes to hold one at once.
        slow_sink(pipeline.sink, 0.003)
        assert await eventually(lambda: len(live_workers(redis_url)) == PROCESSES, within=30), live_workers(redis_url)
        assert (await store.queue_figures(EMAILS)).workers == PROCESSES

        author = seed(pipeline, members=audience, author_last=True)
        post_id = await publish_post(pipeline, author, "Two processes")

        async def both_busy() -> bool:
            held = consumers(redis_url)
            figures = await store.queue_figures(EMAILS)
            return len([n for n in held.values() if n > 0]) == PROCESSES and figures.in_flight >= PROCESSES

        assert await eventually(both_busy, within=60, interval=0.05), consumers(redis_url)
        assert await eventually(all_sent(engine, post_id, audience), within=120, interval=0.5), email_statuses(
            engine, post_id
        )
        assert await eventually(lambda: drained(redis_url, EMAILS), within=30)

        mail = read_mail(pipeline.mailbox)
        assert len(mail.by_recipient) == audience
        assert set(mail.by_recipient.values()) == {1}, "someone got the post twice"
        assert mail.duplicates == 0
        assert "author@example.com" not in mail.by_recipient

        runs = [r for r in await store.recent(limit=200) if r.queue == EMAILS]
        chunk_runs = [r for r in runs if r.task == CHUNK_TASK]
        workers = live_workers(redis_url)
        # Both processes ran chunks, each under its own id, which is also its heartbeat and its consumer name.
        assert {r.worker for r in chunk_runs} == workers, (workers, {r.worker for r in chunk_runs})
        assert set(consumers(redis_url)) == workers
        assert len(chunk_runs) == len({r.task_id for r in chunk_runs}), "a chunk ran twice"
        assert all(r.status is JobStatus.SUCCEEDED for r in runs)

        figures = await store.queue_figures(EMAILS)
        assert (figures.workers, figures.depth, figures.in_flight) == (PROCESSES, 0, 0)
        assert 0 < figures.per_minute <= len(runs)
        counters = await store.job_counters()
        assert counters[(CHUNK_TASK, EMAILS, JobStatus.SUCCEEDED.value)] == len(chunk_runs)
        assert counters[("send_post_emails", EMAILS, JobStatus.SUCCEEDED.value)] == 1
        series = await store.minute_series(EMAILS, minutes=10)
        assert sum(processed for _m, processed, _f in series) == len(runs) == len(chunk_runs) + 1
        await store.close()
        engine.dispose()


async def test_one_of_two_email_processes_killed_mid_fanout_loses_nothing(
    tmp_path: Path, redis_url: str, database: Databases
) -> None:
    """SIGKILL the process holding a chunk: the other and the restarted one finish; duplicates only in-window."""
    audience = 2_000
    queues = (names.NOTIFICATIONS_QUEUE,)
    with running_pipeline(tmp_path, redis_url, database=database, env=RECLAIM, queues=queues) as pipeline:
        start_group(pipeline)
        engine = make_engine(pipeline.engine_url)
        slow_sink(pipeline.sink, 0.003)
        assert await eventually(lambda: len(live_workers(redis_url)) == PROCESSES, within=30)
        author = seed(pipeline, members=audience, author_last=True)
        post_id = await publish_post(pipeline, author, "One process killed")

        assert await eventually(lambda: pipeline.sink.received >= 400, within=60, interval=0.01)
        holding = [name for name, n in consumers(redis_url).items() if n > 0]
        assert holding, "no process holds a chunk"
        victim = holding[0]
        os.kill(int(victim.rsplit(":", 1)[1]), signal.SIGKILL)
        at_kill = email_statuses(engine, post_id)
        in_window = at_kill.get(SENDING, 0)

        assert await eventually(all_sent(engine, post_id, audience), within=120, interval=0.5), (
            f"statuses {email_statuses(engine, post_id)} (at kill: {at_kill})"
        )
        assert await eventually(lambda: drained(redis_url, EMAILS), within=30)
        mail = read_mail(pipeline.mailbox)
        duplicates = sum(mail.by_recipient.values()) - len(mail.by_recipient)
        log = pipeline.worker_log(EMAILS).read_text()
        print(f"killed {victim}: at kill {at_kill}, duplicates {duplicates}, reclaims {log.count('reclaimed')}")
        assert len(mail.by_recipient) == audience, at_kill
        assert duplicates <= in_window, (duplicates, at_kill)

        # taskiq's parent restarted the killed process; the dead one drops out of the monitor's count.
        async def two_live_without_victim() -> bool:
            live = live_workers(redis_url)
            return len(live) == PROCESSES and victim not in live

        assert await eventually(two_live_without_victim, within=WORKER_TTL + 30), live_workers(redis_url)
        assert "Scheduling reload" in pipeline.worker_log(EMAILS).read_text()
        engine.dispose()
