"""End-to-end: the whole app started the way `make dev` starts it, driven in Chromium."""

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from postboard.dev.browser import find_chromium
from postboard.dev.runner import Stack, start_stack
from postboard.dev.services import free_port
from tests import databases
from tests.app_logs import LogWatch
from tests.e2e.app import App
from tests.support import wait_until

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


# The dev stack of the `app` fixture while it runs: the scale-out test stops it first (one stack at a time).
DEV_STACKS: list[Stack] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the scale-out tests last: they stop the dev stack and start the production one."""
    items.sort(key=lambda item: item.get_closest_marker("scale") is not None)


def stop_dev_stack() -> None:
    """Stop the `app` fixture's stack if it runs (the tests that need it have run: scale-out tests go last)."""
    while DEV_STACKS:
        DEV_STACKS.pop().stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# Its own parameter, not the `database` fixture: pytest groups tests by session parameter, and
# sharing it would run the SQLite e2e tests before the PostgreSQL integration tests (e2e must run last).
@pytest.fixture(scope="session", params=databases.KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """Start web, workers, scheduler and the SMTP sink on free ports (Redis: the session's, its db 1).

    Once per database: every e2e test runs on SQLite, then the SQLite stack stops and the
    PostgreSQL one starts (one stack at a time).
    """
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    database = databases.of(request.param)
    database_url = database.create(root)
    frontend, backend = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1",
        MAILBOX_DIR=str(root / "mailbox"),
        SMS_DIR=str(root / "sms"),
        APP_URL=f"http://localhost:{frontend}",
        # Short retry waits, so a poison job reaches the failed list within seconds.
        RETRY_DELAYS="1,1",
        SCHEDULER_INTERVAL="1",
    )
    watch = LogWatch.folder(root)
    stack = start_stack(frontend_port=frontend, backend_port=backend, logs=root, env=env)
    DEV_STACKS.append(stack)
    try:
        ready = wait_until(
            lambda: _answers(f"http://localhost:{backend}/ping") and _answers(f"http://localhost:{frontend}/login"),
            within=600,
            interval=1,
        )
        assert ready, f"app did not start; see logs in {root}"
        yield App(url=f"http://localhost:{frontend}", env=stack.env, mailbox=root / "mailbox", stack=stack)
    finally:
        stop_dev_stack()
        database.drop(database_url)
    # Web, workers, scheduler and sink: a traceback no e2e test declared fails the run.
    watch.check()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium headless (Playwright's own download is not reachable)."""
    return {
        **browser_type_launch_args,
        "executable_path": find_chromium() or "/usr/bin/chromium",
        "headless": True,
        "args": CHROMIUM_ARGS,
    }
