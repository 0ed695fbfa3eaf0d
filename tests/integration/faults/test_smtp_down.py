"""The SMTP server down mid fan-out (retrying, then sent) and kept down (failed, then Retry sends them)."""

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from postboard.db import make_engine
from postboard.deliveries.log import retry_delivery
from postboard.monitor.records import JobStatus
from postboard.monitor.store import FailedJob, JobStore
from postboard.users.models import User
from tasks.dispatch import TaskiqDispatcher
from tasks.monitor import retry_failed_job
from tests.databases import SQLITE_ONLY
from tests.integration.faults.fanout import (
    CHUNK_TASK,
    FAILED,
    RETRYING,
    SENDING,
    SENT,
    all_sent,
    email_deliveries,
    email_statuses,
    publish_post,
    read_mail,
    seed,
    slow_down,
)
from tests.integration.pipeline import Pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"), SQLITE_ONLY]

RETRY_AUDIENCE = 300


@pytest.fixture(scope="module")
def retry_author(retry_pipeline: Pipeline) -> User:
    """300 members, then their author: three full chunks of 100 recipients (and one holding only the author)."""
    return seed(retry_pipeline, members=RETRY_AUDIENCE, author_last=True)


async def test_smtp_down_mid_fanout_retries_then_sends_all(
    retry_pipeline: Pipeline, retry_author: User, record_property: Callable[[str, object], None]
) -> None:
    """The sink stops mid fan-out: the rest go `retrying` with an error and a time; with it back, all are sent."""
    pipeline = retry_pipeline
    engine = make_engine(pipeline.engine_url)
    slow_down(pipeline.sink, 0.02)
    post_id = await publish_post(pipeline, retry_author, "SMTP goes away")
    assert await eventually(lambda: pipeline.sink.received >= 60, within=30, interval=0.01)
    pipeline.stop_sink()
    in_window = email_statuses(engine, post_id).get(SENDING, 0)

    def waiting() -> bool:
        statuses = email_statuses(engine, post_id)
        return set(statuses) == {SENT, RETRYING} and sum(statuses.values()) == RETRY_AUDIENCE

    assert await eventually(waiting, within=10, interval=0.05), email_statuses(engine, post_id)
    rows = [d for d in email_deliveries(engine, post_id) if d.status == RETRYING]
    pipeline.start_sink()
    assert rows
    assert all(d.error and d.next_attempt_at is not None for d in rows), rows[:3]
    down_clock = time.monotonic()

    assert await eventually(all_sent(engine, post_id, RETRY_AUDIENCE), within=30, interval=0.2), email_statuses(
        engine, post_id
    )
    recovery = time.monotonic() - down_clock
    await asyncio.sleep(1.5)
    mail = read_mail(pipeline.mailbox).for_post(post_id)
    duplicates = sum(mail.values()) - len(mail)
    figures: dict[str, object] = {
        "sent_before_stop": RETRY_AUDIENCE - len(rows),
        "retrying_when_down": len(rows),
        "in_window": in_window,
        "unique": len(mail),
        "duplicates": duplicates,
        "sink_back_to_all_sent_s": round(recovery, 2),
    }
    record_property("figures", figures)
    print("smtp down:", json.dumps(figures))
    assert len(mail) == RETRY_AUDIENCE, figures
    assert duplicates == 0, figures
    engine.dispose()


@pytest.mark.expected_traceback(
    r"tasks\.posts\.DeliveriesFailed: \d+ recipient\(s\) failed for good; last error: SMTPConnectError",
    why="the SMTP server stays down: each chunk job fails for good on purpose, to land in the failed list",
)
async def test_smtp_kept_down_fails_then_manual_retry_sends_all(
    retry_pipeline: Pipeline, retry_author: User, redis_url: str, record_property: Callable[[str, object], None]
) -> None:
    """The sink stays down: every delivery fails after 4 attempts, the chunk jobs show as failed, Retry sends them."""
    pipeline = retry_pipeline
    engine = make_engine(pipeline.engine_url)
    pipeline.stop_sink()
    post_id = await publish_post(pipeline, retry_author, "SMTP stays away")

    assert await eventually(
        lambda: email_statuses(engine, post_id) == {FAILED: RETRY_AUDIENCE}, within=40, interval=0.2
    ), email_statuses(engine, post_id)
    rows = email_deliveries(engine, post_id)
    assert {d.attempts for d in rows} == {4}
    assert all("connect" in (d.error or "").lower() for d in rows), rows[0].error

    store = JobStore.from_url(redis_url)

    async def failed_chunks() -> list[FailedJob]:
        return [j for j in await store.failed() if j.record.task == CHUNK_TASK and j.args[:1] == [post_id]]

    async def three_failed() -> bool:
        return len(await failed_chunks()) >= 3

    await eventually(three_failed, within=10, interval=0.2)
    jobs = await failed_chunks()
    assert sorted(j.args[1] for j in jobs) == [0, 100, 200], [j.args for j in jobs]
    assert all(j.record.status == JobStatus.FAILED for j in jobs)
    assert [j.record.attempt for j in jobs] == [4, 4, 4]

    pipeline.start_sink()
    # One recipient first, from the delivery log: the Retry verb the UI and the API share.
    with pipeline.session() as session:
        retried = await retry_delivery(session, delivery_id=rows[0].id or 0, dispatcher=TaskiqDispatcher())
    assert retried.queued
    assert await eventually(
        lambda: email_statuses(engine, post_id) == {SENT: 1, FAILED: RETRY_AUDIENCE - 1}, within=20, interval=0.2
    ), email_statuses(engine, post_id)
    started = time.monotonic()
    for job in jobs:
        assert await retry_failed_job(store, job.record.task_id)
    assert await eventually(all_sent(engine, post_id, RETRY_AUDIENCE), within=30, interval=0.2), email_statuses(
        engine, post_id
    )
    retry_to_sent = time.monotonic() - started
    assert await failed_chunks() == []
    await store.close()
    await asyncio.sleep(1)
    mail = read_mail(pipeline.mailbox).for_post(post_id)
    figures: dict[str, object] = {
        "failed_jobs": len(jobs),
        "unique": len(mail),
        "emails": sum(mail.values()),
        "retry_to_all_sent_s": round(retry_to_sent, 2),
    }
    record_property("figures", figures)
    print("smtp kept down:", json.dumps(figures))
    assert len(mail) == RETRY_AUDIENCE, figures
    assert max(mail.values()) == 1, figures
    engine.dispose()
