"""How a benchmark run is held: a scratch folder, Ctrl-C and SIGTERM stopping what it started, open files."""

import argparse
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from _report import Row


def raise_open_files(tabs: int) -> None:
    """Raise this process's (and so the servers') open-files limit to fit `tabs` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * tabs + 512
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def terminate(_sig: int, _frame: object) -> NoReturn:
    """Turn SIGINT/SIGTERM into KeyboardInterrupt, so the benchmark stops what it started."""
    raise KeyboardInterrupt


def run_in_scratch(
    run: Callable[[argparse.Namespace, Path], list[Row]], args: argparse.Namespace, *, tabs: int, prefix: str
) -> list[Row] | None:
    """Run a benchmark in a scratch folder (kept with --keep); None when it was interrupted."""
    # Our own handler for both, so asyncio.run does not turn the first Ctrl-C into a task
    # cancellation that the socket libraries may swallow: stop at once, clean up below.
    signal.signal(signal.SIGINT, terminate)
    signal.signal(signal.SIGTERM, terminate)
    raise_open_files(tabs)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(args, tmp)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return None
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def dump_logs(logs: Path) -> None:
    """Print the last lines of every server log (when a run fails)."""
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines)", *tail, sep="\n", file=sys.stderr)
