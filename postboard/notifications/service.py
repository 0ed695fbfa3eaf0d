"""Notification verbs: fan a post out to every inbox, list, count, mark read."""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy
from sqlalchemy import exists, func, insert, literal, update
from sqlmodel import Session, col, select

from postboard.clock import utcnow
from postboard.db import insert_new
from postboard.live.model_events import note_change
from postboard.notifications.models import Notification
from postboard.posts.models import Post, PostView
from postboard.users.models import User


@dataclass(frozen=True)
class UnreadSummary:
    """A user's unread count and the newest post it already includes."""

    count: int
    newest_post_id: int


# Users per INSERT … SELECT transaction when a post reaches every inbox: SQLite has one writer,
# so a single 100,000-row insert would hold up every other write (a publish) for a second or more;
# 500 holds it about 5 ms (2,000 held it 10-20 ms, which a publish waited for).
INBOX_BATCH = 500


def create_for_post(
    session: Session, *, post: PostView, url: str, title: str | None = None, body: str | None = None
) -> int:
    """Insert one notification per user for a post (skipping any that exist), a batch of users per commit."""
    already = exists().where(col(Notification.user_id) == col(User.id), col(Notification.post_id) == post.id)
    values = (
        literal(post.id),
        literal((title or post.title)[:200]),
        literal((body or f"{post.author_name}: {post.excerpt}")[:500]),
        literal(url),
        literal(utcnow()),
    )
    created, after = 0, 0
    while True:
        # The last id of the next batch; None: the rest fit in one.
        last = session.exec(
            select(User.id).where(col(User.id) > after).order_by(col(User.id)).offset(INBOX_BATCH - 1).limit(1)
        ).first()
        batch = (col(User.id) > after, col(User.id) <= last) if last is not None else (col(User.id) > after,)
        # SQLAlchemy's select: SQLModel's overloads stop at four columns.
        rows = sqlalchemy.select(col(User.id), *values).where(~already, *batch)
        # NOT EXISTS keeps the batch small; ON CONFLICT skips a row another run inserted since.
        statement = insert_new(session, Notification).from_select(
            ["user_id", "post_id", "title", "body", "url", "created_at"], rows
        )
        result = session.execute(statement.execution_options(preserve_rowcount=True))
        created += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
        if last is None:
            return created
        after = last


def notify_users(session: Session, *, user_ids: Sequence[int], title: str, body: str, url: str) -> int:
    """Put one notification that is not about a post (a system alert) in each user's inbox."""
    now = utcnow()
    rows = [
        {"user_id": uid, "post_id": None, "title": title[:200], "body": body[:500], "url": url, "created_at": now}
        for uid in user_ids
    ]
    if rows:
        session.execute(insert(Notification), rows)
        note_change(session, "notifications", action="created", user_ids=user_ids)
    session.commit()
    return len(rows)


POST_DELETED = "This post was deleted"


def reword_for_post(session: Session, *, post_id: int, title: str, body: str) -> None:
    """Give every entry of an edited post its new words (one UPDATE; the caller commits)."""
    session.execute(
        update(Notification).where(col(Notification.post_id) == post_id).values(title=title[:200], body=body[:500])
    )


def mark_post_deleted(session: Session, *, post_id: int) -> None:
    """Have every entry of a deleted post say so, with no link (one UPDATE; the caller commits)."""
    session.execute(update(Notification).where(col(Notification.post_id) == post_id).values(body=POST_DELETED, url=""))


def list_for_user(
    session: Session, *, user_id: int, limit: int = 50, before_id: int | None = None
) -> Sequence[Notification]:
    """Return a user's notifications newest first, one keyset page at a time."""
    query = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        query = query.where(col(Notification.id) < before_id)
    return session.exec(query.order_by(col(Notification.id).desc()).limit(limit)).all()


def latest_for_user(session: Session, *, user_id: int, limit: int) -> Sequence[Notification]:
    """Return a user's `limit` latest notifications, unread first, then newest first."""
    read_last = col(Notification.read_at).is_not(None)
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(read_last, col(Notification.id).desc())
        .limit(limit)
    )
    return session.exec(query).all()


@dataclass(frozen=True)
class InboxPage:
    """One keyset page of a user's notifications, newest first, and where it sits in the whole list."""

    rows: Sequence[Notification]
    total: int
    newer: int

    @property
    def has_newer(self) -> bool:
        """Whether notifications newer than this page exist."""
        return self.newer > 0

    @property
    def has_older(self) -> bool:
        """Whether notifications older than this page exist."""
        return self.newer + len(self.rows) < self.total


def inbox_page(
    session: Session, *, user_id: int, limit: int, before_id: int | None = None, after_id: int | None = None
) -> InboxPage:
    """Return the page below `before_id` or the page just above `after_id` (else the newest), newest first."""
    mine = col(Notification.user_id) == user_id
    if after_id is None:
        rows = list_for_user(session, user_id=user_id, limit=limit, before_id=before_id)
    else:
        above = select(Notification).where(mine, col(Notification.id) > after_id)
        rows = list(reversed(session.exec(above.order_by(col(Notification.id)).limit(limit)).all()))
        if len(rows) < limit:
            # Near the top a newer page would be short: show the newest full page instead.
            rows = list_for_user(session, user_id=user_id, limit=limit)
    total = session.exec(select(func.count()).select_from(Notification).where(mine)).one()
    newer = 0
    if rows:
        newer = session.exec(
            select(func.count()).select_from(Notification).where(mine, col(Notification.id) > (rows[0].id or 0))
        ).one()
    return InboxPage(rows=rows, total=total, newer=newer)


def unread_summary(session: Session, *, user_id: int) -> UnreadSummary:
    """Return the exact unread count and the newest post id the inbox holds."""
    count = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
    ).one()
    notified = session.exec(select(func.max(Notification.post_id)).where(Notification.user_id == user_id)).one()
    # Posts from before the account existed never reach its inbox: the live badge must not count them.
    joined = select(User.created_at).where(User.id == user_id).scalar_subquery()
    before = session.exec(select(func.max(Post.id)).where(col(Post.created_at) <= joined)).one()
    return UnreadSummary(count=count, newest_post_id=max(notified or 0, before or 0))


def mark_read(session: Session, *, user_id: int, notification_id: int) -> bool:
    """Mark one of the user's notifications read; return whether it was unread."""
    result = session.execute(
        update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.user_id) == user_id,
            col(Notification.read_at).is_(None),
        )
        .values(read_at=utcnow())
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        note_change(session, "notifications", action="read", ids=[notification_id], user_ids=[user_id])
    session.commit()
    return changed


def mark_all_read(session: Session, *, user_id: int) -> int:
    """Mark every unread notification of a user read; return how many."""
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    changed = int(getattr(result, "rowcount", 0) or 0)
    if changed:
        note_change(session, "notifications", action="read", user_ids=[user_id])
    session.commit()
    return changed
