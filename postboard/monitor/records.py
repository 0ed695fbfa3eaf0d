"""One job run as the monitor keeps it, with secrets redacted from its arguments."""

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

SECRET_NAME = re.compile(r"pass|secret|token|key|auth|credential|signature", re.IGNORECASE)
REDACTED = "[redacted]"
MAX_ARG_CHARS = 200


class JobStatus(StrEnum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"


class JobRecord(BaseModel):
    """One finished run of one job."""

    task_id: str
    task: str
    queue: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    attempt: int = 1
    max_attempts: int = 1
    status: JobStatus
    error: str | None = None
    traceback: str | None = None
    enqueued_at: float | None = None
    started_at: float
    finished_at: float
    worker: str = ""

    @property
    def runtime(self) -> float:
        """Seconds the run took."""
        return max(0.0, self.finished_at - self.started_at)

    @property
    def wait(self) -> float | None:
        """Seconds the job waited in its queue before this run started."""
        return None if self.enqueued_at is None else max(0.0, self.started_at - self.enqueued_at)


def redact(value: Any, *, name: str = "") -> Any:
    """Return `value` with secret-looking fields hidden and long strings cut, for display."""
    if name and SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): redact(v, name=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_ARG_CHARS:
        return value[:MAX_ARG_CHARS] + "…"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)[:MAX_ARG_CHARS]
