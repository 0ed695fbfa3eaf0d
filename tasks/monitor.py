"""Monitor actions that send jobs again: retry one failed job, or all of them."""

import logging

import tasks.events  # noqa: F401 - registers the event tasks, so a failed one can be found
from postboard.monitor.store import FailedJob, JobStore
from tasks.brokers import BROKERS
from tasks.posts import MANUAL_RETRY

log = logging.getLogger(__name__)


async def retry_failed_job(store: JobStore, task_id: str) -> bool:
    """Send a failed job again with its arguments, as a fresh run; return whether it was found."""
    job = await store.get_failed(task_id)
    if job is None:
        return False
    await _resend(store, job)
    return True


async def _resend(store: JobStore, job: FailedJob) -> None:
    task = next((t for b in BROKERS if (t := b.find_task(job.record.task)) is not None), None)
    if task is None:
        raise LookupError(f"no task named {job.record.task!r} is registered")
    # The task's own labels route it to its queue; MANUAL_RETRY lets it retry what failed for good.
    kicker = task.kicker().with_labels(**{MANUAL_RETRY: "1"})
    await kicker.kiq(*job.args, **job.kwargs)
    await store.discard(job.record.task_id)
    log.info("retried failed job %s (%s)", job.record.task_id, job.record.task)


async def retry_all_failed(store: JobStore, *, queue: str | None = None) -> int:
    """Retry every failed job (of one queue, if given); return how many were sent."""
    sent = 0
    for job in await store.failed(limit=1000):
        if queue and job.record.queue != queue:
            continue
        await _resend(store, job)
        sent += 1
    return sent
