"""Faults: the pipeline with fast retries that the SMTP and poison-job modules each start for their tests."""

from collections.abc import Iterator

import pytest

from tests.databases import Databases
from tests.integration.faults.fanout import FAST_RETRIES
from tests.integration.pipeline import Pipeline, running_pipeline


@pytest.fixture(scope="module")
def retry_pipeline(tmp_path_factory: pytest.TempPathFactory, redis_url: str, database: Databases) -> Iterator[Pipeline]:
    """A pipeline with 1 s retries, 100-recipient chunks and the scheduler, shared by a module's tests."""
    env = {**FAST_RETRIES, "EMAIL_CHUNK_SIZE": "100"}
    root = tmp_path_factory.mktemp("retries")
    with running_pipeline(root, redis_url, database=database, env=env, scheduler=True) as line:
        yield line
