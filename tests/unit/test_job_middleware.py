"""The retry middleware's schedule and give-up rules (the scheduler path is covered by the fault tests)."""

import os

from taskiq import TaskiqMessage, TaskiqResult
from taskiq_redis import ListRedisScheduleSource

from postboard.deliveries.retry import RetryPolicy
from postboard.errors import NotFound, PermanentFailure
from tasks.middleware import ATTEMPT, OUTCOME, MonitorMiddleware, RetryMiddleware


def _middleware() -> RetryMiddleware:
    return RetryMiddleware(
        RetryPolicy.of([60, 300, 900]), ListRedisScheduleSource(os.environ["REDIS_URL"], prefix="unit-test")
    )


def _message(**labels: object) -> TaskiqMessage:
    return TaskiqMessage(task_id="job-1", task_name="send_post_notification", labels=dict(labels), args=[1], kwargs={})


def _result(exc: BaseException) -> TaskiqResult[None]:
    return TaskiqResult(is_err=True, return_value=None, execution_time=0.1, error=exc)


def test_delays_follow_the_list_not_an_exponent() -> None:
    middleware = _middleware()
    assert [middleware.make_delay(_message(), n) for n in (1, 2, 3)] == [60, 300, 900]
    assert middleware.default_retry_count == 4


async def test_permanent_failure_is_not_retried() -> None:
    message = _message()
    await _middleware().on_error(message, _result(PermanentFailure("bad address")), PermanentFailure("bad address"))
    assert message.labels[OUTCOME] == "failed"


async def test_the_last_attempt_gives_up() -> None:
    message = _message(_retries="3")
    await _middleware().on_error(message, _result(NotFound("gone")), NotFound("gone"))
    assert message.labels[OUTCOME] == "failed"


def test_the_monitor_shows_a_rescheduled_chunk_as_its_delivery_attempt() -> None:
    ok = TaskiqResult(is_err=False, return_value=None, execution_time=0.1)
    monitor = MonitorMiddleware()
    assert monitor._record(_message(), ok, started=0).attempt == 1
    assert monitor._record(_message(**{ATTEMPT: "3"}), ok, started=0).attempt == 3
    assert monitor._record(_message(_retries="1"), ok, started=0).attempt == 2
