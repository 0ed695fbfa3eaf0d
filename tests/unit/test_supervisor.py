"""The dev stack's supervisor with real child processes: workers come back, the web does not."""

import os
import sys
import time
from pathlib import Path

from postboard.dev.runner import Stack, Supervisor
from tests.support import wait_until

# Exits with 1 the first time (as the scheduler does when Redis is down), then stays up.
FLAKY = "import pathlib, sys, time; m = pathlib.Path(sys.argv[1]); first = not m.exists(); m.touch(); " + (
    "sys.exit(1) if first else time.sleep(60)"
)


def _tick(supervisor: Supervisor, *, until: float) -> str | None:
    """Run the supervisor's loop for `until` seconds, or until it names a process it will not restart."""
    stopped: list[str] = []

    def check() -> bool:
        if (name := supervisor.check(time.monotonic())) is not None:
            stopped.append(name)
        return bool(stopped)

    wait_until(check, within=until, interval=0.05)
    return stopped[0] if stopped else None


def test_a_crashed_scheduler_is_restarted_and_stays_up(tmp_path: Path) -> None:
    stack = Stack(env=dict(os.environ))
    stack.start("scheduler", [sys.executable, "-c", FLAKY, str(tmp_path / "ran")])
    supervisor = Supervisor(stack)
    try:
        assert wait_until(lambda: stack.procs["scheduler"].poll() is not None, within=10)
        first = stack.procs["scheduler"]
        assert _tick(supervisor, until=3) is None
        second = stack.procs["scheduler"]
        assert second is not first
        assert second.poll() is None
        assert supervisor.backoff["scheduler"] == 1
    finally:
        stack.stop(timeout=5)


def test_the_web_exiting_stops_the_stack(tmp_path: Path) -> None:
    stack = Stack(env=dict(os.environ))
    stack.start("web", [sys.executable, "-c", "import sys; sys.exit(3)"])
    try:
        assert _tick(Supervisor(stack), until=5) == "web"
    finally:
        stack.stop(timeout=5)


def test_backoff_doubles_up_to_its_cap(tmp_path: Path) -> None:
    stack = Stack(env=dict(os.environ))
    stack.start("worker-emails", [sys.executable, "-c", "import sys; sys.exit(1)"])
    supervisor = Supervisor(stack, max_backoff=4)
    try:
        waits = []
        for _ in range(4):
            assert wait_until(lambda: stack.procs["worker-emails"].poll() is not None, within=10)
            supervisor.check(time.monotonic())
            waits.append(supervisor.backoff["worker-emails"])
            supervisor.check(time.monotonic() + 60)  # as if the wait had passed: restart now
        assert waits == [1, 2, 4, 4]
    finally:
        stack.stop(timeout=5)
