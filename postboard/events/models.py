"""Event sources, templates, rules and received events."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from postboard.clock import utcnow
from postboard.deliveries.models import Channel


class RecipientKind(StrEnum):
    """Who a rule's messages go to."""

    FIELD = "field"  # an address in the payload, e.g. `customer_email` or `phone`
    ALL_USERS = "all_users"
    ROLE = "role"
    USER = "user"
    URL = "url"  # Slack and webhooks: the URL itself (empty Slack URL: the default)


class EventSource(SQLModel, table=True):
    """A named event type external services may fire, with an optional payload schema."""

    __tablename__ = "event_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    description: str = Field(default="", max_length=500)
    payload_schema: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sample_payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    builtin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Template(SQLModel, table=True):
    """A message for one channel: a subject where the channel has one, and a body."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    channel: Channel = Field(sa_type=String(16))
    subject: str | None = Field(default=None, max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Rule(SQLModel, table=True):
    """When `source` fires and the conditions hold, send `template` on its channel to the recipients."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    source_id: int = Field(foreign_key="event_source.id", index=True, ondelete="CASCADE")
    template_id: int = Field(foreign_key="template.id", ondelete="RESTRICT")
    recipient_kind: RecipientKind = Field(sa_type=String(16))
    # The payload field, role, user id or URL, as `recipient_kind` says.
    recipient_value: str = Field(default="", max_length=500)
    # Webhooks: the HMAC secret for this rule's URL (else WEBHOOK_SECRET).
    secret: str = Field(default="", max_length=200)
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    builtin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """One event received (API or Test event panel), with what it planned."""

    __table_args__ = (UniqueConstraint("token_id", "idempotency_key", name="uq_event_token_key"),)

    id: str = Field(primary_key=True, max_length=64)
    source_id: int = Field(foreign_key="event_source.id", index=True, ondelete="CASCADE")
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    token_id: int | None = Field(default=None, foreign_key="api_token.id", ondelete="SET NULL")
    idempotency_key: str | None = Field(default=None, max_length=200)
    planned: int = 0
    received_at: datetime = Field(default_factory=utcnow, index=True)
