"""Publish request latency with a small and a large audience, the fan-out running meanwhile.

    .venv/bin/python benchmarks/publish_latency.py [--users 10 100000] [--posts 30] [--spacing 0.5]

For each audience size, in a fresh child process: a private Redis, a migrated SQLite in a
temp dir (or `--database-url`, a PostgreSQL database this run may empty), the Maildir SMTP
sink, one `taskiq worker` per queue for emails and notifications, N members and one editor.
Then it publishes one warm-up post and `--posts` measured ones `--spacing` seconds apart and
times each the way the New post form's handler runs it: `posts.service.publish` (post and
outbox row in one transaction, two jobs queued through `TaskiqDispatcher`) followed by
`get_post`. The workers fan every post out to all N users while the later ones are
published, so with a large audience each publish competes with thousands of delivery
writes a second. The floor is the same measurement with the smallest audience, in the same
run: the figure to read is p99(large) / p99(small), which should stay near 1.
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _mailrun import BenchmarkFailed, Stack, boot, stop_all
from _report import percentile

HERE = Path(__file__).resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 100_000], help="audience sizes to compare")
    parser.add_argument("--posts", type=int, default=30, help="measured publishes per audience (plus a warm-up)")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds from one publish's start to the next")
    parser.add_argument("--database-url", default="", help="a database to use instead of a temp SQLite (emptied!)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def _publish_series(author_id: int, posts: int, spacing: float) -> list[float]:
    """Publish a warm-up and `posts` timed posts; return each one's milliseconds."""
    from postboard.db import session_scope
    from postboard.posts.service import get_post, publish
    from postboard.users.models import User
    from tasks.brokers import BROKERS
    from tasks.dispatch import TaskiqDispatcher

    dispatcher = TaskiqDispatcher()
    timings: list[float] = []
    try:
        for n in range(posts + 1):
            started = time.perf_counter()
            with session_scope() as session:
                author = session.get(User, author_id)
                assert author is not None
                result = await publish(
                    session, author=author, title=f"Latency {n}", content="Numbers are up.", dispatcher=dispatcher
                )
                get_post(session, post_id=result.post.id or 0)
            took = time.perf_counter() - started
            if not result.queued_now:
                raise BenchmarkFailed("publish did not queue its jobs")
            if n:  # the first one warms connections and caches
                timings.append(took * 1000)
            await asyncio.sleep(max(0.0, spacing - took))
    finally:
        for broker in BROKERS:
            await broker.shutdown()
    return timings


def _reset_database(url: str) -> None:
    """Drop every table of a given (PostgreSQL) database so migrations start from nothing."""
    from sqlalchemy import MetaData, create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def child(args: argparse.Namespace, users: int) -> dict[str, object]:
    """One audience size: boot the stack, seed, publish the series; return the figures."""
    from email_fanout import seed

    stack = Stack(root=Path(tempfile.mkdtemp(prefix="postboard-publish-bench-")))
    try:
        if args.database_url:
            _reset_database(args.database_url)
        boot(stack, chunk_size=500, email_concurrency=8, database_url=args.database_url)
        author_id = seed(users)
        timings = asyncio.run(_publish_series(author_id, args.posts, args.spacing))
        stack.check_alive()
    finally:
        stop_all(stack)
        shutil.rmtree(stack.root, ignore_errors=True)
    return {
        "users": users,
        "posts": len(timings),
        "p50_ms": percentile(timings, 0.5),
        "p99_ms": percentile(timings, 0.99),
        "max_ms": max(timings),
        "timings_ms": timings,
    }


def _run_child(args: argparse.Namespace, users: int) -> dict[str, object]:
    out = Path(tempfile.mkstemp(prefix="publish-latency-", suffix=".json")[1])
    cmd = [sys.executable, str(HERE), "--child", str(out), "--users", str(users), "--posts", str(args.posts)]
    cmd += ["--spacing", str(args.spacing)] + (["--database-url", args.database_url] if args.database_url else [])
    try:
        subprocess.run(cmd, check=True)
        figures: dict[str, object] = json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure every audience size in its own process and print the comparison."""
    args = parse_args(argv)
    if args.child is not None:
        try:
            args.child.write_text(json.dumps(child(args, args.users[0])))
        except BenchmarkFailed as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        return 0
    rows = [_run_child(args, users) for users in args.users]
    database = "the given database" if args.database_url else "SQLite (temp file)"
    print(f"\npublish request latency: publish + get_post, {args.posts} posts {args.spacing} s apart, {database}")
    print(f"{'users':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}")
    for row in rows:
        print(f"{row['users']:>8,}  {row['p50_ms']:7.1f}  {row['p99_ms']:7.1f}  {row['max_ms']:7.1f}")
    small, large = rows[0], rows[-1]
    ratio = float(str(large["p99_ms"])) / float(str(small["p99_ms"]))
    print(f"p99 with {large['users']:,} users / p99 with {small['users']:,} users = {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "p99_ratio": ratio, "database": database}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
