"""The web adapters' one way to the job queue and the monitor store (pages and API import this, never `tasks`)."""

from functools import cache

from postboard.monitor.store import JobStore
from postboard.outbox.service import Dispatcher
from postboard.settings import get_settings
from tasks.dispatch import TaskiqDispatcher
from tasks.monitor import retry_all_failed, retry_failed_job

__all__ = ["dispatcher", "job_store", "retry_all_failed", "retry_failed_job"]


@cache
def dispatcher() -> Dispatcher:
    """The dispatcher that turns outbox events into jobs."""
    return TaskiqDispatcher()


@cache
def job_store() -> JobStore:
    """This process's monitor store (one Redis pool)."""
    return JobStore.from_url(get_settings().redis_url)
