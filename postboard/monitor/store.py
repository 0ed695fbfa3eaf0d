"""The monitor's Redis store: job runs, per-minute counts, samples, worker heartbeats, queue figures."""

import json
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from postboard import names
from postboard.monitor.records import JobRecord, JobStatus, redact

RECENT_KEEP = 200
FAILED_KEEP = 1000
SAMPLES_KEEP = 500
MINUTES_KEPT = 120
WORKER_TTL = 15.0
DEPTH_SCAN_LIMIT = 10_000
# Job duration histogram buckets (seconds), as Prometheus `le` bounds.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_T = TypeVar("_T")


@dataclass(frozen=True)
class QueueFigures:
    """What the monitor shows for one queue."""

    queue: str
    depth: int
    in_flight: int
    oldest_wait: float
    workers: int
    per_minute: int
    failed_per_minute: int
    wait_p50: float | None
    wait_p95: float | None
    run_p50: float | None
    run_p95: float | None


@dataclass(frozen=True)
class FailedJob:
    """A job that ran out of attempts: what to show, and what a retry re-sends."""

    record: JobRecord
    args: list[Any]
    kwargs: dict[str, Any]


def percentile(values: list[float], q: float) -> float | None:
    """Return the `q` quantile (0..1) of `values` by nearest rank, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def async_reply(reply: Awaitable[_T] | _T) -> Awaitable[_T]:
    """Type an asyncio client's command call as the awaitable it is.

    redis-py annotates each command once for both clients, as `Awaitable[T] | T` (redis/redis-py#2399).
    """
    return cast("Awaitable[_T]", reply)


def _minute(ts: float) -> int:
    return int(ts // 60)


def _metric_field(*parts: str) -> str:
    return "\x1f".join(parts)


class JobStore:
    """Reads and writes the monitor's keys on one Redis connection pool."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @classmethod
    def from_url(cls, url: str) -> "JobStore":
        """Open a store on a Redis URL."""
        return cls(Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5, decode_responses=True))

    async def close(self) -> None:
        """Release the connection pool."""
        await self.redis.aclose()

    async def record(self, run: JobRecord, *, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Store one finished run: recent list, failures, per-minute counts, samples, metrics."""
        shown = run.model_copy(update={"args": redact(run.args), "kwargs": redact(run.kwargs)})
        minute_key = names.minute_stats_key(run.queue, _minute(run.finished_at))
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(names.JOBS_RECENT, shown.model_dump_json())
        pipe.ltrim(names.JOBS_RECENT, 0, RECENT_KEEP - 1)
        counted = "failed" if run.status is JobStatus.FAILED else "processed"
        if run.status is not JobStatus.RETRYING:
            pipe.hincrby(minute_key, counted, 1)
            pipe.expire(minute_key, MINUTES_KEPT * 60)
        if run.status is JobStatus.FAILED:
            pipe.hset(
                names.JOBS_FAILED,
                run.task_id,
                json.dumps({"record": shown.model_dump(), "args": args, "kwargs": kwargs}),
            )
            pipe.zadd(names.JOBS_FAILED_ORDER, {run.task_id: run.finished_at})
        pipe.lpush(names.samples_key(run.queue, "run"), round(run.runtime, 4))
        pipe.ltrim(names.samples_key(run.queue, "run"), 0, SAMPLES_KEEP - 1)
        if run.wait is not None:
            pipe.lpush(names.samples_key(run.queue, "wait"), round(run.wait, 4))
            pipe.ltrim(names.samples_key(run.queue, "wait"), 0, SAMPLES_KEEP - 1)
        pipe.hincrby(names.METRICS_JOBS, _metric_field(run.task, run.queue, run.status.value), 1)
        bucket = next((str(b) for b in DURATION_BUCKETS if run.runtime <= b), "+Inf")
        pipe.hincrby(names.METRICS_DURATION, _metric_field(run.task, bucket), 1)
        pipe.hincrbyfloat(names.METRICS_DURATION, _metric_field(run.task, "sum"), run.runtime)
        await pipe.execute()
        if run.status is JobStatus.FAILED:
            await self._trim_failed()

    async def _trim_failed(self) -> None:
        extra = await self.redis.zcard(names.JOBS_FAILED_ORDER) - FAILED_KEEP
        if extra > 0:
            oldest = await self.redis.zrange(names.JOBS_FAILED_ORDER, 0, extra - 1)
            await self.redis.zrem(names.JOBS_FAILED_ORDER, *oldest)
            await async_reply(self.redis.hdel(names.JOBS_FAILED, *oldest))

    async def heartbeat(self, queue: str, worker: str, *, now: float | None = None) -> None:
        """Mark one worker process of a queue alive."""
        await self.redis.zadd(names.workers_key(queue), {worker: now or time.time()})

    async def worker_gone(self, queue: str, worker: str) -> None:
        """Forget a worker process that stopped cleanly."""
        await self.redis.zrem(names.workers_key(queue), worker)

    async def recent(self, limit: int = 50) -> list[JobRecord]:
        """Return the latest finished runs, newest first."""
        raw = await async_reply(self.redis.lrange(names.JOBS_RECENT, 0, limit - 1))
        return [JobRecord.model_validate_json(item) for item in raw]

    async def failed(self, limit: int = 100) -> list[FailedJob]:
        """Return failed jobs, newest first."""
        ids = await self.redis.zrevrange(names.JOBS_FAILED_ORDER, 0, limit - 1)
        if not ids:
            return []
        raw = await async_reply(self.redis.hmget(names.JOBS_FAILED, ids))
        return [self._failed(item) for item in raw if item]

    async def get_failed(self, task_id: str) -> FailedJob | None:
        """Return one failed job."""
        raw = await async_reply(self.redis.hget(names.JOBS_FAILED, task_id))
        return self._failed(raw) if raw else None

    async def failed_count(self) -> int:
        """Return how many failed jobs wait for a retry or a discard."""
        return int(await self.redis.zcard(names.JOBS_FAILED_ORDER))

    @staticmethod
    def _failed(raw: str) -> FailedJob:
        data = json.loads(raw)
        return FailedJob(record=JobRecord.model_validate(data["record"]), args=data["args"], kwargs=data["kwargs"])

    async def discard(self, task_id: str) -> bool:
        """Drop a failed job from the list; return whether it was there."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(names.JOBS_FAILED, task_id)
        pipe.zrem(names.JOBS_FAILED_ORDER, task_id)
        removed, _ = await pipe.execute()
        return bool(removed)

    async def queue_figures(self, queue: str, *, now: float | None = None) -> QueueFigures:
        """Read one queue's depth, in-flight jobs, oldest wait, workers, throughput and timings."""
        now = now or time.time()
        depth, in_flight, oldest = await self._stream_figures(queue, now=now)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(names.workers_key(queue), now - WORKER_TTL, "+inf")
        pipe.hgetall(names.minute_stats_key(queue, _minute(now) - 1))
        pipe.hgetall(names.minute_stats_key(queue, _minute(now)))
        pipe.lrange(names.samples_key(queue, "wait"), 0, -1)
        pipe.lrange(names.samples_key(queue, "run"), 0, -1)
        workers, last_minute, this_minute, waits, runs = await pipe.execute()
        # Throughput over the last 60 s: the previous minute weighted by how much of it is inside.
        share = 1 - (now % 60) / 60
        processed = int(this_minute.get("processed", 0)) + share * int(last_minute.get("processed", 0))
        failed = int(this_minute.get("failed", 0)) + share * int(last_minute.get("failed", 0))
        wait_values = [float(v) for v in waits]
        run_values = [float(v) for v in runs]
        return QueueFigures(
            queue=queue,
            depth=depth,
            in_flight=in_flight,
            oldest_wait=oldest,
            workers=int(workers),
            per_minute=round(processed + failed),
            failed_per_minute=round(failed),
            wait_p50=percentile(wait_values, 0.5),
            wait_p95=percentile(wait_values, 0.95),
            run_p50=percentile(run_values, 0.5),
            run_p95=percentile(run_values, 0.95),
        )

    async def _stream_figures(self, queue: str, *, now: float) -> tuple[int, int, float]:
        stream, group = names.stream_key(queue), names.group_name(queue)
        try:
            groups = await self.redis.xinfo_groups(stream)
        except ResponseError:
            return 0, 0, 0.0  # no stream yet: nothing was ever queued
        info = next((g for g in groups if g["name"] == group), None)
        if info is None:
            # No worker has created the group yet: every entry waits.
            depth = int(await self.redis.xlen(stream))
            first = await self.redis.xrange(stream, count=1)
            return depth, 0, _age(first, now)
        last = info["last-delivered-id"]
        waiting = await self.redis.xrange(stream, min=f"({last}", count=1)
        lag = info.get("lag")
        if lag is None:
            # Redis < 7 (or a lag Redis cannot tell): count what follows the group's cursor.
            lag = len(await self.redis.xrange(stream, min=f"({last}", count=DEPTH_SCAN_LIMIT))
        return int(lag), int(info["pending"]), _age(waiting, now)

    async def minute_series(
        self, queue: str, *, minutes: int = 60, now: float | None = None
    ) -> list[tuple[int, int, int]]:
        """Return (epoch minute, processed, failed) for each of the last `minutes` minutes, oldest first."""
        current = _minute(now or time.time())
        span = range(current - minutes + 1, current + 1)
        pipe = self.redis.pipeline(transaction=False)
        for minute in span:
            pipe.hgetall(names.minute_stats_key(queue, minute))
        rows = await pipe.execute()
        return [(m, int(r.get("processed", 0)), int(r.get("failed", 0))) for m, r in zip(span, rows, strict=True)]

    async def job_counters(self) -> dict[tuple[str, str, str], int]:
        """Return every (task, queue, status) run count since the counters began."""
        raw = await async_reply(self.redis.hgetall(names.METRICS_JOBS))
        out: dict[tuple[str, str, str], int] = {}
        for field, value in raw.items():
            task, queue, status = field.split("\x1f")
            out[(task, queue, status)] = int(value)
        return out

    async def duration_histograms(self) -> dict[str, tuple[dict[str, int], float]]:
        """Return, per task, run counts per bucket (not cumulative) and the sum of run times."""
        raw = await async_reply(self.redis.hgetall(names.METRICS_DURATION))
        out: dict[str, tuple[dict[str, int], float]] = {}
        for field, value in raw.items():
            task, part = field.split("\x1f")
            buckets, total = out.get(task, ({}, 0.0))
            if part == "sum":
                total = float(value)
            else:
                buckets[part] = int(value)
            out[task] = (buckets, total)
        return out


def _age(entries: list[Any], now: float) -> float:
    if not entries:
        return 0.0
    entry_id = entries[0][0]
    return max(0.0, now - int(str(entry_id).split("-")[0]) / 1000)
