"""Session set-up: a real Redis (unless REDIS_URL is given) and a scratch database for every test run."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import app_logs, databases
from tests.support import start_redis, stop

_scratch = Path(tempfile.mkdtemp(prefix="postboard-tests-"))
_redis: subprocess.Popen[bytes] | None = None


def _point_settings_at_scratch() -> None:
    global _redis
    if not os.environ.get("REDIS_URL"):
        _redis, url = start_redis(_scratch / "redis")
        os.environ["REDIS_URL"] = url
    os.environ["DATABASE_URL"] = f"sqlite:///{_scratch / 'main.db'}"
    os.environ["MAILBOX_DIR"] = str(_scratch / "mailbox")
    os.environ["APP_URL"] = "http://postboard.test"
    os.environ["LIVE_ENABLED"] = "true"
    databases.use_scratch(_scratch)


# At import, not in pytest_configure: pytest imports the conftests of the paths on its command
# line (tests/integration/faults/conftest.py imports tasks, whose brokers read REDIS_URL) before
# it calls pytest_configure, and this file is imported before them.
_point_settings_at_scratch()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker for expected tracebacks."""
    config.addinivalue_line(
        "markers",
        f"{app_logs.MARKER}(pattern, why): a traceback the test provokes on purpose in an app process's log",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note the tracebacks a test expects before its fixtures start processes that may log them."""
    app_logs.declare(item)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what the session started."""
    databases.close_all()
    if _redis is not None:
        stop(_redis)
    shutil.rmtree(_scratch, ignore_errors=True)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder for one test."""
    return tmp_path


@pytest.fixture(scope="session", params=databases.KINDS)
def database(request: pytest.FixtureRequest) -> databases.Databases:
    """The database a test runs on, once on SQLite and once on PostgreSQL: a maker of fresh migrated ones.

    Session-scoped, so pytest runs every SQLite test before the PostgreSQL ones (one embedded server, started late).
    """
    return databases.of(request.param)


@pytest.fixture
def database_url(database: databases.Databases, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database of the test's kind, for one test."""
    with database.fresh(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of the session's real Redis."""
    return os.environ["REDIS_URL"]


@pytest.fixture
def clean_settings() -> Iterator[None]:
    """Drop cached settings and engine around a test that changes the environment."""
    from postboard.db import get_engine
    from postboard.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()
