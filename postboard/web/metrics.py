"""`GET /metrics`: Prometheus text built from Redis (every worker's counters) and the database."""

import time
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import Session, col, func, select

from postboard import names
from postboard.db import session_scope
from postboard.deliveries.models import Delivery
from postboard.monitor.store import DURATION_BUCKETS, WORKER_TTL, JobStore, async_reply
from postboard.notifications.models import Notification

Family = GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily


class _Prebuilt(Collector):
    """Hands prometheus-client families that were read beforehand (the reads are async)."""

    def __init__(self, families: Iterable[Family]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Family]:
        """Yield the families."""
        yield from self._families


def _delivery_counts(session: Session) -> list[tuple[str, str, int]]:
    rows = session.exec(
        select(Delivery.channel, Delivery.status, func.count()).group_by(col(Delivery.channel), col(Delivery.status))
    ).all()
    in_app = session.exec(select(func.count()).select_from(Notification)).one()
    return [(str(c), str(s), n) for c, s, n in rows] + [("in_app", "sent", in_app)]


async def queue_families(store: JobStore) -> list[Family]:
    """Queue depth, in-flight, oldest wait and live workers, one sample per queue."""
    depth = GaugeMetricFamily("postboard_queue_depth", "Jobs waiting in the queue", labels=["queue"])
    in_flight = GaugeMetricFamily(
        "postboard_queue_in_flight", "Jobs delivered to a worker, not yet acked", labels=["queue"]
    )
    oldest = GaugeMetricFamily("postboard_queue_oldest_wait_seconds", "Age of the oldest waiting job", labels=["queue"])
    workers = GaugeMetricFamily("postboard_queue_workers", "Worker processes alive", labels=["queue"])
    for queue in names.QUEUES:
        f = await store.queue_figures(queue)
        depth.add_metric([queue], f.depth)
        in_flight.add_metric([queue], f.in_flight)
        oldest.add_metric([queue], f.oldest_wait if f.depth else 0.0)
        workers.add_metric([queue], f.workers)
    return [depth, in_flight, oldest, workers]


async def job_families(store: JobStore) -> list[Family]:
    """Job runs per task and outcome, run-time histograms, and failed jobs awaiting action."""
    runs = CounterMetricFamily(
        "postboard_jobs", "Job runs by task, queue and outcome", labels=["task", "queue", "status"]
    )
    for (task, queue, status), n in sorted((await store.job_counters()).items()):
        runs.add_metric([task, queue, status], n)
    duration = HistogramMetricFamily("postboard_job_duration_seconds", "Job run time", labels=["task"])
    for task, (counts, total) in sorted((await store.duration_histograms()).items()):
        cumulative, buckets = 0, []
        for bound in (*(str(b) for b in DURATION_BUCKETS), "+Inf"):
            cumulative += counts.get(bound, 0)
            buckets.append((bound, cumulative))
        duration.add_metric([task], buckets, sum_value=total)
    failed = GaugeMetricFamily("postboard_failed_jobs", "Failed jobs waiting for a retry or a discard")
    failed.add_metric([], await store.failed_count())
    return [runs, duration, failed]


async def tab_family(store: JobStore) -> Family:
    """Signed-in tabs over every live backend process."""
    seen = await store.redis.zrangebyscore(names.BACKEND_SEEN, time.time() - 3 * WORKER_TTL, "+inf")
    counts = await async_reply(store.redis.hmget(names.BACKEND_TABS, seen)) if seen else []
    tabs = GaugeMetricFamily("postboard_connected_tabs", "Signed-in browser tabs connected to the backends")
    tabs.add_metric([], sum(int(c or 0) for c in counts))
    return tabs


async def render_metrics(store: JobStore) -> bytes:
    """Return every Postboard metric in the Prometheus text format."""
    with session_scope() as session:
        rows = _delivery_counts(session)
    deliveries = GaugeMetricFamily(
        "postboard_deliveries", "Deliveries by channel and status", labels=["channel", "status"]
    )
    for channel, status, n in rows:
        deliveries.add_metric([channel, status], n)
    families = [*await queue_families(store), *await job_families(store), await tab_family(store), deliveries]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Prebuilt(families))
    return generate_latest(registry)
