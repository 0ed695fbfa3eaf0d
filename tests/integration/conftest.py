"""Integration: a migrated database, the real SMTP sink and real worker processes for both queues."""

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from sqlmodel import Session

from postboard import names
from postboard.db import make_engine
from postboard.dev.services import free_port
from postboard.mailbox.sink import MaildirHandler, start_sink
from tests.support import migrate, start_worker, stop, wait_until


@dataclass
class Pipeline:
    """Everything a publish travels through, real."""

    env: dict[str, str]
    sink: MaildirHandler
    mailbox: Path
    logs: Path
    engine_url: str

    def session(self) -> Session:
        """Open a session on the pipeline's database."""
        return Session(make_engine(self.engine_url), expire_on_commit=False)


def _listening(logs: list[Path]) -> bool:
    return all(log.exists() and "Listening started" in log.read_text() for log in logs)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Pipeline]:
    """Start the sink and one worker per queue against a fresh database and a flushed Redis."""
    root = tmp_path_factory.mktemp("pipeline")
    Redis.from_url(redis_url).flushdb()
    url = f"sqlite:///{root / 'pipeline.db'}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "MAILBOX_DIR": str(root / "mailbox"),
        "REDIS_URL": redis_url,
    }
    migrate(env)
    controller, handler = start_sink(root / "mailbox", port=port)
    logs = [root / f"{q}.log" for q in names.QUEUES]
    workers: list[subprocess.Popen[bytes]] = [
        start_worker(q, env, log) for q, log in zip(names.QUEUES, logs, strict=True)
    ]
    try:
        assert wait_until(lambda: _listening(logs), timeout=60), "workers did not start"
        yield Pipeline(env=env, sink=handler, mailbox=root / "mailbox", logs=root, engine_url=url)
    finally:
        for worker in workers:
            stop(worker)
        controller.stop()
