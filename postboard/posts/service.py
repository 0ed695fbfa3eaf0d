"""Post verbs: validate, publish (post + outbox in one transaction), edit, delete, read the feed."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from postboard import names
from postboard.clock import utcnow
from postboard.deliveries.models import Channel
from postboard.errors import Forbidden, NotFound, ValidationFailed
from postboard.events.builtin import post_message, post_payload
from postboard.notifications.service import mark_post_deleted, reword_for_post
from postboard.outbox.models import OutboxEvent
from postboard.outbox.service import Dispatcher, dispatch_event
from postboard.posts.models import CONTENT_MAX, TITLE_MAX, Post, PostView, excerpt, post_path
from postboard.settings import get_settings
from postboard.users.models import Role, User

PUBLISHERS = frozenset({Role.ADMIN, Role.EDITOR})


class PostDeleted(NotFound):
    """The post existed and was deleted."""


@dataclass(frozen=True)
class PublishResult:
    """What publishing did: the post, and whether its jobs are already queued."""

    post: Post
    queued_now: bool


def validate_post(*, title: str, content: str) -> dict[str, str]:
    """Return field → message for everything wrong with a post."""
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "Title is required"
    elif len(title.strip()) > TITLE_MAX:
        errors["title"] = f"Title must be at most {TITLE_MAX} characters"
    if not content.strip():
        errors["content"] = "Content is required"
    elif len(content) > CONTENT_MAX:
        errors["content"] = f"Content must be at most {CONTENT_MAX:,} characters"
    return errors


def create_post(session: Session, *, author: User, title: str, content: str) -> tuple[Post, OutboxEvent]:
    """Store a post and its `post.created` outbox event in one transaction."""
    if author.role not in PUBLISHERS:
        raise Forbidden("Only admins and editors can publish")
    errors = validate_post(title=title, content=content)
    if errors:
        raise ValidationFailed(errors)
    assert author.id is not None
    post = Post(title=title.strip(), content=content.strip(), author_id=author.id)
    session.add(post)
    session.flush()
    assert post.id is not None
    event = OutboxEvent(kind=names.POST_CREATED, payload={"post_id": post.id})
    session.add(event)
    session.commit()
    return post, event


async def publish(session: Session, *, author: User, title: str, content: str, dispatcher: Dispatcher) -> PublishResult:
    """Publish a post: store it with its outbox event, then hand the event to the queue."""
    post, event = await asyncio.to_thread(create_post, session, author=author, title=title, content=content)
    queued = await dispatch_event(session, event=event, dispatcher=dispatcher)
    return PublishResult(post=post, queued_now=queued)


def _view(post: Post, author_name: str) -> PostView:
    assert post.id is not None
    return PostView(
        id=post.id,
        title=post.title,
        content=post.content,
        excerpt=excerpt(post.content),
        author_id=post.author_id,
        author_name=author_name,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


def _shown() -> Select[Post, str]:
    # Every reader shows live posts only: a deleted post keeps its row but is gone to readers.
    return select(Post, User.name).join(User, col(User.id) == col(Post.author_id)).where(col(Post.deleted_at).is_(None))


def get_post(session: Session, *, post_id: int) -> PostView:
    """Return one post with its author's name, or raise NotFound (PostDeleted when it was deleted)."""
    row = session.exec(
        select(Post, User.name).join(User, col(User.id) == col(Post.author_id)).where(Post.id == post_id)
    ).first()
    if row is None:
        raise NotFound(f"Post {post_id} does not exist")
    if row[0].deleted_at is not None:
        raise PostDeleted(f"Post {post_id} was deleted")
    return _view(row[0], row[1])


def posts_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, PostView]:
    """Return the posts among these ids that still exist (not deleted), by id."""
    if not ids:
        return {}
    query = _shown().where(col(Post.id).in_(ids))
    return {post.id: _view(post, name) for post, name in session.exec(query).all() if post.id is not None}


def posts_after(session: Session, *, after_id: int) -> tuple[int, str]:
    """Count the (not deleted) posts newer than `after_id`, with the newest one's title ("" when none)."""
    newer = (col(Post.id) > after_id, col(Post.deleted_at).is_(None))
    count = session.exec(select(func.count()).select_from(Post).where(*newer)).one()
    newest = session.exec(select(Post.title).where(*newer).order_by(col(Post.id).desc())).first()
    return count, newest or ""


def latest_posts(session: Session, *, limit: int = 20, before_id: int | None = None) -> Sequence[PostView]:
    """Return posts newest first, one keyset page at a time (deleted ones skipped)."""
    query = _shown()
    if before_id is not None:
        query = query.where(col(Post.id) < before_id)
    rows = session.exec(query.order_by(col(Post.id).desc()).limit(limit)).all()
    return [_view(post, name) for post, name in rows]


@dataclass(frozen=True)
class FeedPage:
    """One keyset page of the feed, newest first, and whether older posts remain."""

    posts: Sequence[PostView]
    has_older: bool


def feed_page(session: Session, *, limit: int, before_id: int | None = None) -> FeedPage:
    """Return the posts below `before_id` (else the newest), newest first."""
    # One row more than shown says whether an older page exists, without a count.
    rows = latest_posts(session, limit=limit + 1, before_id=before_id)
    return FeedPage(posts=rows[:limit], has_older=len(rows) > limit)


def _editable(session: Session, *, actor: User, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None or post.deleted_at is not None:
        raise NotFound(f"Post {post_id} does not exist")
    if actor.role != Role.ADMIN and post.author_id != actor.id:
        raise Forbidden("Only the author or an admin can change this post")
    return post


def edit_post(session: Session, *, actor: User, post_id: int, title: str, content: str) -> PostView:
    """Change a post's title and content (its author or an admin) and reword its notifications; no email."""
    post = _editable(session, actor=actor, post_id=post_id)
    errors = validate_post(title=title, content=content)
    if errors:
        raise ValidationFailed(errors)
    post.title, post.content, post.updated_at = title.strip(), content.strip(), utcnow()
    session.add(post)
    session.flush()
    view = get_post(session, post_id=post_id)
    url = get_settings().app_url.rstrip("/") + post_path(post_id)
    payload = post_payload(
        post_id=post_id, title=view.title, author=view.author_name, content=view.content, excerpt=view.excerpt, url=url
    )
    words = post_message(session, channel=Channel.IN_APP, payload=payload)
    # One UPDATE, not one per user; pages learn of it from the post's own change (kind `posts`).
    reword_for_post(session, post_id=post_id, title=words.subject, body=words.body)
    session.commit()
    return view


def delete_post(session: Session, *, actor: User, post_id: int) -> None:
    """Soft-delete a post (its author or an admin); its notifications then say it was deleted."""
    post = _editable(session, actor=actor, post_id=post_id)
    post.deleted_at = post.updated_at = utcnow()
    session.add(post)
    mark_post_deleted(session, post_id=post_id)
    session.commit()
