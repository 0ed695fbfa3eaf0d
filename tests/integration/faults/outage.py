"""Publishing while Redis is down, from a process of its own: its settings and brokers use the pipeline's Redis."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from postboard.db import session_scope
from postboard.dev.services import redis_command, wait_for_port
from postboard.posts.service import publish
from postboard.settings import ROOT
from postboard.users.models import User
from tasks.dispatch import TaskiqDispatcher
from tests.integration.pipeline import Pipeline
from tests.support import stop


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
    code = "from tests.integration.faults.outage import publish_during_outage; publish_during_outage()"
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
