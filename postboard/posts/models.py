"""Post table and its public shapes."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from postboard.clock import utcnow

TITLE_MAX = 200
CONTENT_MAX = 20_000
EXCERPT_LEN = 160


class Post(SQLModel, table=True):
    """A published post."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    content: str
    author_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # Set by an edit; a deleted post keeps its row (soft delete) and every reader skips it.
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


class PostView(SQLModel):
    """A post as pages and messages show it: with its author's name."""

    id: int
    title: str
    content: str
    excerpt: str
    author_id: int
    author_name: str
    created_at: datetime
    updated_at: datetime | None = None


def excerpt(content: str, length: int = EXCERPT_LEN) -> str:
    """Return the first `length` characters of content on one line."""
    flat = " ".join(content.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def post_path(post_id: int) -> str:
    """Return the in-app path of a post."""
    return f"/posts/{post_id}"
