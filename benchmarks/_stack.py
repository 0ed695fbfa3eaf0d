"""The processes and data the fan-out benchmark sets up: Redis, a seeded SQLite, the servers."""

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from postboard.db import make_engine
from postboard.dev.services import free_port, redis_command, wait_for_port
from postboard.users.models import User
from postboard.users.service import seed_members, start_session

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# Settings that would change what is measured (another state manager) or that the
# benchmark sets itself.
_DROPPED_ENV = ("REFLEX_REDIS_URL", "REFLEX_STATE_MANAGER_MODE", "FRONTEND_PORT")


@dataclass
class Processes:
    """Child processes, each in its own process group, logging to files in `logs`."""

    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start one process in a new session; its output goes to `<logs>/<name>.log`."""
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 8.0) -> None:
        """SIGTERM a process group, SIGKILL it if it is still there after `timeout`."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        """Stop every process still running, newest first."""
        for name in reversed(list(self.procs)):
            self.stop(name)

    def check(self, name: str) -> None:
        """Raise if a process has exited, pointing at its log."""
        proc = self.procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / name}.log")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def base_env(*, redis_url: str, database_url: str, states_dir: Path) -> dict[str, str]:
    """Return the environment every child gets: venv first on PATH, our Redis, database and state dir."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        # Reflex's default (disk) state manager keeps per-tab state in `.states/` and
        # empties it on every `reflex run`: keep ours away from anyone else's app.
        REFLEX_STATES_WORKDIR=str(states_dir),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
        LIVE_ENABLED="true",  # over a `.env` that turns live push off
        REFLEX_USE_NPM="1",
        REFLEX_CHECK_LATEST_VERSION="false",
    )
    return env


def start_redis(procs: Processes, data_dir: Path) -> str:
    """Start a private Redis on a free port; return its URL."""
    port = free_port()
    procs.start("redis", redis_command(port=port, data_dir=data_dir), dict(os.environ))
    if not wait_for_port(port, timeout=15):
        raise RuntimeError("redis did not start")
    return f"redis://127.0.0.1:{port}/0"


def migrate(env: dict[str, str]) -> None:
    """Create the schema in the benchmark's database."""
    subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True)


def seed_sessions(database_url: str, count: int) -> list[str]:
    """Create `count` members and return one signed-in session token per member."""
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            seed_members(session, count=count, password="bench-password")
            users = session.exec(select(User).order_by(col(User.id)).limit(count)).all()
            return [start_session(session, user=user, days=1) for user in users]
    finally:
        engine.dispose()


def start_boot_spec(procs: Processes, env: dict[str, str], out: Path) -> None:
    """Start computing the app's CONNECT packet contents into `out` (see `_boot.py`)."""
    procs.start("boot", [sys.executable, str(BENCH / "_boot.py"), str(out)], env)


def read_boot_spec(procs: Processes, out: Path, timeout: float = 120.0) -> dict[str, Any]:
    """Wait for the boot-spec subprocess and return what it wrote."""
    if procs.procs["boot"].wait(timeout) != 0:
        raise RuntimeError(f"computing the boot spec failed; see {procs.logs / 'boot.log'}")
    procs.procs.pop("boot")
    spec: dict[str, Any] = json.loads(out.read_text())
    return spec


# One server of a benchmark: the settings it adds to the environment and its command line.
Server = tuple[dict[str, str], list[str]]


def postboard_server(port: int, workers: int = 1) -> Server:
    """Return one Reflex backend (prod mode, `workers` Granian workers) on `port`."""
    # rxconfig.py always sets frontend_port (default 3000), and `reflex run --backend-only`
    # refuses any frontend port: 0 is the one value that reads as "not given".
    extra = {"BACKEND_PORT": str(port), "FRONTEND_PORT": "0", "GRANIAN_WORKERS": str(workers)}
    cmd = [str(BIN / "reflex"), "run", "--backend-only", "--env", "prod", "--backend-port", str(port)]
    return extra, [*cmd, "--loglevel", "warning"]


def floor_server(port: int, *, server: str, channel: str, live_key: str, workers: int = 1) -> Server:
    """Return the bare python-socketio server (see `_floor.py`) on `port`."""
    cmd = [sys.executable, str(BENCH / "_floor.py"), "--port", str(port), "--server", server]
    return {}, [*cmd, "--channel", channel, "--live-key", live_key, "--workers", str(workers)]


def _floor_env(env: dict[str, str]) -> dict[str, str]:
    # Granian's worker imports the app as `_floor:create_asgi_app`.
    return dict(env, PYTHONPATH=f"{BENCH}{os.pathsep}{env['PYTHONPATH']}")


def start_postboard(procs: Processes, env: dict[str, str]) -> int:
    """Start one Reflex backend (prod mode, one Granian worker); return its port."""
    port = free_port()
    extra, cmd = postboard_server(port)
    procs.start("postboard", cmd, dict(env, **extra))
    wait_healthy(procs, "postboard", port)
    return port


def start_floor(procs: Processes, env: dict[str, str], *, server: str, channel: str, live_key: str) -> int:
    """Start the bare python-socketio server (see `_floor.py`); return its port."""
    port = free_port()
    extra, cmd = floor_server(port, server=server, channel=channel, live_key=live_key)
    procs.start("floor", cmd, dict(_floor_env(env), **extra))
    wait_healthy(procs, "floor", port)
    return port


def start_group(procs: Processes, name: str, servers: list[Server], env: dict[str, str]) -> None:
    """Start several servers as ONE process group (under one bash), so its RSS and CPU sum all of them."""
    line = " & ".join(shlex.join(["env", *(f"{k}={v}" for k, v in extra.items()), *cmd]) for extra, cmd in servers)
    procs.start(name, ["bash", "-c", f"{line} & wait"], env)


def start_postboards(procs: Processes, env: dict[str, str], *, backends: int, workers: int) -> list[int]:
    """Start `backends` Reflex backends of `workers` Granian workers each, one process group; return their ports."""
    ports = [free_port() for _ in range(backends)]
    start_group(procs, "postboard", [postboard_server(port, workers) for port in ports], env)
    for port in ports:
        wait_healthy(procs, "postboard", port)
    return ports


def start_floors(
    procs: Processes, env: dict[str, str], *, backends: int, workers: int, channel: str, live_key: str
) -> list[int]:
    """Start `backends` Granian floor servers of `workers` workers each, one process group; return their ports."""
    ports = [free_port() for _ in range(backends)]
    servers = [floor_server(p, server="granian", channel=channel, live_key=live_key, workers=workers) for p in ports]
    start_group(procs, "floor", servers, _floor_env(env))
    for port in ports:
        wait_healthy(procs, "floor", port)
    return ports


def health(port: int) -> dict[str, Any]:
    """GET /api/health of a server under test."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body


def wait_healthy(procs: Processes, name: str, port: int, timeout: float = 120.0) -> None:
    """Wait until a server answers /api/health, failing fast if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check(name)
        try:
            health(port)
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{name} did not answer /api/health within {timeout:.0f}s")


def group_cpu_seconds(pgid: int) -> float:
    """Return the CPU time (user + system) used so far by the live processes of a group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ... utime is field 14, stime 15.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def group_rss_bytes(pgid: int) -> int:
    """Return the resident memory of the live processes of a group, summed (from /proc/*/statm)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                total += int((stat.parent / "statm").read_text().split()[1]) * page
        except (OSError, IndexError):
            continue
    return total


def machine_busy_seconds() -> float:
    """Return the CPU seconds the whole machine has spent busy since boot, from /proc/stat."""
    # cpu  user nice system idle iowait irq softirq ...
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
