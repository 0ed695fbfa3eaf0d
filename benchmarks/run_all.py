"""Run the scale benchmarks one after another and write their figures to docs/benchmarks.md.

    .venv/bin/python benchmarks/run_all.py [--quick] [--out docs/benchmarks.md]

Each benchmark runs as its own process with `--json`, exactly as its command line in the
document says, so any figure can be re-measured alone. `--quick` shrinks every run (fewer
tabs, users and messages, a one-minute soak) to check the whole chain in a few minutes;
its figures are not the ones to quote.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
Render = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Step:
    """One benchmark run: its title, what it measures, its arguments and how its JSON reads."""

    slug: str
    title: str
    method: str
    script: str
    args: list[str]
    render: Render


def _fanout_rows(data: dict[str, Any]) -> list[str]:
    lines = [
        "| tabs | server | delivered | p50 ms | p99 ms | max ms | server CPU/msg | KiB/tab | Redis KiB/tab | drops |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["rows"]:
        lines.append(
            f"| {r['tabs']:,} | {r['mode']} | {r['delivered']:,}/{r['expected']:,} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['server_cpu_ms_per_msg']:.0f} ms | {r['kib_per_tab']:.1f} | "
            f"{r.get('redis_kib_per_tab', 0.0):.1f} | {r['drops']} |"
        )
    lines.append("")
    for n, ratio in data.get("p99_ratio", {}).items():
        lines.append(f"- {int(n):,} tabs: Postboard p99 / floor p99 = **{ratio:.2f}**")
    for n, kib in data.get("own_kib_per_tab", {}).items():
        lines.append(
            f"- {int(n):,} tabs: Postboard's own memory per tab (over the floor on the same server) = **{kib:.1f} KiB**"
        )
    return lines


def _soak_rows(data: dict[str, Any]) -> list[str]:
    r = data["rows"][0]
    missed = r["expected"] - r["delivered"]
    return [
        f"- {r['tabs']:,} tabs, {r['messages']} posts {data['spacing_s']:.0f} s apart: "
        f"**{r['drops']} disconnects, {missed} missed messages** ({r['delivered']:,}/{r['expected']:,} delivered)",
        f"- latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms",
        f"- backend RSS with every tab hydrated: **{r['rss_start_mib']:.0f} MiB at the start, "
        f"{r['rss_end_mib']:.0f} MiB at the end**",
    ]


def _publish_rows(data: dict[str, Any]) -> list[str]:
    lines = ["| users | p50 ms | p99 ms | max ms |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['users']:,} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} |" for r in data["rows"]]
    small, large = data["rows"][0], data["rows"][-1]
    lines += [
        "",
        f"- p99 with {large['users']:,} users / p99 with {small['users']:,} users = **{data['p99_ratio']:.2f}**",
    ]
    return lines


def steps(quick: bool, pg_url: str = "") -> list[Step]:
    """The benchmarks, full size or `--quick`; with `pg_url`, publish latency on PostgreSQL too."""
    tabs = ["300", "1000"] if quick else ["1000", "5000"]
    soak = ["--tabs", "200", "--messages", "60"] if quick else ["--tabs", "1000", "--messages", "600"]
    users = ["10", "5000"] if quick else ["10", "100000"]
    return [
        Step(
            "fanout",
            "Live fan-out per backend process",
            "One Reflex backend (`reflex run --backend-only --env prod`, one Granian worker, disk state "
            "manager) and N simulated signed-in tabs (python-socketio clients speaking Reflex's protocol, "
            "`benchmarks/_tabs.py`); one post a second published on the live channel, timed from Redis PUBLISH "
            "to each tab's packet read. The floor, in the same run: a bare python-socketio server on Granian "
            "doing one emit to a room per message, payload padded to Postboard's size. KiB/tab: the server's "
            "RSS growth from a tenth of the tabs to all of them, hydrated, per added tab.",
            "fanout.py",
            ["--tabs", *tabs, "--messages", "5" if quick else "10"],
            _fanout_rows,
        ),
        Step(
            "fanout-scale",
            "Live fan-out across 2 backends × 2 Granian workers",
            "Production shape: two Reflex backends (`--env prod`, `GRANIAN_WORKERS=2`, Redis state manager) on "
            "one Redis, the tabs spread round-robin over both ports (the kernel spreads each port's over its "
            "two workers); joined once a warm-up post reaches every tab. The floor: two bare python-socketio "
            "servers on Granian with two workers each. RSS and CPU are summed over all four workers.",
            "fanout_scale.py",
            ["--tabs", "1000" if quick else "10000", "--messages", "5" if quick else "10"],
            _fanout_rows,
        ),
        Step(
            "memory-redis",
            "Memory per tab with Reflex's Redis state manager (production mode)",
            "As above at the smaller tab count, with `REFLEX_REDIS_URL` set: tab states live in Redis "
            "(Redis KiB/tab is its `used_memory` growth per tab).",
            "fanout.py",
            ["--tabs", tabs[0], "--messages", "5", "--state-manager", "redis"],
            _fanout_rows,
        ),
        Step(
            "publish-latency",
            "Publish request latency, small vs large audience",
            "`posts.service.publish` + `get_post`, as the New post handler runs them, one post every 0.5 s "
            "while real workers fan the earlier posts out to every user (SQLite, real Redis, the Maildir "
            "sink). The floor is the small audience in the same run.",
            "publish_latency.py",
            ["--users", *users, "--posts", "10" if quick else "30"],
            _publish_rows,
        ),
        *(
            [
                Step(
                    "publish-latency-pg",
                    "Publish request latency on PostgreSQL, small vs large audience",
                    "As above, on PostgreSQL (`--database-url`, a database the run empties): no database-wide "
                    "write lock, so the fan-out's writes do not queue the publish behind them.",
                    "publish_latency.py",
                    ["--users", *users, "--posts", "10" if quick else "30", "--database-url", pg_url],
                    _publish_rows,
                )
            ]
            if pg_url
            else []
        ),
        Step(
            "soak",
            "Soak: one post a second",
            "One backend as in the fan-out run, N tabs connected for the whole run, one post a second; "
            "counts sockets that closed, messages a tab never got, and the backend's RSS before and after.",
            "fanout.py",
            [*soak, "--spacing", "1", "--no-floor", "--timeout", "20"],
            _soak_rows,
        ),
    ]


def machine() -> list[str]:
    """A few lines saying what the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem_kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    )
    return [
        f"- {os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.0f} GiB, {platform.platform()}",
        f"- Python {platform.python_version()}; measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "- Every figure: one process per server, the simulated tabs or publisher in the benchmark's own "
        "process on the same machine, so the clients' CPU is part of every latency, floor included.",
    ]


def run_step(step: Step, keep: Path) -> list[str]:
    """Run one benchmark with --json into `keep` (or reuse the JSON an earlier run left there); return its section."""
    out = keep / f"{step.slug}.json"
    cmd = [sys.executable, str(BENCH / step.script), *step.args, "--json", str(out)]
    if not out.exists():
        print(f"== {step.title}: {' '.join(cmd[1:-2])}", file=sys.stderr, flush=True)
        started = time.monotonic()
        subprocess.run(cmd, cwd=ROOT, check=True)
        data = json.loads(out.read_text())
        data["took_s"] = time.monotonic() - started
        data["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        out.write_text(json.dumps(data, indent=2) + "\n")
    data = json.loads(out.read_text())
    command = f".venv/bin/python benchmarks/{step.script} {' '.join(step.args)}"
    took = f"{data['took_s']:.0f} s, {data['measured_at']}"
    return [f"## {step.title}", "", step.method, "", f"`{command}` ({took})", "", *step.render(data), ""]


def main(argv: list[str] | None = None) -> int:
    """Run every step and write the document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs, to check the chain")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each step's JSON here and reuse what is already there (re-run one step by deleting its file)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        help="run (again) only the steps with these names (see --list); with --keep the others' kept figures stay in",
    )
    parser.add_argument("--list", action="store_true", help="print the step names and exit")
    parser.add_argument("--pg-url", default="", help="also measure publish latency on this PostgreSQL (emptied!)")
    args = parser.parse_args(argv)
    chosen = steps(args.quick, args.pg_url)
    if args.list:
        print(*(f"{s.slug}: {s.title}" for s in chosen), sep="\n")
        return 0
    keep = args.keep or Path(tempfile.mkdtemp(prefix="postboard-bench-"))
    keep.mkdir(parents=True, exist_ok=True)
    doc = ["# Benchmarks", "", "Written by `benchmarks/run_all.py`" + (" --quick" if args.quick else "") + ".", ""]
    doc += ["## Machine", "", *machine(), ""]
    for step in chosen:
        kept = keep / f"{step.slug}.json"
        if args.only and step.slug in args.only:
            kept.unlink(missing_ok=True)
        elif args.only and not kept.exists():
            continue  # a step left out still goes in the document when --keep holds its figures
        doc += run_step(step, keep)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(doc))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
