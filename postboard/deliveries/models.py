"""Delivery table."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from postboard.clock import utcnow


class Channel(StrEnum):
    """Where a delivery goes."""

    EMAIL = "email"
    IN_APP = "in_app"
    SMS = "sms"
    SLACK = "slack"
    WEBHOOK = "webhook"

    @property
    def queue(self) -> str:
        """The Redis queue (and worker group) that sends this channel."""
        return QUEUE_OF[self]

    @property
    def label(self) -> str:
        """How the UI names the channel."""
        return {"email": "Email", "in_app": "In-app", "sms": "SMS", "slack": "Slack", "webhook": "Webhook"}[self]


QUEUE_OF = {
    "email": "emails",
    "in_app": "notifications",
    "sms": "sms",
    "slack": "slack",
    "webhook": "webhooks",
}


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    RETRYING = "retrying"
    # Claimed by a run that is sending it now; `updated_at` is the claim time.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(SQLModel, table=True):
    """One message to one recipient on one channel, with its attempts and last error.

    A post's email sets `post_id` and `user_id`; an event's delivery sets `event_id`, `rule_id`,
    the `recipient` address and the rendered `subject` and `body`.
    """

    __table_args__ = (
        UniqueConstraint("post_id", "user_id", "channel", name="uq_delivery_post_user_channel"),
        UniqueConstraint("event_id", "rule_id", "recipient", name="uq_delivery_event_rule_recipient"),
        Index("ix_delivery_post_status", "post_id", "status"),
        Index("ix_delivery_event_channel", "event_id", "channel"),
        Index("ix_delivery_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    event_id: str | None = Field(default=None, foreign_key="event.id", ondelete="CASCADE", max_length=64)
    rule_id: int | None = Field(default=None, foreign_key="rule.id", ondelete="SET NULL")
    recipient: str | None = Field(default=None, max_length=500)
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel: Channel = Field(sa_type=String(16))
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    error: str | None = Field(default=None, max_length=1000)
    # Set while `retrying`: the attempt is not due before this.
    next_attempt_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryAttempt(SQLModel, table=True):
    """One try of an event's delivery: when, how it ended, what the provider said."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True, ondelete="CASCADE")
    number: int
    outcome: DeliveryStatus = Field(sa_type=String(16))
    detail: str | None = Field(default=None, max_length=1000)
    duration_ms: int = 0
    at: datetime = Field(default_factory=utcnow)
