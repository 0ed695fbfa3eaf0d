"""Domain errors, raised by services and translated by adapters; what counts as an outage."""

from redis.exceptions import RedisError

# A backing service (Redis, an SMTP or HTTP peer) unreachable or dropping the connection:
# expected now and then, so loops log it in one line and try again. Anything else a loop
# catches is a bug, logged with its traceback (`log.exception`).
OUTAGES: tuple[type[Exception], ...] = (RedisError, OSError)


class PostboardError(Exception):
    """Base of every error a service raises on purpose."""


class ValidationFailed(PostboardError):
    """Input was refused; `errors` maps each field to a message a person can read."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class NotFound(PostboardError):
    """The thing asked for does not exist."""


class Forbidden(PostboardError):
    """The user may not do this."""


class PermanentFailure(PostboardError):
    """A job failure that running the job again on its own cannot fix; it is not retried."""
