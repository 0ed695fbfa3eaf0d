"""The load generator of `events_api.py`: N connections on loopback, each POSTing events back to back."""

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

EVENT = "order_created"
CUSTOMERS = 1_000


@dataclass
class Tally:
    """What the clients saw: one latency per request, answers by status, deliveries the API planned."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    planned: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        """Requests answered (or failed) in the window."""
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """The q-th percentile latency in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    def summary(self) -> str:
        """One line: rate, latency percentiles, answers by status."""
        statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.requests:,} requests in {self.seconds:.1f} s = {self.requests / self.seconds:,.0f} req/s; "
            f"latency p50 {self.percentile(50):.1f} ms, p90 {self.percentile(90):.1f} ms, "
            f"p99 {self.percentile(99):.1f} ms, max {self.percentile(100):.0f} ms; answers {{{statuses}}}"
        )


def payloads() -> Callable[[], dict[str, Any]]:
    """A source of order payloads: 1,000 customers, totals 0-199 (half of them pass `total > 100`)."""
    numbers = itertools.count(1)

    def make() -> dict[str, Any]:
        n = next(numbers)
        return {
            "order": n,
            "email": f"customer{n % CUSTOMERS}@example.com",
            "name": f"Customer {n % CUSTOMERS}",
            "total": n * 37 % 200,
            "lines": [{"sku": "BOOK-1", "qty": 1 + n % 3}],
        }

    return make


async def _client(client: httpx.AsyncClient, deadline: float, make: Callable[[], dict[str, Any]], tally: Tally) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await client.post("/api/events", json={"event": EVENT, "payload": make()})
            status = str(response.status_code)
            if response.status_code == 202:
                tally.planned += int(response.json()["deliveries_planned"])
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[status] += 1


async def sustain(
    url: str, token: str, *, seconds: float, connections: int, make: Callable[[], dict[str, Any]]
) -> Tally:
    """Keep `connections` requests in flight for `seconds` (closed loop: each sends again once answered)."""
    tally = Tally()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        started = time.monotonic()
        await asyncio.gather(*(_client(client, started + seconds, make, tally) for _ in range(connections)))
        tally.seconds = time.monotonic() - started
    return tally
