"""A real pipeline for integration tests: migrated database, SMTP sink, worker processes and the scheduler."""

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from postboard import names
from postboard.db import make_engine
from postboard.dev.services import free_port, scheduler_command
from postboard.mailbox.sink import MaildirHandler, start_sink
from postboard.settings import ROOT
from tests.app_logs import Expected, LogWatch
from tests.databases import Databases
from tests.support import start_worker, stop, wait_until


@dataclass
class Pipeline:
    """Everything a publish travels through, real; tests may kill and restart its parts."""

    env: dict[str, str]
    sink: MaildirHandler
    mailbox: Path
    logs: Path
    engine_url: str
    sink_port: int
    controller: Controller | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    scheduler: subprocess.Popen[bytes] | None = None
    _engine: Engine | None = None

    def session(self) -> Session:
        """Open a session on the pipeline's database (one engine: PostgreSQL counts every pool's connections)."""
        if self._engine is None:
            self._engine = make_engine(self.engine_url)
        return Session(self._engine, expire_on_commit=False)

    def worker_log(self, queue: str) -> Path:
        """The log file of a queue's workers (every restart appends)."""
        return self.logs / f"{queue}.log"

    def start_worker(self, queue: str, *, processes: int = 1, concurrency: int = 8) -> subprocess.Popen[bytes]:
        """Start a worker for `queue` (`processes` of them under one taskiq parent) and wait until all listen."""
        log = self.worker_log(queue)
        before = log.read_text().count("Listening started") if log.exists() else 0
        proc = start_worker(queue, self.env, log, concurrency=concurrency, processes=processes)
        self.workers[queue] = proc
        assert wait_until(lambda: log.read_text().count("Listening started") >= before + processes, within=60), (
            "worker did not start"
        )
        return proc

    def stop_sink(self) -> None:
        """Take the SMTP server down (connections are refused)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def start_sink(self) -> None:
        """Bring the SMTP server back on the same port and Maildir."""
        if self.controller is None:
            self.controller, self.sink = start_sink(self.mailbox, port=self.sink_port)


@contextmanager
def running_pipeline(
    root: Path,
    redis_url: str,
    *,
    database: Databases,
    env: Mapping[str, str] | None = None,
    scheduler: bool = False,
    queues: Sequence[str] = (names.EMAILS_QUEUE, names.NOTIFICATIONS_QUEUE),
    expected: Sequence[Expected] = (),
) -> Iterator[Pipeline]:
    """Start the sink, one worker per queue (and the scheduler) on a fresh `database` and a flushed Redis.

    On the way out it fails on a traceback in the workers' or the scheduler's logs that neither
    `expected` nor a test's `expected_traceback` marker allows (see `tests/app_logs.py`).
    """
    watch = LogWatch.folder(root, expected)
    Redis.from_url(redis_url).flushdb()
    url = database.create(root)
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "MAILBOX_DIR": str(root / "mailbox"),
        "REDIS_URL": redis_url,
        **(env or {}),
    }
    controller, handler = start_sink(root / "mailbox", port=port)
    line = Pipeline(
        env=full_env,
        sink=handler,
        mailbox=root / "mailbox",
        logs=root,
        engine_url=url,
        sink_port=port,
        controller=controller,
    )
    try:
        for queue in queues:
            line.start_worker(queue)
        if scheduler:
            line.scheduler = subprocess.Popen(
                scheduler_command(update_interval=1),
                cwd=ROOT,
                env=full_env,
                stdout=(root / "scheduler.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        yield line
    except BaseException as error:
        _stop(line, database)
        watch.annotate(error)
        raise
    _stop(line, database)
    watch.check()


def _stop(line: Pipeline, database: Databases) -> None:
    for proc in [*line.workers.values(), *([line.scheduler] if line.scheduler else [])]:
        stop(proc)
    line.stop_sink()
    if line._engine is not None:
        line._engine.dispose()
    database.drop(line.engine_url)


def drained(redis_url: str, queue: str) -> bool:
    """Every job on the queue was read and acknowledged."""
    client = Redis.from_url(redis_url)
    try:
        groups = client.xinfo_groups(names.stream_key(queue))
        return all(g["lag"] == 0 and g["pending"] == 0 for g in groups)
    finally:
        client.close()
