"""Live-push latency of Postboard's real backend, and in the same run a floor to compare it with.

    .venv/bin/python benchmarks/fanout.py [--tabs 100 1000] [--messages 10] [--json out.json]

For each tab count N the script starts ONE Reflex backend (`reflex run --backend-only
--env prod`: one Granian worker, Reflex's default disk state manager in a temp dir, no
Redis state manager) against a private Redis and a seeded SQLite, opens N simulated
tabs of N signed-in users (python-socketio clients speaking Reflex's protocol, see
`_tabs.py`), checks on /api/health that the live hub counts N tabs, then publishes one
warm-up and M measured LivePost messages on `postboard:live:posts`, about a second
apart, and times publish → tab received.

The floor is the same measurement against a bare python-socketio server (`_floor.py`,
Granian ASGI by default) that does one `sio.emit` to a room per Redis message, with a
payload padded to the byte size of Postboard's update for the same message. Servers
run in their own processes; the tabs and the publisher run in this one, so on a small
machine the tabs' own reading of N sockets is part of every figure, in both modes:
compare the two modes, and watch the "others" column (load from other processes).
"""

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
from _stack import (
    Processes,
    base_env,
    group_cpu_seconds,
    machine_busy_seconds,
    migrate,
    read_boot_spec,
    seed_sessions,
    start_boot_spec,
    start_floor,
    start_postboard,
    start_redis,
)
from _tabs import Boot, Inbox, Tab, connect_all, disconnect_all, make_tab, new_http_session
from redis.asyncio import Redis

from postboard import names
from postboard.live.messages import LivePost

FLOOR_CHANNEL = "bench:floor"
EXCERPT = (
    "A short excerpt of the post, about as long as the ones the dashboard shows in its "
    "feed rows and in the toast that announces a new post to every signed-in tab."
)
# Builds the (channel, message) to publish for a post id.
Message = Callable[[int], tuple[str, str]]


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


@dataclass
class CpuSample:
    """CPU seconds used so far by the server's processes, this process and the whole machine."""

    server: float = 0.0
    client: float = 0.0
    machine: float = 0.0
    wall: float = 0.0

    @classmethod
    def take(cls, pgid: int) -> "CpuSample":
        """Read the counters now (a few ms: it scans /proc)."""
        return cls(group_cpu_seconds(pgid), time.process_time(), machine_busy_seconds(), time.perf_counter())

    def __sub__(self, other: "CpuSample") -> "CpuSample":
        return CpuSample(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __add__(self, other: "CpuSample") -> "CpuSample":
        return CpuSample(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def others_cores(self) -> float:
        """Return how many cores other processes kept busy over this interval, on average."""
        return max(0.0, self.machine - self.server - self.client) / self.wall if self.wall else 0.0


@dataclass
class Rounds:
    """What publishing the measured messages produced, besides the inbox."""

    sent: dict[int, float]
    fanout: CpuSample  # summed over each message's publish → last tab
    window: CpuSample  # the whole series of messages


@dataclass
class Target:
    """A running server under test."""

    mode: str
    port: int
    pgid: int
    message: Message


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, nargs="+", default=[100, 1000], help="tab counts to run")
    parser.add_argument("--messages", type=int, default=10, help="measured messages per run (plus one warm-up)")
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between publishes")
    parser.add_argument("--batch", type=int, default=50, help="tabs connecting concurrently")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one message to reach all")
    parser.add_argument("--join-timeout", type=float, default=300.0, help="seconds to wait for all tabs to join")
    parser.add_argument("--floor-server", choices=("granian", "aiohttp"), default="granian")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    return parser.parse_args(argv)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank `q` quantile (0 < q <= 1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def postboard_message(post_id: int) -> tuple[str, str]:
    """Return a valid LivePost on Postboard's live channel."""
    post = LivePost(
        id=post_id,
        title=f"Benchmark post {post_id}",
        author="Bench Writer",
        excerpt=EXCERPT,
        created_at=datetime.now(UTC).isoformat(),
        url=f"/posts/{post_id}",
    )
    return names.POSTS_CHANNEL, post.model_dump_json()


def floor_message(sizes: dict[int, int]) -> Message:
    """Return floor messages asking for the byte size Postboard's update had for each post."""
    fallback = max(sizes.values(), default=1024)

    def message(post_id: int) -> tuple[str, str]:
        return FLOOR_CHANNEL, json.dumps({"id": post_id, "bytes": sizes.get(post_id, fallback)})

    return message


async def wait_for_tabs(http: aiohttp.ClientSession, port: int, tabs: int) -> None:
    """Wait until the server's /api/health counts `tabs` live tabs."""
    while True:
        async with http.get(f"http://127.0.0.1:{port}/api/health") as resp:
            if (await resp.json())["live_tabs"] == tabs:
                return
        await asyncio.sleep(0.25)


async def publish_one(redis: Redis, inbox: Inbox, message: Message, post_id: int, wait_s: float) -> float:
    """Publish one post, wait until every tab has it (or `wait_s` passed); return the publish time."""
    complete = inbox.expect(post_id)
    channel, data = message(post_id)
    sent = time.perf_counter()
    await redis.publish(channel, data)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(complete.wait(), wait_s)
    return sent


async def publish_rounds(
    redis: Redis, inbox: Inbox, target: Target, ids: Sequence[int], args: argparse.Namespace
) -> Rounds:
    """Publish `ids` `args.spacing` apart with this process's collector off; measure CPU used."""
    sent: dict[int, float] = {}
    fanout = CpuSample()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        start = CpuSample.take(target.pgid)
        for post_id in ids:
            before = CpuSample.take(target.pgid)
            sent[post_id] = await publish_one(redis, inbox, target.message, post_id, args.timeout)
            fanout += CpuSample.take(target.pgid) - before
            await asyncio.sleep(max(0.0, args.spacing - (time.perf_counter() - sent[post_id])))
        window = CpuSample.take(target.pgid) - start
    finally:
        gc.enable()
        gc.unfreeze()
    return Rounds(sent=sent, fanout=fanout, window=window)


def summarize(target: Target, inbox: Inbox, rounds: Rounds, connect_s: float) -> Row:
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
    )


async def open_tabs(tabs: Sequence[Tab], http: aiohttp.ClientSession, port: int, args: argparse.Namespace) -> float:
    """Connect the tabs and wait until the server counts them all; return the seconds it took."""
    started = time.perf_counter()
    await connect_all(tabs, batch=args.batch)
    try:
        async with asyncio.timeout(args.join_timeout):
            await wait_for_tabs(http, port, len(tabs))
    except TimeoutError:
        raise RuntimeError(f"not all {len(tabs)} tabs joined within {args.join_timeout:.0f}s") from None
    return time.perf_counter() - started


async def measure(
    target: Target, tokens: Sequence[str], boot: Boot, redis_url: str, args: argparse.Namespace
) -> tuple[Row, dict[int, int]]:
    """Open one tab per token, publish the messages, close the tabs; return the row and sizes."""
    inbox = Inbox(boot.live_key, len(tokens))
    redis = Redis.from_url(redis_url)
    async with new_http_session() as http:
        tabs = [make_tab(f"http://127.0.0.1:{target.port}", token, boot, inbox, http) for token in tokens]
        try:
            connect_s = await open_tabs(tabs, http, target.port, args)
            await publish_one(redis, inbox, target.message, 1, args.timeout)  # warm-up, not counted
            rounds = await publish_rounds(redis, inbox, target, range(2, args.messages + 2), args)
        finally:
            await disconnect_all(tabs)
            await redis.aclose()
    return summarize(target, inbox, rounds, connect_s), inbox.sizes


def run_tab_count(
    procs: Processes, env: dict[str, str], tokens: Sequence[str], boot: Boot, args: argparse.Namespace
) -> list[Row]:
    """Measure Postboard, then the floor with Postboard's payload sizes, for one tab count."""
    port = start_postboard(procs, env)
    target = Target("postboard", port, procs.procs["postboard"].pid, postboard_message)
    try:
        postboard, sizes = asyncio.run(measure(target, tokens, boot, env["REDIS_URL"], args))
    finally:
        procs.stop("postboard")
    port = start_floor(procs, env, server=args.floor_server, channel=FLOOR_CHANNEL, live_key=boot.live_key)
    target = Target("floor", port, procs.procs["floor"].pid, floor_message(sizes))
    try:
        floor, _ = asyncio.run(measure(target, tokens, boot, env["REDIS_URL"], args))
    finally:
        procs.stop("floor")
    return [postboard, floor]


def raise_open_files(tabs: int) -> None:
    """Raise this process's (and so the servers') open-files limit to fit `tabs` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * tabs + 512
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


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
    )


def _line(cells: Sequence[str]) -> str:
    return "  ".join(
        cell.ljust(-width) if width < 0 else cell.rjust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True)
    )


def print_table(rows: Sequence[Row], args: argparse.Namespace) -> None:
    """Print the figures, one line per tab count and mode, then the p99 ratios."""
    print(
        "\nbackend: reflex run --backend-only --env prod (Granian, 1 worker, disk state manager)"
        f"\nfloor:   bare python-socketio AsyncServer on {args.floor_server}, 1 worker, one emit to a room"
        "\nlatency: Redis PUBLISH → the tab's Engine.IO packet read, all tabs × measured messages;"
        "\n         last-tab med = median over messages of the slowest tab; cpu/msg = publish → last tab;"
        "\n         payload B = socket.io packet bytes per tab (floor padded to Postboard's, per message);"
        "\n         others = cores kept busy by processes outside this benchmark during the messages\n"
    )
    head = _line([name for name, _ in _COLUMNS])
    print(head, "-" * len(head), *(_line(_cells(r)) for r in rows), "", sep="\n")
    for n, ratio in p99_ratios(rows).items():
        print(f"N={n}: postboard p99 / floor p99 = {ratio:.2f}")
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


def write_json(path: Path, rows: Sequence[Row], args: argparse.Namespace) -> None:
    """Write the rows and the run's settings as JSON."""
    data: dict[str, Any] = {
        "backend": "reflex run --backend-only --env prod (granian, 1 worker)",
        "floor_server": args.floor_server,
        "cpus": os.cpu_count(),
        "messages": args.messages,
        "spacing_s": args.spacing,
        "rows": [asdict(r) for r in rows],
        "p99_ratio": {str(n): ratio for n, ratio in p99_ratios(rows).items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def _terminate(_sig: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _dump_logs(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines)", *tail, sep="\n", file=sys.stderr)


def run(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """Set up Redis, the database, users and sessions, then measure every tab count."""
    procs = Processes(logs=tmp / "logs")
    procs.logs.mkdir()
    try:
        redis_url = start_redis(procs, tmp / "redis")
        env = base_env(redis_url=redis_url, database_url=f"sqlite:///{tmp / 'postboard.db'}", states_dir=tmp / "states")
        start_boot_spec(procs, env, tmp / "boot.json")
        migrate(env)
        tokens = seed_sessions(env["DATABASE_URL"], max(args.tabs))
        boot = Boot.from_dict(read_boot_spec(procs, tmp / "boot.json"))
        rows: list[Row] = []
        for n in args.tabs:
            print(f"measuring {n} tabs…", file=sys.stderr, flush=True)
            rows += run_tab_count(procs, env, tokens[:n], boot, args)
        return rows
    except Exception:
        _dump_logs(procs.logs)
        raise
    finally:
        procs.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    # Our own handler for both, so asyncio.run does not turn the first Ctrl-C into a task
    # cancellation that the socket libraries may swallow: stop at once, clean up below.
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGTERM, _terminate)
    raise_open_files(max(args.tabs))
    tmp = Path(tempfile.mkdtemp(prefix="postboard-fanout-"))
    try:
        rows = run(args, tmp)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows, args)
    if args.json:
        write_json(args.json, rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
