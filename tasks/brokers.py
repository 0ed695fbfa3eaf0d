"""One acknowledged Redis stream broker per queue, each with its own worker group."""

from taskiq import TaskiqEvents, TaskiqState
from taskiq_redis import RedisStreamBroker

from postboard import names
from postboard.settings import get_settings


def _broker(queue: str) -> RedisStreamBroker:
    settings = get_settings()
    broker = RedisStreamBroker(
        url=settings.redis_url,
        queue_name=names.stream_key(queue),
        consumer_group_name=f"{names.KEY_PREFIX}:{queue}",
        # "0": a group created after jobs were queued still reads them.
        consumer_id="0",
        # Reclaim jobs of a dead worker once idle this long; above the slowest job.
        idle_timeout=settings.job_idle_timeout_ms,
        # The reclaim lock must expire, or a worker killed while holding it stops reclaim for good.
        unacknowledged_lock_timeout=30,
        # Trim acknowledged history so the stream does not grow without bound.
        maxlen=100_000,
        socket_connect_timeout=3,
    )

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def _opened(state: TaskiqState) -> None:
        state.queue = queue

    return broker


emails_broker = _broker(names.EMAILS_QUEUE)
notifications_broker = _broker(names.NOTIFICATIONS_QUEUE)
BROKERS = (emails_broker, notifications_broker)
