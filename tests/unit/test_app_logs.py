"""The log check behind every app process the tests start: which tracebacks fail the run."""

from pathlib import Path

import pytest

from tests.app_logs import Expected, LogWatch, tracebacks

TASK_FAILED = """\
[2026-12-02 18:00:38,217][httpx][INFO   ][worker-0] HTTP Request: POST http://127.0.0.1:5/hook "HTTP/1.0 410 Gone"
[2026-12-02 18:00:38,225][taskiq.receiver.receiver][ERROR  ][worker-0] Exception found while executing function.
Traceback (most recent call last):
  File "/work/main/tasks/events.py", line 75, in deliver
    raise DeliveriesFailed(message)
tasks.posts.DeliveriesFailed: 1 Webhook delivery(ies) failed for good: HTTP 410 Gone: gone
[2026-12-02 18:00:38,373][taskiq.receiver.receiver][INFO   ][worker-0] Executing task deliver_event_webhook
"""
CHAINED = """\
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/work/main/postboard/db.py", line 10, in read
    raise OSError("disk")
OSError: disk

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/work/main/postboard/web/api.py", line 20, in handler
    raise RuntimeError("no database")
RuntimeError: no database
[SQL: SELECT 1]
INFO:     127.0.0.1:5 - "GET /api/health HTTP/1.1" 500
"""


def test_each_traceback_is_read_with_the_record_that_logged_it() -> None:
    [found] = tracebacks(TASK_FAILED)
    assert found.startswith("[2026-12-02 18:00:38,225][taskiq.receiver.receiver][ERROR")
    assert found.endswith("HTTP 410 Gone: gone")


def test_a_chained_exception_is_one_traceback_with_its_whole_message() -> None:
    [found] = tracebacks(CHAINED)
    assert "OSError: disk" in found
    assert found.endswith("RuntimeError: no database\n[SQL: SELECT 1]")
    assert len(list(tracebacks(CHAINED + TASK_FAILED))) == 2


def test_a_record_without_a_timestamp_introduces_the_next_traceback() -> None:
    block = 'monitor push failed\nTraceback (most recent call last):\n  File "x.py", line 1\nTypeError: boom\n'
    first, second = tracebacks(block * 2)
    assert first == second == block.strip()


def test_an_unexpected_traceback_fails_with_the_log_and_its_text(tmp_path: Path) -> None:
    (tmp_path / "webhooks.log").write_text(TASK_FAILED)
    (tmp_path / "web.log").write_text("INFO: nothing to see\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        LogWatch.folder(tmp_path).check()
    assert str(tmp_path / "webhooks.log") in str(failed.value)
    assert "DeliveriesFailed: 1 Webhook delivery(ies) failed for good" in str(failed.value)
    assert "web.log" not in str(failed.value)


def test_a_traceback_repeated_by_a_loop_is_shown_once_with_its_count(tmp_path: Path) -> None:
    (tmp_path / "webhooks.log").write_text(TASK_FAILED * 3)
    report = LogWatch.folder(tmp_path).report()
    assert report.startswith("3 unexpected traceback(s)")
    assert report.count("DeliveriesFailed: 1 Webhook") == 1
    assert "webhooks.log (3 times)" in report


def test_an_expected_traceback_passes(tmp_path: Path) -> None:
    (tmp_path / "webhooks.log").write_text(TASK_FAILED)
    LogWatch.folder(tmp_path, [Expected(r"DeliveriesFailed: .*HTTP 410", why="the test answers 410")]).check()
    # Only the traceback it names: a different one still fails.
    (tmp_path / "web.log").write_text(CHAINED)
    with pytest.raises(pytest.fail.Exception, match="no database"):
        LogWatch.folder(tmp_path, [Expected(r"HTTP 410", why="the test answers 410")]).check()


@pytest.mark.expected_traceback(r"tasks\.posts\.DeliveriesFailed", why="declared by the test, as a fault test does")
def test_a_test_declares_what_it_provokes_with_a_marker(tmp_path: Path) -> None:
    (tmp_path / "webhooks.log").write_text(TASK_FAILED)
    LogWatch.folder(tmp_path).check()
