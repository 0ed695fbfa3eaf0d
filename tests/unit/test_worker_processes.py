"""Worker processes per queue: emails gets two by default, the others one; the worker command line says so."""

import pytest
from pydantic import ValidationError

from postboard import names
from postboard.dev.services import worker_command
from postboard.settings import Settings


def test_emails_gets_two_processes_and_every_other_queue_one() -> None:
    settings = Settings()
    assert settings.worker_processes(names.EMAILS_QUEUE) == 2
    assert {settings.worker_processes(q) for q in names.QUEUES if q != names.EMAILS_QUEUE} == {1}


def test_processes_per_queue_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_PROCESSES_BY_QUEUE", '{"emails": 3, "webhooks": 2}')
    settings = Settings()
    assert [settings.worker_processes(q) for q in (names.EMAILS_QUEUE, names.WEBHOOKS_QUEUE, names.SMS_QUEUE)] == [
        3,
        2,
        1,
    ]


@pytest.mark.parametrize("value", [{"email": 2}, {"emails": 0}])
def test_an_unknown_queue_or_zero_processes_is_refused(value: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Settings(worker_processes_by_queue=value)


def test_the_worker_command_forks_the_processes_asked_for() -> None:
    cmd = worker_command(names.EMAILS_QUEUE, concurrency=8, processes=2)
    assert cmd[cmd.index("--workers") + 1] == "2"
    assert cmd[cmd.index("--max-async-tasks") + 1] == "8"
