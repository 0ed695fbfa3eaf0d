"""Test plumbing shared by the suites: a Redis server, migrated databases, worker processes."""

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

from postboard.dev.services import free_port, redis_command, wait_for_port, worker_command
from postboard.settings import ROOT

BIN = Path(sys.executable).parent


def start_redis(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a throwaway redis-server on a free 127.0.0.1 port."""
    port = free_port()
    cmd = [*redis_command(port=port, data_dir=data_dir)]
    cmd[cmd.index("--appendonly") + 1] = "no"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    if not wait_for_port(port, timeout=15):
        proc.kill()
        raise RuntimeError("test redis did not start")
    return proc, f"redis://127.0.0.1:{port}/0"


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process group started by the tests: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def migrate(env: Mapping[str, str]) -> None:
    """Apply every Alembic migration to the database named in `env`."""
    subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=dict(env), check=True, capture_output=True)


def start_worker(
    queue: str, env: Mapping[str, str], log: Path, *, concurrency: int = 8, processes: int = 1
) -> subprocess.Popen[bytes]:
    """Start a real `taskiq worker` for one queue (`processes` worker processes under one taskiq parent)."""
    return subprocess.Popen(
        worker_command(queue, concurrency=concurrency, processes=processes),
        cwd=ROOT,
        env=dict(env),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _pauses(within: float, interval: float) -> Iterator[float]:
    """The pauses between checks for `within` seconds (the caller checks once more at the end)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        yield min(interval, left)


def wait_until(check: Callable[[], bool], *, within: float, interval: float = 0.1) -> bool:
    """Poll `check` until it is true or `within` seconds pass; blocking, for sync tests, fixtures and Playwright."""
    for pause in _pauses(within, interval):
        if check():
            return True
        time.sleep(pause)
    return check()


async def eventually(check: Callable[[], bool | Awaitable[bool]], *, within: float, interval: float = 0.1) -> bool:
    """`wait_until` on the event loop: `check` may be async, and the loop keeps running between checks."""
    for pause in _pauses(within, interval):
        if await _holds(check):
            return True
        await asyncio.sleep(pause)
    return await _holds(check)


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    outcome = check()
    return bool(await outcome) if inspect.isawaitable(outcome) else bool(outcome)
