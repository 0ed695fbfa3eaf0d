"""The queue monitor's view: every figure the /queues page shows, as plain JSON-ready rows."""

import time
from datetime import UTC, datetime
from typing import Any

from postboard.monitor.records import JobRecord
from postboard.monitor.store import JobStore, QueueFigures

CHART_MINUTES = 60


def seconds_text(value: float | None) -> str:
    """Format a duration for people: 850 ms, 4.2 s, 3 min 5 s."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def queue_row(f: QueueFigures, *, threshold: float) -> dict[str, Any]:
    """One queue's line in the monitor."""
    return {
        "queue": f.queue,
        "depth": f.depth,
        "in_flight": f.in_flight,
        "workers": f.workers,
        "per_minute": f.per_minute,
        "failed_per_minute": f.failed_per_minute,
        "oldest_wait": seconds_text(f.oldest_wait) if f.depth else "—",
        "long_wait": f.depth > 0 and f.oldest_wait > threshold,
        "wait_p50": seconds_text(f.wait_p50),
        "wait_p95": seconds_text(f.wait_p95),
        "run_p50": seconds_text(f.run_p50),
        "run_p95": seconds_text(f.run_p95),
    }


def job_row(record: JobRecord) -> dict[str, Any]:
    """One job run in the recent or failed list."""
    args = ", ".join(repr(a) for a in record.args)
    kwargs = ", ".join(f"{k}={v!r}" for k, v in record.kwargs.items())
    return {
        "task_id": record.task_id,
        "task": record.task,
        "queue": record.queue,
        "arguments": ", ".join(p for p in (args, kwargs) if p),
        "attempts": f"{record.attempt} of {record.max_attempts}",
        "status": record.status.value,
        "error": record.error or "",
        "traceback": record.traceback or "",
        "runtime": seconds_text(record.runtime),
        "wait": seconds_text(record.wait),
        "finished_at": _clock(record.finished_at),
    }


async def build_snapshot(
    store: JobStore, *, queues: tuple[str, ...], thresholds: dict[str, float], now: float | None = None
) -> dict[str, Any]:
    """Read everything the monitor page shows in one go."""
    now = now or time.time()
    figures = [await store.queue_figures(q, now=now) for q in queues]
    series = {q: await store.minute_series(q, minutes=CHART_MINUTES, now=now) for q in queues}
    chart: dict[str, list[dict[str, Any]]] = {}
    for name in ("all", *queues):
        picked = list(series.values()) if name == "all" else [series[name]]
        chart[name] = [
            {
                "minute": datetime.fromtimestamp(rows[0][0] * 60, UTC).strftime("%H:%M"),
                "processed": sum(r[1] for r in rows),
                "failed": sum(r[2] for r in rows),
            }
            for rows in zip(*picked, strict=True)
        ]
    failed = await store.failed(limit=100)
    return {
        "queues": [queue_row(f, threshold=thresholds.get(f.queue, 60.0)) for f in figures],
        "recent": [job_row(r) for r in await store.recent(limit=50)],
        "failed": [job_row(j.record) for j in failed],
        "failed_total": await store.failed_count(),
        "chart": chart,
        "updated_at": _clock(now),
    }
