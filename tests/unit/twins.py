"""In-memory twins of the ports, for fast unit tests."""

from postboard.outbox.models import OutboxEvent


class RecordingDispatcher:
    """Keeps the events it was asked to dispatch."""

    def __init__(self) -> None:
        self.events: list[OutboxEvent] = []

    async def dispatch(self, event: OutboxEvent) -> None:
        """Record the event."""
        self.events.append(event)


class DownDispatcher:
    """Behaves like a queue whose Redis is unreachable."""

    async def dispatch(self, event: OutboxEvent) -> None:
        """Fail as redis-py does when the server is down."""
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
