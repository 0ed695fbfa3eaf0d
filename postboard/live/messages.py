"""The messages that travel on live channels: one envelope (type, version, data), small typed payloads."""

from typing import Any

from pydantic import BaseModel, Field

from postboard import names
from postboard.live.bus import Bus
from postboard.posts.models import PostView, post_path


class Envelope(BaseModel):
    """Every live message: what it is, its payload's version, the socket channels it is for, the payload."""

    type: str
    version: int = 1
    to: list[str]
    data: dict[str, Any]


async def announce(bus: Bus, *, type: str, to: list[str], data: BaseModel) -> None:
    """Publish one envelope on the live channel."""
    envelope = Envelope(type=type, to=to, data=data.model_dump())
    await bus.publish(names.LIVE_CHANNEL, envelope.model_dump_json())


class LivePost(BaseModel):
    """A post just published: enough for a toast, a feed row and the badge."""

    id: int
    title: str
    author: str
    excerpt: str
    created_at: str
    url: str

    @classmethod
    def from_post(cls, post: PostView) -> "LivePost":
        """Build the live message for a post; the feed shows the same shape for posts it loads."""
        return cls(
            id=post.id,
            title=post.title,
            author=post.author_name,
            excerpt=post.excerpt,
            created_at=post.created_at.isoformat(),
            url=post_path(post.id),
        )


class LiveNotice(BaseModel):
    """A notification for the users of the channels it is sent to: a toast and a fresh unread count."""

    title: str
    body: str
    url: str


class ResourceChanged(BaseModel):
    """Rows of one kind were created, updated or deleted: pages showing that kind re-read them."""

    kind: str
    # Empty when many rows changed at once: pages then re-read everything they show.
    ids: list[int] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
