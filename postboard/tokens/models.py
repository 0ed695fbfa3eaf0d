"""API token table."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from postboard.clock import utcnow


class Scope(StrEnum):
    """What a token may do."""

    EVENTS_WRITE = "events:write"
    ADMIN = "admin"


class ApiToken(SQLModel, table=True):
    """A bearer token for the HTTP API; only its SHA-256 is kept, plus a prefix to recognise it."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    # Space-separated `Scope` values.
    scopes: str = Field(default=Scope.EVENTS_WRITE.value, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
