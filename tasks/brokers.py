"""One acknowledged Redis stream broker per queue, each with its own worker group; retries and monitor."""

import asyncio
import contextlib
import logging

from taskiq import TaskiqEvents, TaskiqState
from taskiq_redis import ListRedisScheduleSource

from postboard import names
from postboard.deliveries.retry import RetryPolicy
from postboard.errors import OUTAGES
from postboard.live import model_events
from postboard.monitor.store import JobStore
from postboard.settings import get_settings
from tasks.middleware import MonitorMiddleware, RetryMiddleware, worker_id
from tasks.streams import StreamBroker

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0

# Delayed retries (of jobs and of deliveries) wait here until the one scheduler sends them.
retry_source = ListRedisScheduleSource(get_settings().redis_url, prefix=names.SCHEDULE_PREFIX, socket_connect_timeout=3)


def _broker(queue: str) -> StreamBroker:
    settings = get_settings()
    concurrency = settings.queue_concurrency(queue)
    broker = StreamBroker(
        url=settings.redis_url,
        queue_name=names.stream_key(queue),
        consumer_group_name=names.group_name(queue),
        # "0": a group created after jobs were queued still reads them.
        consumer_id="0",
        # Reclaim jobs of a dead worker once idle this long; above the slowest job.
        idle_timeout=settings.job_idle_timeout_ms,
        # The reclaim lock must expire, or a worker killed while holding it stops reclaim for good.
        unacknowledged_lock_timeout=30,
        # Take only what the worker can start now: a job fetched early waits unacknowledged,
        # and past `idle_timeout` another worker would run it a second time.
        xread_count=concurrency,
        unacknowledged_batch_size=concurrency,
        # Trim acknowledged history so the stream does not grow without bound.
        maxlen=100_000,
        socket_connect_timeout=3,
    ).with_middlewares(MonitorMiddleware(), RetryMiddleware(RetryPolicy.of(settings.retry_delays), retry_source))

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def _opened(state: TaskiqState) -> None:
        state.queue = queue
        # One consumer per process, named like its heartbeat: XINFO CONSUMERS shows who holds what,
        # and two processes never share a name (and so a pending list) even if the broker was forked.
        broker.consumer_name = worker_id()
        model_events.install_redis(enabled=settings.live_enabled, url=settings.redis_url)
        state.store = JobStore.from_url(settings.redis_url)
        state.heartbeat = asyncio.create_task(_heartbeat(state.store, queue))

    @broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
    async def _closed(state: TaskiqState) -> None:
        state.heartbeat.cancel()
        with contextlib.suppress(Exception):
            await state.store.worker_gone(queue, worker_id())
        await state.store.close()

    return broker


async def _heartbeat(store: JobStore, queue: str) -> None:
    while True:
        try:
            await store.heartbeat(queue, worker_id())
        except OUTAGES as exc:  # Redis down: keep beating once it is back
            log.debug("heartbeat failed: %s", exc)
        except Exception:
            log.exception("heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)


def labels(queue: str) -> dict[str, str]:
    """Task labels that route a job to its queue's stream, also when the scheduler sends it."""
    return {"queue_name": names.stream_key(queue), "queue": queue}


emails_broker = _broker(names.EMAILS_QUEUE)
notifications_broker = _broker(names.NOTIFICATIONS_QUEUE)
sms_broker = _broker(names.SMS_QUEUE)
slack_broker = _broker(names.SLACK_QUEUE)
webhooks_broker = _broker(names.WEBHOOKS_QUEUE)
BROKERS = (emails_broker, notifications_broker, sms_broker, slack_broker, webhooks_broker)
BROKER_OF = dict(zip(names.QUEUES, BROKERS, strict=True))
