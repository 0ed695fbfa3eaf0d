"""The one clock every domain stamps rows with: aware datetimes in UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)
