"""Integration: the default pipeline fixture (see `tests/integration/pipeline.py`)."""

from collections.abc import Iterator

import pytest

from tests.databases import Databases
from tests.integration.pipeline import Pipeline, running_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, redis_url: str, database: Databases) -> Iterator[Pipeline]:
    """The pipeline with default settings, shared by a module's tests."""
    with running_pipeline(tmp_path_factory.mktemp("pipeline"), redis_url, database=database) as line:
        yield line
