"""The inbox: newest first, exact unread count, mark one or all read."""

from sqlmodel import Session

from postboard.notifications.service import create_for_post, list_for_user, mark_all_read, mark_read, unread_summary
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
