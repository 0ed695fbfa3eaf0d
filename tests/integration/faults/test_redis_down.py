"""Redis down during 20 publishes: each returns fast and unqueued; with Redis back, the relay delivers them all."""

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from sqlmodel import Session, col, func, select

from postboard.db import make_engine
from postboard.notifications.models import Notification
from postboard.outbox.service import pending_events
from tests.databases import SQLITE_ONLY, Databases
from tests.integration.faults.fanout import (
    FAST_RETRIES,
    SENT,
    email_statuses,
    read_mail,
    scheduler_started,
    seed,
)
from tests.integration.faults.outage import publish_in_subprocess, restart_redis
from tests.integration.pipeline import running_pipeline
from tests.support import eventually, start_redis, stop

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"), SQLITE_ONLY]

OUTAGE_SECONDS = 8


def restarts(log: Path) -> int:
    """How many times taskiq's process manager restarted a dead worker process."""
    return log.read_text().count("is dead. Scheduling reload")


@pytest.mark.expected_traceback(
    r"(?s)Cannot update schedules with source: .*redis\.exceptions\.ConnectionError: Error 111 connecting",
    why="Redis is stopped on purpose: the scheduler logs each schedule read it cannot make until Redis is back",
)
async def test_redis_down_publish_returns_and_relay_delivers_after(
    tmp_path: Path, database: Databases, record_property: Callable[[str, object], None]
) -> None:
    """With Redis down, 20 publishes return fast and unqueued; with Redis back, the relay delivers them all."""
    data_dir = tmp_path / "redis"
    redis_proc, url = start_redis(data_dir)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    procs = [redis_proc]
    try:
        client = Redis.from_url(url)
        # Persist like a production Redis, so the restart on the same data dir keeps queues and groups.
        client.config_set("appendonly", "yes")
        client.close()
        members = 9
        root = tmp_path / "pipeline"
        with running_pipeline(root, url, database=database, env=FAST_RETRIES, scheduler=True) as pipeline:
            engine = make_engine(pipeline.engine_url)
            author = seed(pipeline, members=members)
            assert author.id is not None
            users = members + 1
            await scheduler_started(pipeline)

            stop(redis_proc)
            down_at = time.monotonic()
            outcomes = await publish_in_subprocess(pipeline, author_id=author.id, count=20)
            post_ids = [int(o["post_id"]) for o in outcomes]
            slowest = max(float(o["seconds"]) for o in outcomes)
            assert len(outcomes) == 20
            assert [o["queued_now"] for o in outcomes] == [False] * 20
            assert slowest < 1.0, outcomes
            # Longer than a worker's crash-and-restart cycle: the outage must outlast a restart.
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))

            procs.append(restart_redis(port, data_dir))
            up_at = time.monotonic()

            def delivered() -> bool:
                with Session(engine) as session:
                    notes = session.exec(
                        select(func.count()).select_from(Notification).where(col(Notification.post_id).in_(post_ids))
                    ).one()
                    outbox_left = len(pending_events(session))
                sent = sum(email_statuses(engine, p).get(SENT, 0) for p in post_ids)
                return notes == 20 * users and sent == 20 * members and outbox_left == 0

            assert await eventually(delivered, within=90, interval=0.5), "not delivered after Redis came back"
            recovery = time.monotonic() - up_at
            await asyncio.sleep(1)
            mail = read_mail(pipeline.mailbox)
            restarted = {q: restarts(pipeline.worker_log(q)) for q in pipeline.workers}
            scheduler_alive = pipeline.scheduler is not None and pipeline.scheduler.poll() is None
            figures: dict[str, object] = {
                "slowest_publish_s": round(slowest, 3),
                "down_s": round(up_at - down_at, 2),
                "recovery_s": round(recovery, 2),
                "emails": sum(mail.by_message.values()),
                "duplicates": mail.duplicates,
                "worker_restarts": restarted,
                "scheduler_alive": scheduler_alive,
            }
            record_property("figures", figures)
            print("redis down:", json.dumps(figures))
            assert all(len(mail.for_post(p)) == members for p in post_ids), figures
            assert mail.duplicates == 0, figures
            # The workers wait the outage out; a crash would cut short any job running at the time.
            assert all(p.poll() is None for p in pipeline.workers.values()), figures
            assert set(restarted.values()) == {0}, figures
            # Without the scheduler, delayed retries and the periodic relay would stop for good.
            assert scheduler_alive, figures
            engine.dispose()
    finally:
        for proc in procs:
            stop(proc)
