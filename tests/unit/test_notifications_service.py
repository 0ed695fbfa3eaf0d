"""The inbox: newest first, exact unread count, mark one or all read."""

import pytest
from sqlalchemy import event
from sqlmodel import Session

from postboard.notifications import service
from postboard.notifications.models import Notification
from postboard.notifications.service import (
    create_for_post,
    inbox_page,
    latest_for_user,
    list_for_user,
    mark_all_read,
    mark_read,
    notify_users,
    unread_summary,
)
from postboard.posts.service import create_post, get_post
from postboard.users.models import Role
from tests.factories import make_user


def test_inbox_counts_and_marks(session: Session) -> None:
    editor = make_user(session, email="ed@example.com", role=Role.EDITOR)
    reader = make_user(session, email="reader@example.com", role=Role.MEMBER)
    for title in ("one", "two", "three"):
        post, _ = create_post(session, author=editor, title=title, content="c")
        create_for_post(session, post=get_post(session, post_id=post.id or 0), url=f"/posts/{post.id}")
    uid = reader.id or 0
    inbox = list_for_user(session, user_id=uid)
    assert [n.title for n in inbox] == ["three", "two", "one"]
    summary = unread_summary(session, user_id=uid)
    assert (summary.count, summary.newest_post_id) == (3, post.id)
    assert mark_read(session, user_id=uid, notification_id=inbox[0].id or 0)
    assert not mark_read(session, user_id=uid, notification_id=inbox[0].id or 0)
    assert not mark_read(session, user_id=editor.id or 0, notification_id=inbox[1].id or 0)
    assert unread_summary(session, user_id=uid).count == 2
    assert mark_all_read(session, user_id=uid) == 2
    assert unread_summary(session, user_id=uid).count == 0
    assert unread_summary(session, user_id=editor.id or 0).count == 3


def _titles(session: Session, uid: int, **cursor: int) -> tuple[list[str], int, int, bool, bool]:
    page = inbox_page(session, user_id=uid, limit=3, **cursor)
    return [n.title for n in page.rows], page.newer, page.total, page.has_newer, page.has_older


def test_inbox_pages_walk_older_and_back_newer(session: Session) -> None:
    reader = make_user(session, email="reader@example.com", role=Role.MEMBER)
    other = make_user(session, email="other@example.com", role=Role.MEMBER)
    uid = reader.id or 0
    for n in range(1, 8):
        notify_users(session, user_ids=[uid, other.id or 0], title=f"n{n}", body="b", url="/")
    assert _titles(session, uid) == (["n7", "n6", "n5"], 0, 7, False, True)
    newest = inbox_page(session, user_id=uid, limit=3).rows
    second = inbox_page(session, user_id=uid, limit=3, before_id=newest[-1].id or 0).rows
    assert _titles(session, uid, before_id=newest[-1].id or 0) == (["n4", "n3", "n2"], 3, 7, True, True)
    assert _titles(session, uid, before_id=second[-1].id or 0) == (["n1"], 6, 7, True, False)
    last = inbox_page(session, user_id=uid, limit=3, before_id=second[-1].id or 0).rows
    assert _titles(session, uid, after_id=last[0].id or 0) == (["n4", "n3", "n2"], 3, 7, True, True)
    assert _titles(session, uid, after_id=second[0].id or 0) == (["n7", "n6", "n5"], 0, 7, False, True)


def test_a_short_newer_page_shows_the_newest_full_page(session: Session) -> None:
    reader = make_user(session, email="reader@example.com", role=Role.MEMBER)
    uid = reader.id or 0
    for n in range(1, 6):
        notify_users(session, user_ids=[uid], title=f"n{n}", body="b", url="/")
    newest = inbox_page(session, user_id=uid, limit=3).rows
    # A page that starts one below the top (a notification arrived since): Newer fills a full page.
    assert _titles(session, uid, before_id=newest[0].id or 0) == (["n4", "n3", "n2"], 1, 5, True, True)
    assert _titles(session, uid, after_id=newest[1].id or 0) == (["n5", "n4", "n3"], 0, 5, False, True)


def test_an_empty_inbox_is_one_empty_page(session: Session) -> None:
    reader = make_user(session, email="reader@example.com", role=Role.MEMBER)
    assert _titles(session, reader.id or 0) == ([], 0, 0, False, False)


def test_a_new_account_has_seen_every_post_from_before_it_joined(session: Session) -> None:
    editor = make_user(session, email="ed@example.com", role=Role.EDITOR)
    old, _ = create_post(session, author=editor, title="before", content="c")
    newcomer = make_user(session, email="new@example.com", role=Role.MEMBER)
    # Nothing in the inbox yet, but the badge must not count the old post when it shows up live.
    assert unread_summary(session, user_id=newcomer.id or 0).newest_post_id == old.id
    later, _ = create_post(session, author=editor, title="after", content="c")
    create_for_post(session, post=get_post(session, post_id=later.id or 0), url="/")
    summary = unread_summary(session, user_id=newcomer.id or 0)
    assert (summary.count, summary.newest_post_id) == (1, later.id)


def test_latest_puts_unread_first_then_newest(session: Session) -> None:
    reader = make_user(session, email="reader@example.com", role=Role.MEMBER)
    other = make_user(session, email="other@example.com", role=Role.MEMBER)
    uid = reader.id or 0
    for n in range(1, 7):
        notify_users(session, user_ids=[uid, other.id or 0], title=f"n{n}", body="b", url="/")
    by_title = {n.title: n.id or 0 for n in list_for_user(session, user_id=uid)}
    for title in ("n6", "n3", "n2"):
        mark_read(session, user_id=uid, notification_id=by_title[title])
    assert [n.title for n in latest_for_user(session, user_id=uid, limit=10)] == ["n5", "n4", "n1", "n6", "n3", "n2"]
    assert [n.title for n in latest_for_user(session, user_id=uid, limit=4)] == ["n5", "n4", "n1", "n6"]
    mark_all_read(session, user_id=uid)
    assert [n.title for n in latest_for_user(session, user_id=uid, limit=2)] == ["n6", "n5"]
    assert all(n.user_id == uid for n in latest_for_user(session, user_id=uid, limit=10))


def test_a_post_reaches_every_inbox_in_batches_once(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "INBOX_BATCH", 3)
    editor = make_user(session, email="ed@example.com", role=Role.EDITOR)
    members = [make_user(session, email=f"m{n}@example.com") for n in range(7)]
    post, _ = create_post(session, author=editor, title="batched", content="c")
    view = get_post(session, post_id=post.id or 0)
    # One inbox already has it (a re-run after a crash mid-way): its batch skips it.
    session.add(Notification(user_id=members[3].id or 0, post_id=post.id, title="batched", body="b", url="/"))
    session.commit()
    commits: list[Session] = []
    event.listen(session, "after_commit", commits.append)
    assert create_for_post(session, post=view, url="/") == 7
    assert len(commits) == 3  # 8 users, 3 a transaction: other writers get the lock in between
    assert create_for_post(session, post=view, url="/") == 0
    for user in (editor, *members):
        assert unread_summary(session, user_id=user.id or 0).count == 1
