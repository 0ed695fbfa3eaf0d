"""Start and supervise every process of a dev stack; stop them all on Ctrl-C."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from postboard import names
from postboard.dev.services import (
    STOP_GRACE_SECONDS,
    free_port,
    redis_command,
    scheduler_command,
    sink_command,
    wait_for_port,
    worker_command,
)
from postboard.settings import ROOT, Settings, get_settings

BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """The processes of one dev stack, each in its own process group."""

    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    where: list[tuple[str, str]] = field(default_factory=list)
    specs: dict[str, tuple[list[str], Path | None]] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    # Per process: what it needs on top of `env` (production backends: their port and worker count).
    env_for: dict[str, dict[str, str]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], *, log: Path | None = None) -> None:
        """Start one process; its output goes to the terminal or to `log`."""
        self.specs[name], self.started[name] = (cmd, log), time.monotonic()
        out = log.open("ab") if log else None
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**self.env, **self.env_for.get(name, {})},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )

    def stop(self, timeout: float = STOP_GRACE_SECONDS + 5) -> None:
        """SIGTERM every process group, then SIGKILL what is left after `timeout`."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str) -> None:
        """Start an exited process again with its command and log."""
        cmd, log = self.specs[name]
        self.start(name, cmd, log=log)


@dataclass
class Supervisor:
    """Restarts workers and the scheduler when they exit (Redis down at start, a crash), with backoff.

    Anything else exiting (web, the embedded Redis or sink) stops the stack.
    """

    stack: Stack
    restartable: tuple[str, ...] = ("worker-", "scheduler")
    max_backoff: float = 30.0
    # Up this long: the next exit starts the backoff from 1 s again.
    healthy_after: float = 60.0
    backoff: dict[str, float] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    def check(self, now: float) -> str | None:
        """Restart what is due; return the name of an exited process that may not be restarted."""
        for name, proc in self.stack.procs.items():
            if proc.poll() is None:
                if now - self.stack.started[name] > self.healthy_after:
                    self.backoff.pop(name, None)
                continue
            if not name.startswith(self.restartable):
                return name
            if name not in self.due:
                self.backoff[name] = min(self.backoff.get(name, 0.5) * 2, self.max_backoff)
                self.due[name] = now + self.backoff[name]
                print(f"{name} exited ({proc.returncode}); restarting in {self.backoff[name]:.0f} s", file=sys.stderr)
            elif now >= self.due[name]:
                del self.due[name]
                self.stack.restart(name)
        return None


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _child_env(base: Mapping[str, str], frontend_port: int, backend_port: int) -> dict[str, str]:
    env = dict(base)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_USE_NPM", "1")
    # Ping every 5 s, give up after 10 more: a crashed tab leaves presence within 15 s (Reflex: 25 + 120 s),
    # and a silently cut-off tab stops counting as having seen live posts within 5 s.
    env.setdefault("REFLEX_SOCKET_INTERVAL", "5")
    env.setdefault("REFLEX_SOCKET_TIMEOUT", "10")
    env["FRONTEND_PORT"], env["BACKEND_PORT"] = str(frontend_port), str(backend_port)
    env.setdefault("API_URL", f"http://localhost:{backend_port}")
    env.setdefault("APP_URL", f"http://localhost:{frontend_port}")
    env["PYTHONUNBUFFERED"] = "1"
    # Hot reload watches code only: var/ (database, mailbox, logs) changes all the time.
    env.setdefault(
        "REFLEX_HOT_RELOAD_OVERRIDE_PATHS",
        os.pathsep.join(str(ROOT / d) for d in ("postboard", "tasks")),
    )
    return env


def _configured(name: str, env: Mapping[str, str]) -> bool:
    # Set in the environment or in `.env`: the user chose a real service.
    return bool(env.get(name)) or bool(dotenv_values(ROOT / ".env").get(name))


def start_standins(stack: Stack, *, var: Path, log: Callable[[str], Path]) -> None:
    """Start an embedded Redis and the SMTP sink for what the environment leaves unconfigured."""
    if not _configured("REDIS_URL", stack.env):
        port = free_port(6390)
        stack.start("redis", redis_command(port=port, data_dir=var / "redis"), log=log("redis"))
        stack.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        wait_for_port(port)
        stack.where.append(("redis (embedded)", stack.env["REDIS_URL"]))
    if not _configured("SMTP_HOST", stack.env):
        port = free_port(8025)
        folder = Path(stack.env.get("MAILBOX_DIR", str(get_settings().mailbox_dir)))
        stack.start("smtp-sink", sink_command(port=port, folder=folder), log=log("smtp-sink"))
        stack.env["SMTP_HOST"], stack.env["SMTP_PORT"] = "127.0.0.1", str(port)
        wait_for_port(port)
        stack.where.append(("smtp sink (aiosmtpd)", f"127.0.0.1:{port} → {folder}"))


def job_commands(settings: Settings) -> dict[str, list[str]]:
    """Return the command line of each queue's `taskiq worker` group and of the one scheduler, by process name."""
    commands = {
        f"worker-{queue}": worker_command(
            queue, concurrency=settings.queue_concurrency(queue), processes=settings.worker_processes(queue)
        )
        for queue in names.QUEUES
    }
    commands["scheduler"] = scheduler_command(update_interval=settings.scheduler_interval)
    return commands


def start_jobs(stack: Stack, logs: Path | None) -> None:
    """Start one `taskiq worker` per queue (its processes and concurrency from the settings) and the scheduler."""
    settings = get_settings()
    for name, cmd in job_commands(settings).items():
        stack.start(name, cmd, log=logs and logs / f"{name.removeprefix('worker-')}.log")
        if name == "scheduler":
            stack.where.append(("scheduler", "taskiq scheduler (delayed retries, outbox relay every 30 s)"))
        else:
            queue = name.removeprefix("worker-")
            processes = settings.worker_processes(queue)
            stack.where.append((f"worker {queue}", f"taskiq worker, queue {queue!r}, {processes} process(es)"))


def migrate(env: Mapping[str, str]) -> None:
    """Apply every migration to the database `env` names."""
    subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=dict(env), check=True)


def start_stack(
    *,
    frontend_port: int = 3000,
    backend_port: int = 8000,
    logs: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Stack:
    """Start Redis and the sink when unconfigured, migrate, then web, workers and scheduler."""
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    stack = Stack(env=_child_env(os.environ if env is None else env, frontend_port, backend_port))
    log_dir = logs or var
    start_standins(stack, var=var, log=lambda name: log_dir / f"{name}.log")
    migrate(stack.env)
    start_jobs(stack, logs)
    stack.start(
        "web",
        [str(BIN / "reflex"), "run", "--env", "dev", "--loglevel", "warning"],
        log=logs and logs / "web.log",
    )
    stack.where.append(("web UI", f"http://localhost:{frontend_port}"))
    stack.where.append(("backend + API", f"http://localhost:{backend_port}  (/api/docs)"))
    return stack


def supervise(stack: Stack, *, restartable: tuple[str, ...] = ("worker-", "scheduler")) -> int:
    """Print what runs where, restart workers and the scheduler, and stop everything on Ctrl-C or a fatal exit."""
    print("\nPostboard is starting:")
    for name, where in stack.where:
        print(f"  {name:<22} {where}")
    print("Ctrl-C stops everything.\n", flush=True)
    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    code = 0
    supervisor = Supervisor(stack, restartable=restartable)
    while not stopping:
        if (dead := supervisor.check(time.monotonic())) is not None:
            print(
                f"\n{dead} exited ({stack.procs[dead].returncode}); stopping the rest.",
                file=sys.stderr,
            )
            code = 1
            break
        time.sleep(0.5)
    print("Stopping…", flush=True)
    stack.stop()
    return code


def run_dev() -> int:
    """`make dev`: run the stack in the foreground until Ctrl-C or a process dies."""
    return supervise(start_stack())
