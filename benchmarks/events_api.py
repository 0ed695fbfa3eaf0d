"""Sustained `POST /api/events` on the real stack: requests/s, latency, errors, deliveries sent per second.

    .venv/bin/python benchmarks/events_api.py [--seconds 30] [--connections 16] [--server reflex|asgi]

Starts a private Redis, a migrated SQLite in a temp dir, the SMTP sink in its own process,
one `taskiq worker` for each queue the rules use (emails, notifications) and the backend:
by default `reflex run --backend-only --env prod` with one Granian worker, which is how
Postboard serves `/api` in production; `--server asgi` serves `create_api()` alone with
Granian (the same routes without Reflex's socket.io and lifespan tasks) to show what the
wrapper costs. Tokens come from `postboard tokens create`; the source, templates and rules
are created through the API: `order_created` emails the payload's `email`, and puts an
in-app notification in every admin's inbox when `total > 100` (half the orders).

A load generator in this process (httpx.AsyncClient, N connections on loopback, each
sending again as soon as it is answered) first runs 3 s on one connection (the serial
service time), waits for those deliveries, then runs N connections for `--seconds`. It
reports requests/s, latency percentiles, answers by status, the deliveries sent per second
until the backlog drains (bounded by `--drain-timeout`), and the CPU of every process
group, of this process and of the whole machine: that is how to read what bounds it.
API_RATE_LIMIT is 0. Everything started is stopped and the temp dir removed on exit.
"""

import argparse
import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _events_load import EVENT, Tally, payloads, sustain
from _mailrun import Sched, _pids_in_group, sched_seconds
from _stack import (
    BIN,
    Processes,
    base_env,
    machine_busy_seconds,
    migrate,
    start_postboard,
    start_redis,
    wait_healthy,
)
from sqlalchemy import text
from sqlalchemy.engine import Engine

from postboard.db import make_engine
from postboard.dev.services import free_port, sink_command, wait_for_port, worker_command

QUEUES = {"emails": 8, "notifications": 4}
SOLO_SECONDS = 3.0
MACHINE = "machine, all processes"
OTHERS = "others on this machine"
LOADGEN = "load generator (this process)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the sustained load")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections of the load generator")
    parser.add_argument("--server", choices=["reflex", "asgi"], default="reflex", help="what serves /api (see above)")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="seconds allowed for the backlog to drain")
    return parser.parse_args(argv)


def boot(procs: Processes, root: Path, server: str) -> tuple[dict[str, str], str]:
    """Redis, database, sink, workers and the backend; return the children's environment and the API's URL."""
    redis_url = start_redis(procs, root / "redis")
    env = base_env(redis_url=redis_url, database_url=f"sqlite:///{root / 'bench.db'}", states_dir=root / "states")
    smtp_port = free_port()
    env.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        MAILBOX_DIR=str(root / "mailbox"),
        API_RATE_LIMIT="0",
        APP_URL="http://postboard.bench",
    )
    migrate(env)
    procs.start("smtp-sink", sink_command(port=smtp_port, folder=root / "mailbox"), env)
    if not wait_for_port(smtp_port, timeout=30):
        raise RuntimeError("the SMTP sink did not listen")
    for queue, concurrency in QUEUES.items():
        procs.start(queue, worker_command(queue, concurrency=concurrency), env)
    port = start_postboard(procs, env) if server == "reflex" else start_asgi(procs, env)
    deadline = time.monotonic() + 120
    while not all("Listening started" in (root / f"{queue}.log").read_text() for queue in QUEUES):
        for queue in QUEUES:
            procs.check(queue)
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start listening")
        time.sleep(0.2)
    return env, f"http://127.0.0.1:{port}"


def start_asgi(procs: Processes, env: dict[str, str]) -> int:
    """Serve `create_api()` alone with one Granian worker; return its port."""
    port = free_port()
    cmd = [str(BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port)]
    procs.start("api", [*cmd, "--workers", "1", "--log-level", "warning", "postboard.web.api:create_api"], env)
    wait_healthy(procs, "api", port)
    return port


def cli_token(env: dict[str, str], name: str, *scopes: str) -> str:
    """Create a token with `postboard tokens create`, which prints it as its last line."""
    cmd = [str(BIN / "postboard"), "tokens", "create", "--name", name, *(f"--scope={s}" for s in scopes)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def seed(env: dict[str, str], url: str, admin: str) -> None:
    """One admin account, and through the API: the source, an email template and rule, an in-app template and rule."""
    account = ["--email", "ops@example.com", "--name", "Ops", "--password", "bench-password", "--role", "admin"]
    subprocess.run([str(BIN / "postboard"), "users", "create", *account], env=env, check=True, capture_output=True)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as api:

        def create(path: str, body: dict[str, object]) -> int:
            answer = api.post(path, json=body)
            answer.raise_for_status()
            return int(answer.json()["id"])

        source = create("/api/event-sources", {"name": EVENT, "description": "an order was placed"})
        lines = "{% for l in lines %}{{ l.qty }} x {{ l.sku }}\n{% endfor %}"
        email = create(
            "/api/templates",
            {
                "name": "order email",
                "channel": "email",
                "subject": "Order {{ order }} confirmed",
                "body": "Hello {{ name }},\n\n" + lines + "Total: {{ total }} EUR",
            },
        )
        note = create(
            "/api/templates",
            {"name": "big order", "channel": "in_app", "subject": "Big order {{ order }}", "body": "{{ total }} EUR"},
        )
        big = {"mode": "all", "items": [{"field": "total", "op": "gt", "value": 100}]}
        for name, template, kind, value, conditions in (
            ("confirm", email, "field", "email", {}),
            ("big orders", note, "role", "admin", big),
        ):
            rule = {"name": name, "source_id": source, "template_id": template, "recipient_kind": kind}
            create("/api/rules", {**rule, "recipient_value": value, "conditions": conditions})


def counts(engine: Engine) -> Counter[str]:
    """Deliveries by status, and sent ones by channel (`sent:email`)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, status, count(*) FROM delivery GROUP BY channel, status")).all()
    found: Counter[str] = Counter()
    for channel, status, n in rows:
        found[str(status)] += int(n)
        found[f"{status}:{channel}"] += int(n)
    return found


def drain(engine: Engine, procs: Processes, *, target: int, timeout: float) -> float | None:
    """Wait until `target` deliveries are sent or failed; return when (monotonic), None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = counts(engine)
        if done["sent"] + done["failed"] >= target:
            return time.monotonic()
        for name in procs.procs:
            procs.check(name)
        time.sleep(0.25)
    return None


def cpu_snapshot(procs: Processes) -> dict[str, Sched]:
    """CPU and run-queue wait so far of each started process group, of this process and of the machine."""
    snapshot = {name: sched_seconds(_pids_in_group(proc.pid)) for name, proc in procs.procs.items()}
    snapshot[LOADGEN] = sched_seconds([str(os.getpid())])
    snapshot[MACHINE] = Sched(cpu=machine_busy_seconds(), wait=0.0)
    return snapshot


def print_cpu(snapshots: list[dict[str, Sched]], windows: list[float], units: dict[str, tuple[int, str]]) -> None:
    """Per process group: % of one core on CPU and runnable-but-waiting in each window, and CPU per unit of work."""
    load, drain_ = ({k: after[k] - before[k] for k in before} for before, after in itertools.pairwise(snapshots))
    for used in (load, drain_):
        used[OTHERS] = Sched(
            cpu=max(0.0, used[MACHINE].cpu - sum(v.cpu for k, v in used.items() if k != MACHINE)), wait=0
        )
    print(
        f"  CPU, % of one core ({os.cpu_count()} cores)   load: on CPU  waiting   drain: on CPU   CPU per unit (both)"
    )
    for name in sorted(load, key=lambda k: -load[k].cpu):
        per = ""
        if name in units and units[name][0]:
            count, unit = units[name]
            per = f"{1000 * (load[name].cpu + drain_[name].cpu) / count:6.2f} ms per {unit}"
        waits = f"{100 * load[name].wait / windows[0]:6.0f}%" if name not in (MACHINE, OTHERS) else "       "
        print(
            f"    {name:<32} {100 * load[name].cpu / windows[0]:6.0f}% {waits}"
            f"     {100 * drain_[name].cpu / max(windows[1], 1e-9):6.0f}%      {per}"
        )


def run(args: argparse.Namespace, procs: Processes, root: Path) -> int:
    """Boot, seed, measure one connection then N, drain the backlog; print the figures."""
    env, url = boot(procs, root, args.server)
    admin, writer = cli_token(env, "bench admin", "admin"), cli_token(env, "bench load")
    seed(env, url, admin)
    engine = make_engine(env["DATABASE_URL"])
    make = payloads()

    solo = asyncio.run(sustain(url, writer, seconds=SOLO_SECONDS, connections=1, make=make))
    if drain(engine, procs, target=solo.planned, timeout=args.drain_timeout) is None:
        raise RuntimeError(f"the warm-up's {solo.planned} deliveries did not drain: {counts(engine)}")
    before, first = cpu_snapshot(procs), counts(engine)
    started = time.monotonic()
    tally: Tally = asyncio.run(sustain(url, writer, seconds=args.seconds, connections=args.connections, make=make))
    loaded_at, during = cpu_snapshot(procs), counts(engine)
    drained = drain(engine, procs, target=first["sent"] + tally.planned, timeout=args.drain_timeout)
    after, final = cpu_snapshot(procs), counts(engine) - first
    took = (drained or time.monotonic()) - started

    print(f"POST /api/events, server: {args.server}; load generator: httpx, {args.connections} connections, loopback")
    print(f"  1 connection, {SOLO_SECONDS:.0f} s:   {solo.summary()}")
    print(f"  {args.connections} connections, {args.seconds:.0f} s: {tally.summary()}")
    sent_loading = during["sent"] - first["sent"]
    print(
        f"  deliveries: {tally.planned:,} planned ({tally.planned / max(1, tally.requests):.2f} per event); "
        f"{sent_loading:,} sent during the load ({sent_loading / tally.seconds:,.0f}/s), "
        f"{tally.planned - sent_loading:,} still queued when it ended"
    )
    state = f"all sent {took:.1f} s" if drained else f"NOT drained within {args.drain_timeout:.0f} s"
    print(
        f"  {state} after the load began: {final['sent']:,} sent = {final['sent'] / took:,.0f} deliveries/s "
        f"({final['sent:email']:,} emails, {final['sent:in_app']:,} in-app), {final['failed']} failed"
    )
    backend = "postboard" if args.server == "reflex" else "api"
    units = {
        backend: (tally.requests, "request"),
        LOADGEN: (tally.requests, "request"),
        "emails": (final["sent:email"], "email"),
        "smtp-sink": (final["sent:email"], "email"),
        "notifications": (final["sent:in_app"], "in-app"),
    }
    print_cpu([before, loaded_at, after], [tally.seconds, took - tally.seconds], units)
    engine.dispose()
    refused = sum(n for status, n in tally.statuses.items() if status != "202")
    return 1 if refused or drained is None or final["failed"] else 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark in a temp dir and clean everything up."""
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="postboard-events-bench-"))
    procs = Processes(logs=root)
    try:
        return run(args, procs, root)
    except (RuntimeError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
