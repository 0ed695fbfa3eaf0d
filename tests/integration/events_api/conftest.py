"""The events API package: one stack for all its tests (workers on every queue, the scheduler, an HTTP recorder)."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from postboard import names
from postboard.tokens.models import Scope
from tests.databases import Databases
from tests.http_recorder import HttpRecorder
from tests.integration.events_api.api_calls import SMS_TOKEN, bearer, reload_settings
from tests.integration.pipeline import Pipeline, running_pipeline


@pytest.fixture(scope="package")
def recorder() -> Iterator[HttpRecorder]:
    """The Slack, SMS gateway and webhook receiver: one recording HTTP server."""
    with HttpRecorder() as server:
        yield server


@pytest.fixture(scope="package")
def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, recorder: HttpRecorder, database: Databases
) -> Iterator[Pipeline]:
    """Workers on every channel queue and the scheduler; this process's API reads the same settings."""
    env = {
        "RETRY_DELAYS": "1,1",
        "SMS_PROVIDER": "http",
        "SMS_HTTP_URL": recorder.url("/sms"),
        "SMS_HTTP_TOKEN": SMS_TOKEN,
        "HTTP_TIMEOUT": "3",
        # Far above what the tests send at once; the rate-limit test lowers it for itself.
        "API_RATE_LIMIT": "1000",
    }
    root = tmp_path_factory.mktemp("events-api")
    with running_pipeline(root, redis_url, database=database, env=env, scheduler=True, queues=names.QUEUES) as line:
        with pytest.MonkeyPatch.context() as patch:
            for key in ("DATABASE_URL", "REDIS_URL", *env):
                patch.setenv(key, line.env[key])
            reload_settings()
            yield line
        reload_settings()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def api(stack: Pipeline) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired to the real FastAPI app in this process."""
    from postboard.web.api import create_api

    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://postboard.test", timeout=30) as client:
        yield client


@pytest.fixture(scope="package")
def writer(stack: Pipeline) -> dict[str, str]:
    """Headers of a token that may only post events."""
    return bearer(stack, Scope.EVENTS_WRITE)


@pytest.fixture(scope="package")
def admin(stack: Pipeline) -> dict[str, str]:
    """Headers of an admin token."""
    return bearer(stack, Scope.ADMIN)
