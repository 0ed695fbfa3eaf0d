"""The job monitor against a real Redis: records, queue figures, long-wait alerts, metrics text."""

import email
import email.policy
import os
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlmodel import Session, select

from postboard import names
from postboard.mail.transport import MemoryTransport
from postboard.monitor.alerts import check_long_waits
from postboard.monitor.records import REDACTED, JobRecord, JobStatus
from postboard.monitor.snapshot import build_snapshot, seconds_text
from postboard.monitor.store import JobStore, percentile
from postboard.notifications.models import Notification
from postboard.settings import Settings
from postboard.users.models import Role
from postboard.web.metrics import job_families, queue_families
from tests.factories import make_user


@pytest.fixture
async def store() -> AsyncIterator[JobStore]:
    """A store on a scratch Redis database of the session's server."""
    url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/7"
    redis = Redis.from_url(url, decode_responses=True)
    await redis.flushdb()
    yield JobStore(redis)
    await redis.flushdb()
    await redis.aclose()


def _run(status: JobStatus, *, task_id: str = "t1", queue: str = "emails", runtime: float = 0.2) -> JobRecord:
    now = time.time()
    return JobRecord(
        task_id=task_id,
        task="send_post_email_chunk",
        queue=queue,
        args=[7, 0, 500],
        kwargs={"api_token": "s3cr3t", "note": "x" * 300},
        attempt=4 if status is JobStatus.FAILED else 1,
        max_attempts=4,
        status=status,
        error="SMTPConnectError: refused" if status is not JobStatus.SUCCEEDED else None,
        enqueued_at=now - runtime - 1.5,
        started_at=now - runtime,
        finished_at=now,
    )


async def test_runs_are_recorded_redacted_and_failures_kept_for_retry(store: JobStore) -> None:
    await store.record(_run(JobStatus.SUCCEEDED, task_id="ok"), args=[7, 0, 500], kwargs={})
    failed = _run(JobStatus.FAILED, task_id="bad")
    await store.record(failed, args=failed.args, kwargs=failed.kwargs)
    recent = await store.recent()
    assert [r.task_id for r in recent] == ["bad", "ok"]
    assert recent[0].kwargs["api_token"] == REDACTED
    assert recent[0].kwargs["note"].endswith("…")
    [job] = await store.failed()
    assert job.record.error == "SMTPConnectError: refused"
    assert job.kwargs["api_token"] == "s3cr3t"  # a retry sends the real arguments
    assert await store.discard("bad")
    assert await store.failed() == []
    assert not await store.discard("bad")


async def test_queue_figures_read_the_stream_and_the_group(store: JobStore) -> None:
    stream, group = names.stream_key("emails"), names.group_name("emails")
    await store.redis.xgroup_create(stream, group, id="0", mkstream=True)
    for n in range(5):
        await store.redis.xadd(stream, {"data": f"job {n}"})
    await store.redis.xreadgroup(group, "worker-a", {stream: ">"}, count=2)
    await store.heartbeat("emails", "host:1")
    await store.heartbeat("emails", "host:2", now=time.time() - 60)  # dead: no beat for a minute
    for n in range(4):
        run = _run(JobStatus.SUCCEEDED, task_id=f"r{n}", runtime=0.1 * (n + 1))
        await store.record(run, args=[], kwargs={})
    figures = await store.queue_figures("emails", now=time.time() + 3)
    assert (figures.depth, figures.in_flight, figures.workers) == (3, 2, 1)
    assert 2.5 < figures.oldest_wait < 10
    assert figures.per_minute == 4
    assert figures.run_p50 == pytest.approx(0.2, abs=0.01)
    assert figures.wait_p95 == pytest.approx(1.5, abs=0.05)


async def test_empty_queue_has_no_figures(store: JobStore) -> None:
    figures = await store.queue_figures("notifications")
    assert (figures.depth, figures.in_flight, figures.workers, figures.oldest_wait) == (0, 0, 0, 0.0)


def test_percentile_and_durations_read_well() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert [seconds_text(v) for v in (None, 0.0042, 4.25, 185)] == ["—", "4 ms", "4.2 s", "3 min 5 s"]


async def test_snapshot_has_a_chart_per_queue_and_for_all(store: JobStore) -> None:
    await store.record(_run(JobStatus.SUCCEEDED, task_id="a", queue="emails"), args=[], kwargs={})
    bad = _run(JobStatus.FAILED, task_id="b", queue="notifications")
    await store.record(bad, args=[], kwargs={})
    snap = await build_snapshot(store, queues=names.QUEUES, thresholds={})
    assert [q["queue"] for q in snap["queues"]] == list(names.QUEUES)
    assert len(snap["chart"]["all"]) == 60
    assert snap["chart"]["all"][-1] | {"minute": ""} == {"minute": "", "processed": 1, "failed": 1}
    assert snap["chart"]["emails"][-1]["failed"] == 0
    assert snap["failed_total"] == 1
    assert snap["failed"][0]["attempts"] == "4 of 4"


async def test_long_wait_alerts_admins_once_per_incident(store: JobStore, session: Session) -> None:
    admin = make_user(session, name="Ada", email="ada@example.com", role=Role.ADMIN)
    make_user(session, name="Bob", email="bob@example.com", role=Role.MEMBER)
    stream = names.stream_key("emails")
    await store.redis.xadd(stream, {"data": "old"}, id=f"{int((time.time() - 120) * 1000)}-0")
    settings = Settings(long_wait_by_queue={"emails": 60}, app_url="http://postboard.test")
    mail = MemoryTransport()
    first = await check_long_waits(store, session, settings=settings, queues=names.QUEUES, transport=mail)
    again = await check_long_waits(store, session, settings=settings, queues=names.QUEUES, transport=mail)
    assert [a.queue for a in first] == ["emails"]
    assert again == []
    [note] = session.exec(select(Notification)).all()
    assert note.user_id == admin.id
    assert "emails" in note.title
    assert note.url == "/queues"
    assert [rcpt for rcpt, _ in mail.sent] == ["ada@example.com"]
    body = email.message_from_bytes(mail.sent[0][1], policy=email.policy.default)
    assert "backed up" in str(body["Subject"])
    assert "http://postboard.test/queues" in body.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # Drained, then backed up again: a new incident, a new alert.
    await store.redis.delete(stream)
    assert await check_long_waits(store, session, settings=settings, queues=names.QUEUES, transport=mail) == []
    await store.redis.xadd(stream, {"data": "old"}, id=f"{int((time.time() - 90) * 1000)}-0")
    assert len(await check_long_waits(store, session, settings=settings, queues=names.QUEUES, transport=mail)) == 1
    assert len(mail.sent) == 2


async def test_failed_alert_email_reopens_the_incident(store: JobStore, session: Session) -> None:
    make_user(session, name="Ada", email="ada@example.com", role=Role.ADMIN)
    await store.redis.xadd(names.stream_key("emails"), {"data": "old"}, id=f"{int((time.time() - 120) * 1000)}-0")
    settings = Settings(long_wait_seconds=60)
    with pytest.raises(Exception, match="connect"):
        await check_long_waits(
            store, session, settings=settings, queues=("emails",), transport=MemoryTransport(down=True)
        )
    assert not await store.redis.exists(names.alert_key("emails"))


async def test_metric_families_carry_queue_and_task_labels(store: JobStore) -> None:
    await store.record(_run(JobStatus.SUCCEEDED, task_id="a", runtime=0.3), args=[], kwargs={})
    await store.record(_run(JobStatus.FAILED, task_id="b", runtime=0.02), args=[], kwargs={})
    families = {f.name: f for f in [*await queue_families(store), *await job_families(store)]}
    depth = families["postboard_queue_depth"]
    assert {s.labels["queue"] for s in depth.samples} == set(names.QUEUES)
    runs = {(s.labels["status"], s.value) for s in families["postboard_jobs"].samples if s.name.endswith("_total")}
    assert runs == {("succeeded", 1), ("failed", 1)}
    buckets = {
        s.labels["le"]: s.value
        for s in families["postboard_job_duration_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert (buckets["0.01"], buckets["0.05"], buckets["0.5"], buckets["+Inf"]) == (0, 1, 2, 2)
    assert [s.value for s in families["postboard_failed_jobs"].samples] == [1]
