"""Live fan-out across several backend processes of several Granian workers each, and the floor in the same run.

    .venv/bin/python benchmarks/fanout_scale.py [--tabs 10000] [--backends 2] [--workers 2] [--json out.json]

Production shape: K Reflex backends (`reflex run --backend-only --env prod`, W Granian
workers each, Reflex's Redis state manager) on one Redis and a seeded SQLite; the N
simulated tabs (`_tabs.py`) are spread round-robin over the K ports, and the kernel
spreads each port's connections over its W workers. A worker counts only its own tabs,
so the benchmark knows every tab has joined when one warm-up post reaches all N. Then
M posts about a second apart, timed from Redis PUBLISH to each tab's packet read.

The floor: K bare python-socketio servers on Granian with W workers each (`_floor.py`),
one emit to a room per Redis message, payload padded to Postboard's size. Each mode's
servers run as one process group, so RSS and CPU are summed over all K × W workers. All
tabs are read by this one process: on a small machine their reading is part of every
figure, in both modes.
"""

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from _report import Memory, Row, print_table, summarize, write_json
from _rounds import Target, publish_one, publish_rounds
from _scratch import dump_logs, run_in_scratch
from _stack import (
    Processes,
    base_env,
    group_rss_bytes,
    migrate,
    read_boot_spec,
    seed_sessions,
    start_boot_spec,
    start_floors,
    start_postboards,
    start_redis,
)
from _tabs import Boot, Inbox, Tab, connect_all, disconnect_all, make_tab, new_http_session
from fanout import (
    FLOOR_CHANNEL,
    floor_message,
    postboard_message,
    redis_used,
)
from redis.asyncio import Redis

MEASURED_FROM = 1_000_000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, default=10_000, help="simulated tabs, spread over every backend")
    parser.add_argument("--backends", type=int, default=2, help="backend processes (K)")
    parser.add_argument("--workers", type=int, default=2, help="Granian workers per backend (W)")
    parser.add_argument("--messages", type=int, default=10, help="measured messages (after the warm-ups)")
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between publishes")
    parser.add_argument("--batch", type=int, default=50, help="tabs connecting concurrently")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one message to reach all")
    parser.add_argument("--join-timeout", type=float, default=900.0, help="seconds to wait for all tabs to join")
    parser.add_argument("--no-floor", action="store_true", help="measure Postboard only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    return parser.parse_args(argv)


async def joined(
    redis: Redis, inbox: Inbox, target: Target, ids: Iterator[int], tabs: int, args: argparse.Namespace
) -> None:
    """Publish warm-up posts until one reaches `tabs` tabs (each worker counts only its own, so ask the tabs)."""
    deadline = time.monotonic() + args.join_timeout
    while time.monotonic() < deadline:
        post_id = next(ids)
        await publish_one(redis, inbox, target.message, post_id, 5.0, tabs=tabs)
        if len(inbox.times.get(post_id, [])) >= tabs:
            return
    raise RuntimeError(f"{target.mode}: not all {tabs} tabs got a post within {args.join_timeout:.0f}s")


async def measure(
    target: Target, ports: Sequence[int], tokens: Sequence[str], boot: Boot, redis_url: str, args: argparse.Namespace
) -> tuple[Row, dict[int, int]]:
    """Open the tabs over every port, publish the messages, close the tabs; return the row and sizes."""
    inbox = Inbox(boot.live_key, len(tokens))
    redis = Redis.from_url(redis_url)
    ids = itertools.count(1)
    async with new_http_session() as http:
        tabs: list[Tab] = [
            make_tab(f"http://127.0.0.1:{ports[i % len(ports)]}", token, boot, inbox, http)
            for i, token in enumerate(tokens)
        ]
        try:
            # A tenth first, as in fanout.py: per-tab memory is the growth from there to all.
            first = max(1, len(tabs) // 10)
            started = time.perf_counter()
            await connect_all(tabs[:first], batch=args.batch)
            await joined(redis, inbox, target, ids, first, args)
            warm, redis_warm = group_rss_bytes(target.pgid), await redis_used(redis)
            await connect_all(tabs[first:], batch=args.batch)
            await joined(redis, inbox, target, ids, len(tabs), args)
            connect_s = time.perf_counter() - started
            start, redis_start = group_rss_bytes(target.pgid), await redis_used(redis)
            # The same ids in both modes, whatever the warm-ups took: the floor pads each to Postboard's size.
            measured = list(range(MEASURED_FROM, MEASURED_FROM + args.messages))
            rounds = await publish_rounds(redis, inbox, target, measured, args)
            memory = Memory(
                warm=warm,
                warm_tabs=first,
                start=start,
                end=group_rss_bytes(target.pgid),
                redis_growth=redis_start - redis_warm,
            )
        finally:
            inbox.closing = True
            await disconnect_all(tabs)
            await redis.aclose()
    return summarize(target, inbox, rounds, connect_s, memory), inbox.sizes


def run(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """Set up Redis, the database and the sessions, then measure Postboard and the floor."""
    procs = Processes(logs=tmp / "logs")
    procs.logs.mkdir()
    try:
        redis_url = start_redis(procs, tmp / "redis")
        env = base_env(redis_url=redis_url, database_url=f"sqlite:///{tmp / 'postboard.db'}", states_dir=tmp / "states")
        # Several processes serve one user's tabs: the states live in Redis (production mode).
        env.update(REFLEX_REDIS_URL=redis_url.rsplit("/", 1)[0] + "/3", REFLEX_STATE_MANAGER_MODE="redis")
        start_boot_spec(procs, env, tmp / "boot.json")
        migrate(env)
        tokens = seed_sessions(env["DATABASE_URL"], args.tabs)
        boot = Boot.from_dict(read_boot_spec(procs, tmp / "boot.json"))
        print(f"measuring {args.tabs} tabs on {args.backends} × {args.workers}…", file=sys.stderr, flush=True)
        ports = start_postboards(procs, env, backends=args.backends, workers=args.workers)
        target = Target("postboard", ports[0], procs.procs["postboard"].pid, postboard_message)
        try:
            postboard, sizes = asyncio.run(measure(target, ports, tokens, boot, redis_url, args))
        finally:
            procs.stop("postboard")
        if args.no_floor:
            return [postboard]
        ports = start_floors(
            procs, env, backends=args.backends, workers=args.workers, channel=FLOOR_CHANNEL, live_key=boot.live_key
        )
        target = Target("floor", ports[0], procs.procs["floor"].pid, floor_message(sizes))
        try:
            floor, _ = asyncio.run(measure(target, ports, tokens, boot, redis_url, args))
        finally:
            procs.stop("floor")
        return [postboard, floor]
    except Exception:
        dump_logs(procs.logs)
        raise
    finally:
        procs.stop_all()


def setup_lines(args: argparse.Namespace) -> list[str]:
    """Say what this run measured, for the table's head."""
    shape = f"{args.backends} backends × {args.workers} Granian workers"
    return [
        f"backend: reflex run --backend-only --env prod, {shape}, Redis state manager",
        f"floor:   bare python-socketio AsyncServer on Granian, {shape}, one emit to a room",
    ]


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings, saved with its figures."""
    return {
        "backend": f"reflex run --backend-only --env prod ({args.backends} × {args.workers} granian workers)",
        "backends": args.backends,
        "workers": args.workers,
        "floor_server": "granian",
        "state_manager": "redis",
        "messages": args.messages,
        "spacing_s": args.spacing,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    rows = run_in_scratch(run, args, tabs=args.tabs, prefix="postboard-fanout-scale-")
    if rows is None:
        return 130
    print_table(rows, setup_lines(args))
    print(f"postboard p99 with {rows[0].tabs} tabs: {rows[0].p99_ms:.0f} ms (goal: ≤ 500 ms)")
    if args.json:
        write_json(args.json, rows, settings(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
