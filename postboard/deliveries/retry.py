"""The retry schedule: how long to wait before each retry, and when to give up."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """`delays[i]` seconds before retry i+1; after the last one, the delivery fails."""

    delays: tuple[float, ...]

    @classmethod
    def of(cls, delays: list[float] | tuple[float, ...]) -> "RetryPolicy":
        """Build a policy from the `RETRY_DELAYS` setting."""
        return cls(tuple(float(d) for d in delays))

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per delay."""
        return len(self.delays) + 1

    def next_attempt(self, *, attempts_done: int, now: datetime) -> datetime | None:
        """Return when to try again after `attempts_done` attempts, or None to give up."""
        if attempts_done >= self.max_attempts or attempts_done < 1:
            return None
        return now + timedelta(seconds=self.delays[attempts_done - 1])
