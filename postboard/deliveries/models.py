"""Delivery table."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from postboard.users.models import utcnow


class Channel(StrEnum):
    """Where a delivery goes."""

    EMAIL = "email"
    IN_APP = "in_app"


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    RETRYING = "retrying"
    # Claimed by a run that is sending it now; `updated_at` is the claim time.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(SQLModel, table=True):
    """One message to one recipient on one channel, with its attempts and last error."""

    __table_args__ = (
        UniqueConstraint("post_id", "user_id", "channel", name="uq_delivery_post_user_channel"),
        Index("ix_delivery_post_status", "post_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    channel: Channel = Field(sa_type=String(16))
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    error: str | None = Field(default=None, max_length=1000)
    # Set while `retrying`: the attempt is not due before this.
    next_attempt_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
