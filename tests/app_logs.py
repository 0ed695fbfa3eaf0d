"""No silent failures: a traceback in the log of an app process the tests started fails the run, unless expected.

A worker, the scheduler or the web process can log a traceback and carry on (a task that
raised, a loop that swallows errors), and a test that looks only at the outcome may still
pass. Every fixture that starts such processes watches their logs with a `LogWatch` and
checks them when it stops them. A test that provokes errors on purpose declares them:

    @pytest.mark.expected_traceback(r"redis\\.exceptions\\.ConnectionError", why="Redis is stopped on purpose")
"""

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TRACEBACK = "Traceback (most recent call last):"
MARKER = "expected_traceback"
# What starts a new log record (taskiq's `[2026-01-02 10:00:00,000][logger][LEVEL]`, Python's
# default `LEVEL:logger:`, uvicorn's `LEVEL:  `), which ends the traceback before it.
_RECORD = re.compile(r"^(\[\d{4}-\d\d-\d\d[ T]|\d{4}-\d\d-\d\d[ T]\d\d:|(DEBUG|INFO|WARNING|ERROR|CRITICAL)[: ])")
# What joins two tracebacks of one chained exception.
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


@dataclass(frozen=True)
class Expected:
    """A traceback provoked on purpose: a regex searched in its text, and why it is expected."""

    pattern: str
    why: str

    def matches(self, traceback: str) -> bool:
        """Whether this expectation covers the traceback."""
        return re.search(self.pattern, traceback) is not None


# Expected in every run, whatever the test.
ALWAYS: tuple[Expected, ...] = ()

_declared: list[Expected] = []
_current_test_from = 0


def declare(item: pytest.Item) -> None:
    """Record what a test expects, before its fixtures (and the processes they start) are set up."""
    global _current_test_from
    _current_test_from = len(_declared)
    for mark in item.iter_markers(MARKER):
        _declared.append(Expected(*mark.args, **mark.kwargs))


def tracebacks(text: str) -> Iterator[str]:
    """Each traceback in a log, with the record that introduced it and a chained exception kept together."""
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        if TRACEBACK not in lines[n]:
            n += 1
            continue
        start, n = max(0, n - 1), _traceback_end(lines, n + 1)
        yield "\n".join(lines[start:n]).strip()


def _traceback_end(lines: list[str], n: int) -> int:
    """The index after the traceback whose frames start at `lines[n]`."""
    while n < len(lines):
        line = lines[n]
        if _RECORD.match(line):
            return n
        if TRACEBACK in line or line.startswith(_CHAINED) or line.startswith((" ", "\t")) or line == "":
            n += 1
            continue
        # The exception line, and the lines of its message up to the next record or blank line
        # (or up to a line that introduces the next traceback).
        n += 1
        while n < len(lines) and lines[n] and not _RECORD.match(lines[n]) and not _introduces(lines, n):
            n += 1
        following = next((line for line in lines[n : n + 3] if line.strip()), "")
        if not following.startswith(_CHAINED):
            return n
    return n


def _introduces(lines: list[str], n: int) -> bool:
    return TRACEBACK in lines[n] or (n + 1 < len(lines) and TRACEBACK in lines[n + 1])


@dataclass(frozen=True)
class Unexpected:
    """A traceback nobody declared, and the log it is in."""

    log: Path
    text: str


@dataclass
class LogWatch:
    """The logs of the processes one fixture started, checked when it stops them.

    It allows `ALWAYS`, what the fixture passes as `expected`, and what every test declared
    from the one during which the processes started onwards.
    """

    logs: Callable[[], Iterable[Path]]
    expected: Sequence[Expected] = ()
    since: int = field(default_factory=lambda: _current_test_from)

    @classmethod
    def folder(cls, folder: Path, expected: Sequence[Expected] = ()) -> "LogWatch":
        """Watch every `*.log` in a folder."""
        return cls(logs=lambda: sorted(folder.glob("*.log")), expected=expected)

    def allowed(self) -> list[Expected]:
        """What may appear in these logs."""
        return [*ALWAYS, *self.expected, *_declared[self.since :]]

    def unexpected(self) -> list[Unexpected]:
        """Every traceback in the logs that no expectation covers."""
        allowed = self.allowed()
        return [
            Unexpected(log=log, text=text)
            for log in self.logs()
            for text in tracebacks(log.read_text(errors="replace"))
            if not any(e.matches(text) for e in allowed)
        ]

    def report(self) -> str:
        """The unexpected tracebacks, for a person to read ('' if there are none)."""
        found = self.unexpected()
        if not found:
            return ""
        # A loop that fails every second logs the same traceback over and over: show it once.
        repeats = Counter((u.log, u.text[u.text.find(TRACEBACK) :]) for u in found)
        parts = [f"{len(found)} unexpected traceback(s) in the logs of app processes:"]
        for u in found:
            if (times := repeats.pop((u.log, u.text[u.text.find(TRACEBACK) :]), 0)) > 0:
                parts.append(f"\n--- {u.log}{f' ({times} times)' if times > 1 else ''} ---\n{u.text}")
        parts.append(
            f"\nIf a test provokes this on purpose, mark it: @pytest.mark.{MARKER}(r'<regex>', why='<reason>')."
        )
        return "\n".join(parts)

    def check(self) -> None:
        """Fail the test (or the fixture's teardown) on an unexpected traceback."""
        if report := self.report():
            pytest.fail(report, pytrace=False)

    def annotate(self, error: BaseException) -> None:
        """Add the unexpected tracebacks to an error already on its way, rather than hiding it."""
        if report := self.report():
            error.add_note(report)
