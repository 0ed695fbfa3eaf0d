"""The figures of a fan-out run: one row per tab count and mode, printed as a table or saved as JSON.

Used by `fanout.py`.
"""

import json
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _rounds import Rounds, Target
from _tabs import Inbox

MIB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """Resident memory of the server's processes: with the first tabs, with every tab hydrated, after the messages."""

    warm: int
    warm_tabs: int
    start: int
    end: int
    redis_growth: int = 0


@dataclass
class Row:
    """The figures of one mode at one tab count."""

    tabs: int
    mode: str
    messages: int
    delivered: int
    expected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    last_tab_median_ms: float
    bytes_min: int
    bytes_max: int
    connect_s: float
    server_cpu_ms_per_msg: float
    client_cpu_ms_per_msg: float
    others_cores: float
    first_tab_ms: list[float]
    last_tab_ms: list[float]
    drops: int = 0
    rss_warm_mib: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    kib_per_tab: float = 0.0
    redis_kib_per_tab: float = 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank `q` quantile (0 < q <= 1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize(target: Target, inbox: Inbox, rounds: Rounds, connect_s: float, memory: Memory) -> Row:
    """Turn receive times into the row of the table."""
    ids = list(rounds.sent)
    latencies = [(t - rounds.sent[i]) * 1000 for i in ids for t in inbox.times.get(i, [])]
    first = [(min(inbox.times[i]) - rounds.sent[i]) * 1000 for i in ids if inbox.times.get(i)]
    last = [(max(inbox.times[i]) - rounds.sent[i]) * 1000 for i in ids if inbox.times.get(i)]
    sizes = [inbox.sizes[i] for i in ids if i in inbox.sizes]
    if not latencies:
        raise RuntimeError(f"{target.mode}: no tab received any live update")
    return Row(
        tabs=inbox.tabs,
        mode=target.mode,
        messages=len(ids),
        delivered=len(latencies),
        expected=len(ids) * inbox.tabs,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies),
        last_tab_median_ms=statistics.median(last),
        bytes_min=min(sizes),
        bytes_max=max(sizes),
        connect_s=connect_s,
        server_cpu_ms_per_msg=rounds.fanout.server * 1000 / len(ids),
        client_cpu_ms_per_msg=rounds.fanout.client * 1000 / len(ids),
        others_cores=rounds.window.others_cores(),
        first_tab_ms=first,
        last_tab_ms=last,
        drops=inbox.drops,
        rss_warm_mib=memory.warm / MIB,
        rss_start_mib=memory.start / MIB,
        rss_end_mib=memory.end / MIB,
        kib_per_tab=(memory.start - memory.warm) / 1024 / max(1, inbox.tabs - memory.warm_tabs),
        redis_kib_per_tab=memory.redis_growth / 1024 / max(1, inbox.tabs - memory.warm_tabs),
    )


_COLUMNS = (
    ("N", 5),
    ("mode", -9),
    ("msgs", 4),
    ("delivered", 11),
    ("p50 ms", 7),
    ("p99 ms", 7),
    ("max ms", 7),
    ("last-tab med", 12),
    ("payload B", 9),
    ("srv cpu/msg", 11),
    ("tabs cpu/msg", 12),
    ("others", 6),
    ("connect", 7),
    ("drops", 5),
    ("KiB/tab", 7),
    ("redis KiB/tab", 13),
    ("RSS start→end MiB", 17),
)
# Above this many cores of other processes' load, latencies say more about the machine.
_BUSY_MACHINE = 0.25


def _cells(r: Row) -> tuple[str, ...]:
    return (
        str(r.tabs),
        r.mode,
        str(r.messages),
        f"{r.delivered}/{r.expected}",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{r.max_ms:.1f}",
        f"{r.last_tab_median_ms:.1f}",
        f"{r.bytes_min}-{r.bytes_max}" if r.bytes_min != r.bytes_max else str(r.bytes_min),
        f"{r.server_cpu_ms_per_msg:.0f} ms",
        f"{r.client_cpu_ms_per_msg:.0f} ms",
        f"{r.others_cores:.2f}",
        f"{r.connect_s:.1f} s",
        str(r.drops),
        f"{r.kib_per_tab:.1f}",
        f"{r.redis_kib_per_tab:.1f}",
        f"{r.rss_start_mib:.0f}→{r.rss_end_mib:.0f}",
    )


def _line(cells: Sequence[str]) -> str:
    return "  ".join(
        cell.ljust(-width) if width < 0 else cell.rjust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True)
    )


def print_table(rows: Sequence[Row], setup: Sequence[str]) -> None:
    """Print what was measured (`setup` lines), the figures, one line per tab count and mode, then the ratios."""
    print(*setup, sep="\n")
    print(
        "latency: Redis PUBLISH → the tab's Engine.IO packet read, all tabs × measured messages;"
        "\n         last-tab med = median over messages of the slowest tab; cpu/msg = publish → last tab;"
        "\n         payload B = socket.io packet bytes per tab (floor padded to Postboard's, per message);"
        "\n         others = cores kept busy by processes outside this benchmark during the messages;"
        "\n         drops = sockets that closed during the run; KiB/tab = server RSS growth from a tenth of"
        "\n         the tabs to all of them, hydrated, per added tab; RSS = before → after the measured messages\n"
    )
    head = _line([name for name, _ in _COLUMNS])
    print(head, "-" * len(head), *(_line(_cells(r)) for r in rows), "", sep="\n")
    for n, ratio in p99_ratios(rows).items():
        print(f"N={n}: postboard p99 / floor p99 = {ratio:.2f}")
    for n, own in own_kib_per_tab(rows).items():
        print(f"N={n}: postboard's own memory per tab (its KiB/tab - the floor's, same server) = {own:.1f} KiB")
    if any(r.others_cores > _BUSY_MACHINE for r in rows):
        print(f"warning: other processes kept over {_BUSY_MACHINE} cores busy in some runs; rerun on a quiet machine")


def p99_ratios(rows: Sequence[Row]) -> dict[int, float]:
    """Return postboard p99 / floor p99 per tab count."""
    by_key = {(r.tabs, r.mode): r for r in rows}
    return {
        n: by_key[(n, "postboard")].p99_ms / by_key[(n, "floor")].p99_ms
        for n in sorted({r.tabs for r in rows})
        if (n, "postboard") in by_key and (n, "floor") in by_key
    }


def own_kib_per_tab(rows: Sequence[Row]) -> dict[int, float]:
    """Return, per tab count, the memory per tab Postboard adds over the floor on the same server."""
    by_key = {(r.tabs, r.mode): r for r in rows}
    return {
        n: by_key[(n, "postboard")].kib_per_tab - by_key[(n, "floor")].kib_per_tab
        for n in sorted({r.tabs for r in rows})
        if (n, "postboard") in by_key and (n, "floor") in by_key
    }


def write_json(path: Path, rows: Sequence[Row], settings: dict[str, Any]) -> None:
    """Write the rows, the ratios and the run's `settings` as JSON."""
    data: dict[str, Any] = {
        **settings,
        "cpus": os.cpu_count(),
        "rows": [asdict(r) for r in rows],
        "p99_ratio": {str(n): ratio for n, ratio in p99_ratios(rows).items()},
        "own_kib_per_tab": {str(n): kib for n, kib in own_kib_per_tab(rows).items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
