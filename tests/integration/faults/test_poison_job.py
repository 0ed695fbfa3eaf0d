"""A poison job runs through its attempts, shows once in the failed list and never runs again."""

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from postboard.monitor.records import JobStatus
from postboard.monitor.store import JobStore
from tasks.posts import send_post_email_chunk
from tests.databases import SQLITE_ONLY
from tests.integration.pipeline import Pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"), SQLITE_ONLY]
MISSING_POST = 999_999


@pytest.mark.expected_traceback(
    rf"postboard\.errors\.NotFound: Post {MISSING_POST} does not exist",
    why="the poison job names a post that does not exist: each of its runs raises",
)
async def test_poison_job_runs_four_times_and_fails_once(
    retry_pipeline: Pipeline, redis_url: str, record_property: Callable[[str, object], None]
) -> None:
    """A chunk job for a post that does not exist runs 4 times, shows once as failed, and never runs again."""
    store = JobStore.from_url(redis_url)
    task = await send_post_email_chunk.kiq(MISSING_POST, 0, 100)
    started = time.monotonic()

    async def runs() -> list[tuple[int, str]]:
        return sorted((r.attempt, r.status.value) for r in await store.recent(limit=200) if r.task_id == task.task_id)

    async def gave_up() -> bool:
        return any(status == JobStatus.FAILED for _, status in await runs())

    await eventually(gave_up, within=30, interval=0.2)
    to_failed = time.monotonic() - started
    await asyncio.sleep(4)  # longer than a retry delay plus a scheduler tick: a 5th run would show
    seen = await runs()
    failed = [j for j in await store.failed() if j.record.task_id == task.task_id]
    await store.close()
    figures: dict[str, object] = {"runs": seen, "to_failed_s": round(to_failed, 2)}
    record_property("figures", figures)
    print("poison job:", json.dumps(figures))
    assert seen == [(1, JobStatus.RETRYING), (2, JobStatus.RETRYING), (3, JobStatus.RETRYING), (4, JobStatus.FAILED)]
    assert len(failed) == 1
    assert failed[0].record.attempt == 4
    assert "does not exist" in (failed[0].record.error or "")
