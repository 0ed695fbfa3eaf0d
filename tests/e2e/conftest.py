"""End-to-end: the whole app started the way `make dev` starts it, driven in Chromium."""

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

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


# Redis db per e2e stack (db 2 is the scale-out test's).
REDIS_DBS = {"sqlite": 1, "postgresql": 3}
# The dev stack of the `app` fixture while it runs: the scale-out test stops it first (one stack at a time).
DEV_STACKS: list[Stack] = []


# The e2e modules that also run on PostgreSQL: the ones whose queries differ by database (keyset
# paging, the dashboard's per-hour buckets and day figures, unique sign-ups, soft delete, the
# inbox fill and unread counts). The others drive sockets, Redis and the browser, which the
# database does not change, and the integration suite runs their database paths on both; running
# them twice would take `make test` past CI's 30 minutes. E2E_ALL_DATABASES=1 runs every module on both.
ON_POSTGRESQL = {"test_accounts", "test_dashboard", "test_live_publish", "test_paging", "test_post_edits"}


def _skipped_on_postgresql(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_postgresql = callspec is not None and callspec.params.get("app") == "postgresql"
    return on_postgresql and item.path.stem not in ON_POSTGRESQL and os.environ.get("E2E_ALL_DATABASES") != "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the scale-out tests last (they stop the dev stack); on PostgreSQL only ON_POSTGRESQL."""
    deselected = [item for item in items if _skipped_on_postgresql(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        dropped = set(deselected)
        items[:] = [item for item in items if item not in dropped]
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
    """Start web, workers, scheduler and the SMTP sink on free ports (Redis: the session's, its own db).

    Once per database: every e2e test runs on SQLite, then the SQLite stack stops and the
    PostgreSQL one starts (one stack at a time). Each stack gets an emptied Redis db of its own:
    jobs the SQLite stack left queued or unacknowledged would otherwise run against the
    PostgreSQL database (posts that do not exist there) and fill its monitor's failed list.
    """
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    database = databases.of(request.param)
    database_url = database.create(root)
    frontend, backend = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST_"))}
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{REDIS_DBS[request.param]}"
    with Redis.from_url(redis_url) as redis:
        redis.flushdb()
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
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
