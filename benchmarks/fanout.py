"""Live-push latency of Postboard's real backend, and in the same run a floor to compare it with.

    .venv/bin/python benchmarks/fanout.py [--tabs 100 1000] [--messages 10] [--json out.json]

For each tab count N the script starts ONE Reflex backend (`reflex run --backend-only
--env prod`: one Granian worker, Reflex's default disk state manager in a temp dir, no
Redis state manager) against a private Redis and a seeded SQLite, opens N simulated
tabs of N signed-in users (python-socketio clients speaking Reflex's protocol, see
`_tabs.py`), checks on /api/health that the live hub counts N tabs, then publishes one
warm-up and M measured LivePost envelopes on `postboard:live`, about a second
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
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from _report import Memory, Row, print_table, summarize, write_json
from _rounds import Message, Target, publish_one, publish_rounds
from _scratch import dump_logs, run_in_scratch
from _stack import (
    Processes,
    base_env,
    group_rss_bytes,
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
from postboard.live.messages import Envelope, LivePost

FLOOR_CHANNEL = "bench:floor"
EXCERPT = (
    "A short excerpt of the post, about as long as the ones the dashboard shows in its "
    "feed rows and in the toast that announces a new post to every signed-in tab."
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, nargs="+", default=[100, 1000], help="tab counts to run")
    parser.add_argument("--messages", type=int, default=10, help="measured messages per run (plus one warm-up)")
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between publishes")
    parser.add_argument("--batch", type=int, default=50, help="tabs connecting concurrently")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one message to reach all")
    parser.add_argument("--join-timeout", type=float, default=300.0, help="seconds to wait for all tabs to join")
    parser.add_argument(
        "--server",
        choices=("granian", "uvicorn"),
        default="granian",
        help="the ASGI server of both modes: granian (Reflex's default) or uvicorn (REFLEX_USE_GRANIAN=false; "
        "needs uvicorn, gunicorn and websockets installed in this venv, they are not project dependencies)",
    )
    parser.add_argument("--floor-server", choices=("granian", "uvicorn", "aiohttp"), help="default: as --server")
    parser.add_argument(
        "--state-manager",
        choices=("disk", "redis"),
        default="disk",
        help="Reflex's state manager: disk (one process, states in memory) or redis (production mode)",
    )
    parser.add_argument("--no-floor", action="store_true", help="measure Postboard only (a soak needs no floor)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    args = parser.parse_args(argv)
    args.floor_server = args.floor_server or args.server
    if args.server == "uvicorn" and not all(importlib.util.find_spec(m) for m in ("uvicorn", "gunicorn", "websockets")):
        parser.error("--server uvicorn needs uvicorn, gunicorn and websockets installed in this venv")
    return args


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
    envelope = Envelope(type=names.POST_CREATED, to=[names.SIGNED_IN_ROOM], data=post.model_dump())
    return names.LIVE_CHANNEL, envelope.model_dump_json()


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


async def open_tabs(
    tabs: Sequence[Tab], http: aiohttp.ClientSession, port: int, args: argparse.Namespace, *, total: int
) -> float:
    """Connect the tabs and wait until the server counts `total`; return the seconds it took."""
    started = time.perf_counter()
    await connect_all(tabs, batch=args.batch)
    try:
        async with asyncio.timeout(args.join_timeout):
            await wait_for_tabs(http, port, total)
    except TimeoutError:
        raise RuntimeError(f"not all {total} tabs joined within {args.join_timeout:.0f}s") from None
    return time.perf_counter() - started


async def redis_used(redis: Redis) -> int:
    """Return the bytes Redis holds (INFO memory used_memory): with the redis state manager, the tabs' states."""
    info = await redis.info("memory")
    return int(info["used_memory"])


async def measure(
    target: Target, tokens: Sequence[str], boot: Boot, redis_url: str, args: argparse.Namespace
) -> tuple[Row, dict[int, int]]:
    """Open one tab per token, publish the messages, close the tabs; return the row and sizes."""
    inbox = Inbox(boot.live_key, len(tokens))
    redis = Redis.from_url(redis_url)
    async with new_http_session() as http:
        tabs = [make_tab(f"http://127.0.0.1:{target.port}", token, boot, inbox, http) for token in tokens]
        try:
            # A tenth of the tabs first: what the first connections cost once (imports, pools,
            # heap arenas) is not a per-tab cost. Then the rest, and per tab = growth / rest.
            first = max(1, len(tabs) // 10)
            connect_s = await open_tabs(tabs[:first], http, target.port, args, total=first)
            await publish_one(redis, inbox, target.message, 0, args.timeout, tabs=first)
            warm, redis_warm = group_rss_bytes(target.pgid), await redis_used(redis)
            connect_s += await open_tabs(tabs[first:], http, target.port, args, total=len(tabs))
            await publish_one(redis, inbox, target.message, 1, args.timeout)  # warm-up, not counted
            # After the warm-up: every tab's state has been loaded and updated once.
            start, redis_start = group_rss_bytes(target.pgid), await redis_used(redis)
            rounds = await publish_rounds(redis, inbox, target, range(2, args.messages + 2), args)
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


def run_tab_count(
    procs: Processes, env: dict[str, str], tokens: Sequence[str], boot: Boot, args: argparse.Namespace
) -> list[Row]:
    """Measure Postboard, then the floor with Postboard's payload sizes, for one tab count."""
    if args.state_manager == "redis":
        # Its own database: the tabs' states are counted apart from the rest of Redis.
        env = dict(env, REFLEX_REDIS_URL=env["REDIS_URL"].rsplit("/", 1)[0] + "/3", REFLEX_STATE_MANAGER_MODE="redis")
    if args.server == "uvicorn":
        env = dict(env, REFLEX_USE_GRANIAN="false")
    port = start_postboard(procs, env)
    target = Target("postboard", port, procs.procs["postboard"].pid, postboard_message)
    try:
        postboard, sizes = asyncio.run(measure(target, tokens, boot, env["REDIS_URL"], args))
    finally:
        procs.stop("postboard")
    if args.no_floor:
        return [postboard]
    port = start_floor(procs, env, server=args.floor_server, channel=FLOOR_CHANNEL, live_key=boot.live_key)
    target = Target("floor", port, procs.procs["floor"].pid, floor_message(sizes))
    try:
        floor, _ = asyncio.run(measure(target, tokens, boot, env["REDIS_URL"], args))
    finally:
        procs.stop("floor")
    return [postboard, floor]


def setup_lines(args: argparse.Namespace) -> list[str]:
    """Say what this run measured, for the table's head."""
    return [
        f"backend: reflex run --backend-only --env prod ({args.server}, 1 worker, {args.state_manager} state manager)",
        f"floor:   bare python-socketio AsyncServer on {args.floor_server}, 1 worker, one emit to a room",
    ]


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings, saved with its figures."""
    return {
        "backend": f"reflex run --backend-only --env prod ({args.server}, 1 worker)",
        "server": args.server,
        "floor_server": args.floor_server,
        "state_manager": args.state_manager,
        "messages": args.messages,
        "spacing_s": args.spacing,
    }


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
        dump_logs(procs.logs)
        raise
    finally:
        procs.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    rows = run_in_scratch(run, args, tabs=max(args.tabs), prefix="postboard-fanout-")
    if rows is None:
        return 130
    print_table(rows, setup_lines(args))
    if args.json:
        write_json(args.json, rows, settings(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
