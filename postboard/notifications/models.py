"""Notification table."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from postboard.clock import utcnow


class Notification(SQLModel, table=True):
    """One in-app message for one user; unread while `read_at` is empty."""

    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_notification_user_post"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
        # An edited or deleted post rewords its entries in one indexed UPDATE.
        Index("ix_notification_post_id", "post_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    body: str = Field(max_length=500)
    url: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
