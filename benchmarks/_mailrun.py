"""The email benchmark's stack: the processes it starts, the CPU they use, what the sink stored.

Used by `email_fanout.py`. Postboard and test modules are imported inside the functions
that need them: the settings must point at this run's resources first, and the setup
figure includes those imports.
"""

import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTIFICATION_CONCURRENCY = 4
POLL = 0.1

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests.support` is imported from the repo root


class BenchmarkFailed(RuntimeError):
    """The pipeline did not finish, or finished wrong."""


@dataclass
class Stack:
    """Processes this run started (each leads its own process group) and its temp dir."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def mailbox(self) -> Path:
        """The sink's Maildir."""
        return self.root / "mailbox"

    def log(self, name: str) -> Path:
        """The log file of one started process."""
        return self.root / f"{name}.log"

    def check_alive(self) -> None:
        """Raise if any started process has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise BenchmarkFailed(f"{name} exited with {proc.returncode}:\n{tail(self.log(name))}")


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, for error messages."""
    if not path.exists():
        return f"({path.name} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_process(stack: Stack, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
    """Start one child in its own session, logging to `<root>/<name>.log`."""
    with stack.log(name).open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=stack.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack.procs[name] = proc
    return proc


def start_redis(stack: Stack) -> str:
    """Start a throwaway Redis (tests.support) and return its URL."""
    # Not `_stack.start_redis`: that one keeps Redis's append-only file on, which adds
    # disk writes to every job the fan-out queues.
    from tests.support import start_redis as start_test_redis

    proc, url = start_test_redis(stack.root / "redis")
    stack.procs["redis"] = proc
    return url


def configure(stack: Stack, *, redis_url: str, smtp_port: int, chunk_size: int, database_url: str = "") -> None:
    """Point every setting at this run's resources, here and in the children."""
    os.environ.update(
        REDIS_URL=redis_url,
        DATABASE_URL=database_url or f"sqlite:///{stack.root / 'bench.db'}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        MAILBOX_DIR=str(stack.mailbox),
        EMAIL_CHUNK_SIZE=str(chunk_size),
        APP_URL="http://postboard.bench",
        LIVE_ENABLED="true",
        PYTHONUNBUFFERED="1",
    )
    stack.env = dict(os.environ)


def start_sink(stack: Stack, port: int) -> None:
    """Run the Maildir SMTP sink in its own process, as `postboard dev` does."""
    from postboard.dev.services import sink_command, wait_for_port

    start_process(stack, "smtp-sink", sink_command(port=port, folder=stack.mailbox))
    if not wait_for_port(port, timeout=30):
        raise BenchmarkFailed(f"SMTP sink did not listen on {port}:\n{tail(stack.log('smtp-sink'))}")


def start_worker(stack: Stack, queue: str, concurrency: int) -> None:
    """Start one real `taskiq worker` process for a queue."""
    from postboard.dev.services import worker_command

    start_process(stack, queue, worker_command(queue, concurrency=concurrency))


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, stack: Stack) -> None:
    """Poll `check` until true; raise naming `what` after `timeout` or if a child died."""
    deadline = time.monotonic() + timeout
    while not check():
        stack.check_alive()
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)


def boot(stack: Stack, *, chunk_size: int, email_concurrency: int, database_url: str = "") -> None:
    """Redis, settings, migrated database (a temp SQLite unless given), sink and both workers."""
    from postboard.dev.services import free_port

    redis_url = start_redis(stack)
    smtp_port = free_port()
    configure(stack, redis_url=redis_url, smtp_port=smtp_port, chunk_size=chunk_size, database_url=database_url)
    from _stack import migrate

    migrate(stack.env)
    start_sink(stack, smtp_port)
    start_worker(stack, "emails", email_concurrency)
    start_worker(stack, "notifications", NOTIFICATION_CONCURRENCY)
    logs = [stack.log("emails"), stack.log("notifications")]
    wait_for(
        lambda: all(log.exists() and "Listening started" in log.read_text() for log in logs),
        timeout=60,
        what="workers to start listening",
        stack=stack,
    )


def stop_all(stack: Stack) -> None:
    """Stop every started process group, newest first."""
    # Not `_stack.Processes.stop`: it allows 8 s after SIGTERM, less than the 10 s the
    # workers are told to let running jobs finish.
    from tests.support import stop

    for proc in reversed(list(stack.procs.values())):
        stop(proc)


@dataclass(frozen=True)
class Sched:
    """Seconds on a CPU and seconds runnable but waiting for one (from /proc/*/schedstat)."""

    cpu: float
    wait: float

    def __sub__(self, other: "Sched") -> "Sched":
        """The difference between two readings."""
        return Sched(cpu=self.cpu - other.cpu, wait=self.wait - other.wait)


def _pids_in_group(pgid: int) -> list[str]:
    """Ids of the live processes in a process group."""
    pids: list[str] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:  # field 5, pgrp
            pids.append(entry.name)
    return pids


def sched_seconds(pids: list[str]) -> Sched:
    """CPU time and run-queue wait summed over every thread of the given processes."""
    cpu = wait = 0
    for pid in pids:
        for task in Path("/proc", pid, "task").glob("*/schedstat"):
            try:
                ran, waited, _slices = task.read_text().split()
            except (OSError, ValueError):
                continue
            cpu, wait = cpu + int(ran), wait + int(waited)
    return Sched(cpu=cpu / 1e9, wait=wait / 1e9)


def sched_snapshot(stack: Stack) -> dict[str, Sched]:
    """CPU and run-queue wait so far of every started process group and of this process."""
    snapshot = {name: sched_seconds(_pids_in_group(proc.pid)) for name, proc in stack.procs.items()}
    snapshot["benchmark (poller)"] = sched_seconds([str(os.getpid())])
    return snapshot


@dataclass(frozen=True)
class MailStats:
    """What the sink holds: copies per envelope recipient and when the first and last arrived."""

    recipients: Counter[str]
    first: float
    last: float

    @property
    def total(self) -> int:
        """Messages stored."""
        return sum(self.recipients.values())


def count_mail(folder: Path) -> int:
    """How many messages the sink has delivered to `new/`."""
    with os.scandir(folder / "new") as entries:
        return sum(1 for _ in entries)


def read_mailbox(folder: Path, t0_wall: float) -> MailStats:
    """Read each stored message's X-Envelope-To line and mtime (seconds after publish)."""
    recipients: Counter[str] = Counter()
    mtimes: list[float] = []
    with os.scandir(folder / "new") as entries:
        for entry in entries:
            mtimes.append(entry.stat().st_mtime - t0_wall)
            with open(entry.path, "rb") as message:
                first_line = message.readline().decode(errors="replace").strip()
            recipients[first_line.removeprefix("X-Envelope-To:").strip()] += 1
    return MailStats(recipients=recipients, first=min(mtimes, default=math.nan), last=max(mtimes, default=math.nan))
