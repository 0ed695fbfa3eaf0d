"""Broker middlewares: retries on the `RETRY_DELAYS` schedule, and the job monitor's records."""

import logging
import time
import traceback
from typing import Any

from taskiq import ScheduleSource, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.middlewares import SmartRetryMiddleware

from postboard import names
from postboard.deliveries.retry import RetryPolicy
from postboard.errors import OUTAGES, PermanentFailure
from postboard.monitor.records import JobRecord, JobStatus
from postboard.monitor.store import JobStore
from postboard.settings import get_settings

log = logging.getLogger(__name__)

OUTCOME = "pb_outcome"
# Set by a job that reschedules itself (a chunk's delivery retries): the attempt that run makes.
ATTEMPT = "pb_attempt"


def worker_id() -> str:
    """Return this worker process's name (host:pid), read when asked: `--workers N` forks after imports."""
    return names.process_id()


class RetryMiddleware(SmartRetryMiddleware):
    """Retries a failed job after each of `delays` seconds (through the scheduler), then gives up.

    SmartRetryMiddleware's own delay arithmetic is linear and compounding; ours reads the list.
    `PermanentFailure` is never retried.
    """

    def __init__(self, policy: RetryPolicy, schedule_source: ScheduleSource) -> None:
        super().__init__(
            default_retry_count=policy.max_attempts,  # counts the first attempt
            default_retry_label=True,
            no_result_on_retry=False,
            schedule_source=schedule_source,
        )
        self.policy = policy

    def make_delay(self, message: TaskiqMessage, retries: int) -> float:
        """Return the wait before retry number `retries` (1-based)."""
        return self.policy.delays[min(retries, len(self.policy.delays)) - 1]

    async def on_error(self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException) -> None:
        """Schedule the next attempt, or mark the run as the last one."""
        attempt = int(message.labels.get("_retries", 0)) + 1
        retry = not isinstance(exception, PermanentFailure) and attempt < self.default_retry_count
        message.labels[OUTCOME] = JobStatus.RETRYING.value if retry else JobStatus.FAILED.value
        if retry:
            retries = message.labels.get("_retries")
            await super().on_error(message, result, exception)
            # The parent's kicker shares this dict and bumps `_retries` in it; the monitor
            # must record the attempt that just ran, not the next one.
            if retries is None:
                message.labels.pop("_retries", None)
            else:
                message.labels["_retries"] = retries


class MonitorMiddleware(TaskiqMiddleware):
    """Stamps when a job was queued and records every run in the monitor's store."""

    def __init__(self) -> None:
        super().__init__()
        self._store: JobStore | None = None
        self._started: dict[str, float] = {}

    @property
    def store(self) -> JobStore:
        """The process's store, opened on first use."""
        if self._store is None:
            self._store = JobStore.from_url(get_settings().redis_url)
        return self._store

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        """Stamp the enqueue time (a retry gets a new one), for wait-time figures."""
        message.labels["enqueued_at"] = f"{time.time():.3f}"
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Note when the run started."""
        self._started[message.task_id] = time.time()
        return message

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Record the run; a monitor failure must never fail the job."""
        started = self._started.pop(message.task_id, time.time())
        try:
            await self.store.record(self._record(message, result, started), args=message.args, kwargs=message.kwargs)
        except OUTAGES as exc:  # Redis hiccup: lose a figure, not a job
            log.warning("job monitor could not record %s: %s", message.task_name, exc)
        except Exception:
            log.exception("job monitor could not record %s", message.task_name)

    async def shutdown(self) -> None:
        """Close the store's connections."""
        if self._store is not None:
            await self._store.close()

    def _record(self, message: TaskiqMessage, result: TaskiqResult[Any], started: float) -> JobRecord:
        labels = message.labels
        error = tb = None
        status = JobStatus.SUCCEEDED
        if result.is_err:
            status = JobStatus(labels.get(OUTCOME, JobStatus.FAILED.value))
            exc = result.error
            error = f"{type(exc).__name__}: {exc}"[:2000] if exc is not None else "unknown error"
            if isinstance(exc, BaseException):
                tb = "".join(traceback.format_exception(exc))[-8000:]
        enqueued = labels.get("enqueued_at")
        return JobRecord(
            task_id=message.task_id,
            task=message.task_name,
            queue=str(labels.get("queue", "")),
            args=list(message.args),
            kwargs=dict(message.kwargs),
            attempt=max(int(labels.get(ATTEMPT, 1)), int(labels.get("_retries", 0)) + 1),
            max_attempts=int(labels.get("max_retries", 0)) or RetryPolicy.of(get_settings().retry_delays).max_attempts,
            status=status,
            error=error,
            traceback=tb,
            enqueued_at=float(enqueued) if enqueued else None,
            started_at=started,
            finished_at=time.time(),
            worker=worker_id(),
        )
