"""Outbox table."""

from datetime import datetime

from sqlmodel import JSON, Column, Field, SQLModel

from postboard.clock import utcnow


class OutboxEvent(SQLModel, table=True):
    """An event written in the same transaction as its cause, dispatched afterwards."""

    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    payload: dict[str, int | str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    dispatched_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
