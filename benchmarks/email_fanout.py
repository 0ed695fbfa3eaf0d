"""Email fan-out throughput: one publish to N members through real Redis, taskiq workers and the SMTP sink.

    .venv/bin/python benchmarks/email_fanout.py --users 10000 [--chunk-size 500] [--email-concurrency 8]

Starts a private Redis, a migrated SQLite in a temp dir, the aiosmtpd Maildir sink in its own
process and one `taskiq worker` per queue; seeds N members plus one editor, publishes once
through `TaskiqDispatcher` and times the N emails landing in the sink's `new/` folder, the N
`sent` deliveries and the N+1 in-app notifications. First and last email times come from the
Maildir files' mtimes; the other times from polling every POLL seconds. Everything it starts
is stopped, and its temp dir deleted, before it exits.
"""

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _mailrun import (
    POLL,
    BenchmarkFailed,
    MailStats,
    Sched,
    Stack,
    boot,
    count_mail,
    read_mailbox,
    sched_snapshot,
    stop_all,
    tail,
)

AUTHOR_EMAIL = "author@example.com"


@dataclass
class Timeline:
    """Seconds after publish at which each part of the fan-out was seen complete (polled)."""

    emails: float | None = None
    sent: float | None = None
    notifications: float | None = None

    def done(self) -> bool:
        """Whether every part is complete."""
        return None not in (self.emails, self.sent, self.notifications)


@dataclass(frozen=True)
class Published:
    """The post, and the clocks and scheduler counters read just before `publish` was called."""

    post_id: int
    t0_mono: float
    t0_wall: float
    sched: dict[str, Sched]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="members to email (plus one author)")
    parser.add_argument("--chunk-size", type=int, default=500, help="EMAIL_CHUNK_SIZE: recipients per chunk job")
    parser.add_argument("--email-concurrency", type=int, default=8, help="emails worker --max-async-tasks")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for the whole run")
    return parser.parse_args(argv)


def seed(users: int) -> int:
    """Create the editor who publishes, then `users` members; return the author's id."""
    from postboard.db import session_scope
    from postboard.users.models import Role
    from postboard.users.service import create_user, seed_members

    with session_scope() as session:
        author = create_user(session, name="Ada Author", email=AUTHOR_EMAIL, password="password123", role=Role.EDITOR)
        seed_members(session, count=users, password="password123")
        assert author.id is not None
        return author.id


async def publish_once(stack: Stack, author_id: int) -> Published:
    """Publish one post through the real outbox + Taskiq dispatcher, timing from just before."""
    from postboard.db import session_scope
    from postboard.posts.service import publish
    from postboard.users.models import User
    from tasks.brokers import BROKERS
    from tasks.dispatch import TaskiqDispatcher

    dispatcher = TaskiqDispatcher()
    with session_scope() as session:
        author = session.get(User, author_id)
        assert author is not None
        sched = sched_snapshot(stack)
        t0_mono, t0_wall = time.monotonic(), time.time()
        result = await publish(
            session, author=author, title="Benchmark <b>fan-out</b>", content="Numbers are up.", dispatcher=dispatcher
        )
    for broker in BROKERS:
        await broker.shutdown()
    if not result.queued_now or result.post.id is None:
        raise BenchmarkFailed("publish did not queue its jobs")
    return Published(post_id=result.post.id, t0_mono=t0_mono, t0_wall=t0_wall, sched=sched)


def count_rows(post_id: int) -> tuple[int, int]:
    """(sent email deliveries, notifications) of the post, in one short read."""
    from sqlalchemy import text

    from postboard.db import get_engine

    with get_engine().connect() as conn:
        sent = conn.execute(
            text("SELECT count(*) FROM delivery WHERE post_id = :p AND channel = 'email' AND status = 'sent'"),
            {"p": post_id},
        ).scalar_one()
        notes = conn.execute(text("SELECT count(*) FROM notification WHERE post_id = :p"), {"p": post_id}).scalar_one()
    return int(sent), int(notes)


def watch(stack: Stack, published: Published, users: int, deadline: float) -> Timeline:
    """Poll the database, then the sink's folder, until N sent deliveries, N+1 notifications and N emails exist."""
    timeline = Timeline()
    mail = sent = notes = 0
    while True:
        if timeline.sent is None or timeline.notifications is None:
            sent, notes = count_rows(published.post_id)
        if timeline.emails is None and sent >= users:  # a delivery is marked sent after the sink stored it
            mail = count_mail(stack.mailbox)
        now = time.monotonic() - published.t0_mono
        if timeline.emails is None and mail >= users:
            timeline.emails = now
        if timeline.sent is None and sent >= users:
            timeline.sent = now
        if timeline.notifications is None and notes >= users + 1:
            timeline.notifications = now
        if timeline.done():
            return timeline
        stack.check_alive()
        if time.monotonic() > deadline:
            raise BenchmarkFailed(
                f"not done {time.monotonic() - published.t0_mono:.0f}s after publish (run --timeout reached): "
                f"{count_mail(stack.mailbox)}/{users} emails in the sink, "
                f"{sent}/{users} deliveries sent, {notes}/{users + 1} notifications\n"
                f"emails worker log:\n{tail(stack.log('emails'))}"
            )
        time.sleep(POLL)


def delivery_statuses(post_id: int) -> dict[str, int]:
    """Email delivery rows of the post by status."""
    from postboard.db import session_scope
    from postboard.deliveries.models import Channel
    from postboard.deliveries.service import count_by_status

    with session_scope() as session:
        counts = count_by_status(session, post_id=post_id, channel=Channel.EMAIL)
    return {str(status): n for status, n in counts.items()}


def problems(mail: MailStats, statuses: dict[str, int], users: int) -> list[str]:
    """Everything that differs from exactly one email and one `sent` row per member."""
    found: list[str] = []
    if mail.total != users or len(mail.recipients) != users:
        found.append(f"sink holds {mail.total} messages for {len(mail.recipients)} recipients, expected {users}")
    duplicated = {rcpt: n for rcpt, n in mail.recipients.items() if n > 1}
    if duplicated:
        found.append(f"{len(duplicated)} recipients got more than one copy, e.g. {next(iter(duplicated.items()))}")
    if AUTHOR_EMAIL in mail.recipients:
        found.append("the author was emailed")
    if statuses != {"sent": users}:
        found.append(f"delivery statuses {statuses}, expected {{'sent': {users}}}")
    return found


def report(
    args: argparse.Namespace,
    *,
    setup: float,
    timeline: Timeline,
    mail: MailStats,
    statuses: dict[str, int],
    sched: dict[str, Sched],
    window: float,
) -> None:
    """Print the figures."""
    n = args.users
    chunks = math.ceil((n + 1) / args.chunk_size)
    print(
        f"email fan-out: {n:,} members + 1 author, chunk size {args.chunk_size} ({chunks} chunk jobs), "
        f"emails worker --max-async-tasks {args.email_concurrency}, {os.cpu_count()} CPUs"
    )
    print(f"  setup (redis, migrate, sink, workers, seed)   {setup:8.2f} s")
    print(f"  publish -> first email in sink               {mail.first:8.2f} s")
    print(f"  publish -> last email in sink                {mail.last:8.2f} s")
    print(f"  throughput, publish -> last email            {n / mail.last:8.0f} emails/s")
    if n > 1 and mail.last > mail.first:
        print(f"  throughput, first -> last email              {(n - 1) / (mail.last - mail.first):8.0f} emails/s")
    print(f"  publish -> all N emails in sink (polled)     {timeline.emails:8.2f} s")
    print(f"  publish -> all N deliveries 'sent' (polled)  {timeline.sent:8.2f} s")
    print(f"  publish -> all N+1 notifications (polled)    {timeline.notifications:8.2f} s")
    print(f"  delivery statuses                            {statuses}")
    print(
        f"  sink: {mail.total} messages, {len(mail.recipients)} distinct X-Envelope-To, "
        f"max copies per recipient {max(mail.recipients.values(), default=0)}"
    )
    print(
        f"  publish -> done: {window:.2f} s wall, load average {os.getloadavg()[0]:.1f}; per process group "
        "(100% = one core for the whole window):"
    )
    print(f"    {'':<20} {'on CPU':>15} {'CPU per email':>14} {'waiting for CPU':>17}")
    for name, used in sorted(sched.items(), key=lambda item: -item[1].cpu):
        print(
            f"    {name:<20} {used.cpu:7.2f} s {100 * used.cpu / window:4.0f}% {1000 * used.cpu / n:10.2f} ms "
            f"{used.wait:8.2f} s {100 * used.wait / window:4.0f}%"
        )


def run(stack: Stack, args: argparse.Namespace) -> int:
    """Boot, seed, publish once, wait for the fan-out, check and print it; return the exit code."""
    started = time.monotonic()
    deadline = started + args.timeout
    boot(stack, chunk_size=args.chunk_size, email_concurrency=args.email_concurrency)
    author_id = seed(args.users)
    setup = time.monotonic() - started
    published = asyncio.run(publish_once(stack, author_id))
    timeline = watch(stack, published, args.users, deadline)
    after, window = sched_snapshot(stack), time.monotonic() - published.t0_mono
    time.sleep(1.0)  # a duplicate sent late would land now
    mail = read_mailbox(stack.mailbox, published.t0_wall)
    statuses = delivery_statuses(published.post_id)
    sched = {name: after[name] - published.sched[name] for name in after}
    report(args, setup=setup, timeline=timeline, mail=mail, statuses=statuses, sched=sched, window=window)
    found = problems(mail, statuses, args.users)
    for problem in found:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark in a temp dir and clean everything up."""
    args = parse_args(argv)
    stack = Stack(root=Path(tempfile.mkdtemp(prefix="postboard-email-bench-")))
    try:
        return run(stack, args)
    except BenchmarkFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all(stack)
        shutil.rmtree(stack.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
