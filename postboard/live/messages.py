"""The messages that travel on live channels: small, typed, never whole rows."""

from pydantic import BaseModel

from postboard.posts.models import PostView, post_path


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
    """A notification for some users only (an event's in-app message): a toast and a fresh unread count."""

    user_ids: list[int]
    title: str
    body: str
    url: str
