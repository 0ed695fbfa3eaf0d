"""Faults on the real pipeline: a killed worker, a reclaimed busy worker, Redis down, SMTP down, a poison job."""

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from postboard import names
from postboard.db import make_engine, session_scope
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.dev.services import redis_command, wait_for_port
from postboard.mailbox.sink import MaildirHandler
from postboard.monitor.records import JobStatus
from postboard.monitor.store import FailedJob, JobStore
from postboard.notifications.models import Notification
from postboard.outbox.service import pending_events
from postboard.posts.service import publish
from postboard.settings import ROOT
from postboard.users.models import Role, User
from tasks.dispatch import TaskiqDispatcher
from tasks.monitor import retry_failed_job
from tasks.posts import send_post_email_chunk
from tests.factories import make_audience, make_user
from tests.integration.conftest import Pipeline, running_pipeline
from tests.support import start_redis, stop

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SENT, SENDING, RETRYING, FAILED = (
    DeliveryStatus.SENT,
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
)
CHUNK_TASK = "send_post_email_chunk"
# Retries 1 s apart instead of minutes, so a fault plays out in seconds.
FAST_RETRIES = {"RETRY_DELAYS": "1,1,1"}
# Jobs idle 3 s are reclaimed (from a dead worker or a busy one); a delivery claim lapses after 2 s.
RECLAIM = {"JOB_IDLE_TIMEOUT_MS": "3000", "SEND_LEASE_SECONDS": "2", "EMAIL_CHUNK_SIZE": "500"}
OUTAGE_SECONDS = 8
RETRY_AUDIENCE = 300


@dataclass(frozen=True)
class Mail:
    """What the sink holds: copies per Message-ID (one per post and recipient) and per `To`."""

    by_message: Counter[str]
    by_recipient: Counter[str]
    last_at: float

    def for_post(self, post_id: int) -> Counter[str]:
        """Copies of each of one post's messages."""
        prefix = f"<post-{post_id}."
        return Counter({mid: n for mid, n in self.by_message.items() if mid.startswith(prefix)})

    @property
    def duplicates(self) -> int:
        """Copies beyond the first of any message."""
        return sum(self.by_message.values()) - len(self.by_message)


def read_mail(box: Path) -> Mail:
    """Read the headers of every message in the sink's Maildir."""
    parser = BytesHeaderParser()
    by_message: Counter[str] = Counter()
    by_recipient: Counter[str] = Counter()
    last_at = 0.0
    for sub in ("new", "cur"):
        folder = box / sub
        if not folder.exists():
            continue
        for path in folder.iterdir():
            with path.open("rb") as handle:
                headers = parser.parse(handle)
            by_message[str(headers["Message-ID"])] += 1
            by_recipient[str(headers["To"])] += 1
            last_at = max(last_at, path.stat().st_mtime)
    return Mail(by_message=by_message, by_recipient=by_recipient, last_at=last_at)


async def eventually(check: Callable[[], bool | Awaitable[bool]], *, within: float, interval: float = 0.1) -> bool:
    """Poll `check` (sync or async) until it is true or `within` seconds pass, without blocking the loop."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


def email_statuses(engine: Engine, post_id: int) -> dict[str, int]:
    """Count a post's email deliveries by status."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery.status, func.count())
            .where(Delivery.post_id == post_id, Delivery.channel == Channel.EMAIL)
            .group_by(col(Delivery.status))
        ).all()
    return {str(status): n for status, n in rows}


def email_deliveries(engine: Engine, post_id: int) -> list[Delivery]:
    """Return a post's email deliveries."""
    with Session(engine) as session:
        return list(
            session.exec(select(Delivery).where(Delivery.post_id == post_id, Delivery.channel == Channel.EMAIL)).all()
        )


def all_sent(engine: Engine, post_id: int, audience: int) -> Callable[[], bool]:
    """A check: every recipient's email delivery is `sent`."""
    return lambda: email_statuses(engine, post_id) == {SENT: audience}


def drained(redis_url: str, queue: str) -> bool:
    """Every job on the queue was read and acknowledged."""
    client = Redis.from_url(redis_url)
    try:
        groups = client.xinfo_groups(names.stream_key(queue))
        return all(g["lag"] == 0 and g["pending"] == 0 for g in groups)
    finally:
        client.close()


def slow_down(sink: MaildirHandler, seconds: float) -> None:
    """Make the sink take `seconds` to accept each message, like a loaded mail server."""
    accept = sink.handle_DATA

    async def handle_data(server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        await asyncio.sleep(seconds)
        return await accept(server, session, envelope)

    # aiosmtpd looks the hook up on the handler for each new connection.
    sink.handle_DATA = handle_data  # type: ignore[method-assign]


def seed(pipeline: Pipeline, *, members: int, author_last: bool = False) -> User:
    """Create `members` members and an editor; the author last keeps every chunk full of recipients.

    With the author last, 2,000 members and 500-user chunks make four chunks of 500 recipients
    (and a fifth holding only the author, which sends nothing).
    """
    with pipeline.session() as session:
        if author_last:
            make_audience(session, members=members)
        author = make_user(session, name="Ada Author", email="author@example.com", role=Role.EDITOR)
        if not author_last:
            make_audience(session, members=members)
        return author


async def publish_post(pipeline: Pipeline, author: User, title: str) -> int:
    """Publish through the product's service and dispatcher; the jobs must be queued at once."""
    with pipeline.session() as session:
        result = await publish(session, author=author, title=title, content="Body.", dispatcher=TaskiqDispatcher())
    assert result.queued_now
    assert result.post.id is not None
    return result.post.id


async def scheduler_started(pipeline: Pipeline) -> None:
    """Wait until the scheduler is past its start-up (running_pipeline does not wait for it)."""
    log = pipeline.logs / "scheduler.log"
    assert await eventually(lambda: log.exists() and "Startup completed" in log.read_text(), within=60), (
        "scheduler did not start"
    )


def restarts(log: Path) -> int:
    """How many times taskiq's process manager restarted a dead worker process."""
    return log.read_text().count("is dead. Scheduling reload")


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker's whole process group (the taskiq parent and its worker child)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def log_problems(log: Path) -> list[str]:
    """Lines of a worker log that show a crash or a lost lock."""
    return [line for line in log.read_text().splitlines() if "LockNotOwnedError" in line or "Traceback" in line]


async def test_killed_worker_mid_fanout_every_recipient_gets_the_email(
    tmp_path: Path, redis_url: str, record_property: Callable[[str, object], None]
) -> None:
    """SIGKILL the emails worker during a 2,000 fan-out; a new worker finishes it, duplicates only in-window."""
    audience = 2_000
    with running_pipeline(tmp_path, redis_url, env=RECLAIM, scheduler=True) as pipeline:
        engine = make_engine(pipeline.engine_url)
        author = seed(pipeline, members=audience, author_last=True)
        post_id = await publish_post(pipeline, author, "Killed mid-way")

        assert await eventually(lambda: pipeline.sink.received >= 600, within=60, interval=0.01), (
            f"only {pipeline.sink.received} emails before the kill"
        )
        killed_at, kill_clock = time.time(), time.monotonic()
        kill_group(pipeline.workers[names.EMAILS_QUEUE])
        at_kill = email_statuses(engine, post_id)
        in_window = at_kill.get(SENDING, 0)
        received_at_kill = pipeline.sink.received

        pipeline.start_worker(names.EMAILS_QUEUE)
        to_listening = time.monotonic() - kill_clock

        assert await eventually(all_sent(engine, post_id, audience), within=120, interval=0.5), (
            f"statuses {email_statuses(engine, post_id)} (at kill: {at_kill})"
        )
        await eventually(lambda: drained(redis_url, names.EMAILS_QUEUE), within=20)
        await asyncio.sleep(1.5)  # a late duplicate would land now
        mail = read_mail(pipeline.mailbox)
        total, unique = sum(mail.by_recipient.values()), len(mail.by_recipient)
        duplicates = total - unique
        figures: dict[str, object] = {
            "received_at_kill": received_at_kill,
            "statuses_at_kill": at_kill,
            "in_window": in_window,
            "emails": total,
            "unique_recipients": unique,
            "duplicates": duplicates,
            "kill_to_listening_s": round(to_listening, 2),
            "kill_to_last_email_s": round(mail.last_at - killed_at, 2),
        }
        record_property("figures", figures)
        print("killed worker:", json.dumps(figures))
        assert unique == audience, figures
        assert "author@example.com" not in mail.by_recipient
        # Exactly-once is impossible only for a message the server took just before the kill.
        assert duplicates <= in_window, figures
        engine.dispose()


async def test_busy_worker_reclaimed_jobs_send_nothing_twice(
    tmp_path: Path, redis_url: str, record_property: Callable[[str, object], None]
) -> None:
    """Chunks outlast JOB_IDLE_TIMEOUT_MS on a healthy worker: reclaimed runs resend nothing."""
    audience = 2_000
    with running_pipeline(tmp_path, redis_url, env=RECLAIM, scheduler=True) as pipeline:
        engine = make_engine(pipeline.engine_url)
        # 8 ms per message: a 500-recipient chunk needs 4 s at least, over the 3 s idle timeout.
        slow_down(pipeline.sink, 0.008)
        author = seed(pipeline, members=audience, author_last=True)
        started = time.monotonic()
        post_id = await publish_post(pipeline, author, "Busy worker")

        assert await eventually(all_sent(engine, post_id, audience), within=120, interval=0.5), email_statuses(
            engine, post_id
        )
        fanout = time.monotonic() - started
        assert await eventually(lambda: drained(redis_url, names.EMAILS_QUEUE), within=30)
        await asyncio.sleep(2)  # a reclaimed run that resends would land now
        mail = read_mail(pipeline.mailbox)
        total, unique = sum(mail.by_recipient.values()), len(mail.by_recipient)
        store = JobStore.from_url(redis_url)
        runs = [r for r in await store.recent(limit=200) if r.task == CHUNK_TASK and r.args[:1] == [post_id]]
        await store.close()
        longest = max((r.runtime for r in runs), default=0.0)
        worker = pipeline.workers[names.EMAILS_QUEUE]
        figures: dict[str, object] = {
            "emails": total,
            "unique_recipients": unique,
            "duplicates": total - unique,
            "chunk_runs": len(runs),
            "chunk_jobs": len({r.task_id for r in runs}),
            "longest_chunk_run_s": round(longest, 2),
            "fanout_s": round(fanout, 2),
        }
        record_property("figures", figures)
        print("busy worker:", json.dumps(figures))
        # The scenario needs chunks slower than the idle timeout, or nothing is reclaimed.
        assert longest > 3, figures
        assert total == audience, figures
        assert unique == audience, figures
        assert worker.poll() is None, "the emails worker died"
        assert log_problems(pipeline.worker_log(names.EMAILS_QUEUE)) == []
        engine.dispose()


def publish_during_outage() -> None:
    """Subprocess entry: publish posts against the environment's (down) Redis and print each outcome."""
    author_id, count = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(asyncio.run(_publish_many(author_id=author_id, count=count))))


async def _publish_many(*, author_id: int, count: int) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    with session_scope() as session:
        author = session.get(User, author_id)
        assert author is not None
        for n in range(count):
            started = time.monotonic()
            result = await publish(
                session, author=author, title=f"Outage post {n}", content="Body.", dispatcher=TaskiqDispatcher()
            )
            outcomes.append(
                {"post_id": result.post.id, "queued_now": result.queued_now, "seconds": time.monotonic() - started}
            )
    return outcomes


async def publish_in_subprocess(pipeline: Pipeline, *, author_id: int, count: int) -> list[dict[str, Any]]:
    """Publish from a process whose settings (and brokers) point at the pipeline's Redis, not the session's."""
    code = "from tests.integration.test_faults import publish_during_outage; publish_during_outage()"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        str(author_id),
        str(count),
        cwd=ROOT,
        env=pipeline.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-3000:]
    outcomes: list[dict[str, Any]] = json.loads(out.decode().strip().splitlines()[-1])
    return outcomes


def restart_redis(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start redis-server again on the same port and data dir (it loads what the first one wrote)."""
    proc = subprocess.Popen(
        redis_command(port=port, data_dir=data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if not wait_for_port(port, timeout=15):
        stop(proc)
        raise RuntimeError("redis did not come back")
    return proc


async def test_redis_down_publish_returns_and_relay_delivers_after(
    tmp_path: Path, record_property: Callable[[str, object], None]
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
        with running_pipeline(tmp_path / "pipeline", url, env=FAST_RETRIES, scheduler=True) as pipeline:
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


@pytest.fixture(scope="module")
def retry_pipeline(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Pipeline]:
    """A pipeline with 1 s retries, 100-recipient chunks and the scheduler, shared by the SMTP and poison tests."""
    env = {**FAST_RETRIES, "EMAIL_CHUNK_SIZE": "100"}
    with running_pipeline(tmp_path_factory.mktemp("retries"), redis_url, env=env, scheduler=True) as line:
        yield line


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


async def test_poison_job_runs_four_times_and_fails_once(
    retry_pipeline: Pipeline, redis_url: str, record_property: Callable[[str, object], None]
) -> None:
    """A chunk job for a post that does not exist runs 4 times, shows once as failed, and never runs again."""
    store = JobStore.from_url(redis_url)
    task = await send_post_email_chunk.kiq(999_999, 0, 100)
    started = time.monotonic()

    async def runs() -> list[tuple[int, str]]:
        return sorted((r.attempt, r.status.value) for r in await store.recent(limit=200) if r.task_id == task.task_id)

    async def gave_up() -> bool:
        return any(status == JobStatus.FAILED for _, status in await runs())

    await eventually(gave_up, within=30, interval=0.2)
    to_failed = time.monotonic() - started
    await asyncio.sleep(4)  # longer than a retry delay plus a scheduler tick: a 5th run would show
    seen = await runs()
    failed = [j for j in await store.failed() if j.record.task_id == task.task_id]
    await store.close()
    figures: dict[str, object] = {"runs": seen, "to_failed_s": round(to_failed, 2)}
    record_property("figures", figures)
    print("poison job:", json.dumps(figures))
    assert seen == [(1, JobStatus.RETRYING), (2, JobStatus.RETRYING), (3, JobStatus.RETRYING), (4, JobStatus.FAILED)]
    assert len(failed) == 1
    assert failed[0].record.attempt == 4
    assert "does not exist" in (failed[0].record.error or "")
