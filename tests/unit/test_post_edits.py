"""Editing and deleting posts: who may, what is checked, what readers and inboxes then show."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, func, select

from postboard.db import make_engine
from postboard.errors import Forbidden, NotFound, ValidationFailed
from postboard.flows import notify_post, send_email_chunk
from postboard.live import model_events
from postboard.live.bus import MemoryBus
from postboard.live.messages import Envelope, ResourceChanged
from postboard.mail.transport import MemoryTransport
from postboard.notifications.models import Notification
from postboard.notifications.service import POST_DELETED, create_for_post, list_for_user
from postboard.outbox.models import OutboxEvent
from postboard.posts.models import Post
from postboard.posts.service import (
    PostDeleted,
    create_post,
    delete_post,
    edit_post,
    feed_page,
    get_post,
    latest_posts,
    posts_after,
    posts_by_ids,
)
from postboard.settings import ROOT, Settings
from postboard.users.models import Role, User
from tests.databases import Databases
from tests.factories import chunk_of_everyone, make_post, make_user
from tests.support import BIN


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    """An admin, the post's author (an editor), another editor and a member."""
    return {
        "admin": make_user(session, name="Admin", email="admin@example.com", role=Role.ADMIN),
        "author": make_user(session, name="Ada", email="ada@example.com", role=Role.EDITOR),
        "editor": make_user(session, name="Eve", email="eve@example.com", role=Role.EDITOR),
        "member": make_user(session, name="Max", email="max@example.com", role=Role.MEMBER),
    }


@pytest.fixture
def post_id(session: Session, people: dict[str, User]) -> int:
    """A post by the author, in everyone's inbox."""
    post, _ = create_post(session, author=people["author"], title="Launch day", content="We shipped it.")
    create_for_post(session, post=get_post(session, post_id=post.id or 0), url=f"/posts/{post.id}")
    return post.id or 0


@pytest.fixture
def announced() -> Iterator[list[Envelope]]:
    """The envelopes commits announce while the test runs."""
    sent: list[Envelope] = []
    model_events.install(sent.extend)
    yield sent
    model_events.install(None)


def test_author_edits_and_inbox_entries_follow(session: Session, people: dict[str, User], post_id: int) -> None:
    view = edit_post(session, actor=people["author"], post_id=post_id, title="  Launch week ", content="Two days.")
    assert (view.title, view.content, view.updated_at is not None) == ("Launch week", "Two days.", True)
    assert get_post(session, post_id=post_id).title == "Launch week"
    entry = list_for_user(session, user_id=people["member"].id or 0)[0]
    assert (entry.title, entry.body, entry.url) == ("Launch week", "Ada: Two days.", f"/posts/{post_id}")


def test_admin_edits_and_deletes_any_post(session: Session, people: dict[str, User], post_id: int) -> None:
    assert edit_post(session, actor=people["admin"], post_id=post_id, title="Fixed", content="typo").title == "Fixed"
    delete_post(session, actor=people["admin"], post_id=post_id)
    with pytest.raises(PostDeleted):
        get_post(session, post_id=post_id)


@pytest.mark.parametrize("who", ["member", "editor"])
def test_others_are_refused(session: Session, people: dict[str, User], post_id: int, who: str) -> None:
    with pytest.raises(Forbidden):
        edit_post(session, actor=people[who], post_id=post_id, title="Mine now", content="x")
    with pytest.raises(Forbidden):
        delete_post(session, actor=people[who], post_id=post_id)
    assert get_post(session, post_id=post_id).title == "Launch day"


def test_bad_edit_names_the_fields_and_changes_nothing(session: Session, people: dict[str, User], post_id: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        edit_post(session, actor=people["author"], post_id=post_id, title=" ", content="y" * 20_001)
    assert caught.value.errors == {
        "title": "Title is required",
        "content": "Content must be at most 20,000 characters",
    }
    session.expire_all()
    assert get_post(session, post_id=post_id).title == "Launch day"


def test_deleted_post_is_gone_to_every_reader(session: Session, people: dict[str, User], post_id: int) -> None:
    other, _ = create_post(session, author=people["author"], title="Still here", content="c")
    delete_post(session, actor=people["author"], post_id=post_id)
    assert [p.title for p in latest_posts(session)] == ["Still here"]
    assert [p.title for p in feed_page(session, limit=5).posts] == ["Still here"]
    assert list(posts_by_ids(session, ids=[post_id, other.id or 0])) == [other.id]
    assert posts_after(session, after_id=0) == (1, "Still here")
    with pytest.raises(NotFound):
        get_post(session, post_id=post_id)
    # Deleting or editing it again: it is not there any more.
    with pytest.raises(NotFound):
        delete_post(session, actor=people["admin"], post_id=post_id)
    with pytest.raises(NotFound):
        edit_post(session, actor=people["admin"], post_id=post_id, title="Back", content="c")
    entry = list_for_user(session, user_id=people["member"].id or 0)[0]
    assert (entry.title, entry.body, entry.url) == ("Launch day", POST_DELETED, "")


def test_edit_and_delete_send_no_email(session: Session, people: dict[str, User], post_id: int) -> None:
    before = session.exec(select(func.count()).select_from(OutboxEvent)).one()
    edit_post(session, actor=people["author"], post_id=post_id, title="Again", content="c")
    delete_post(session, actor=people["author"], post_id=post_id)
    assert session.exec(select(func.count()).select_from(OutboxEvent)).one() == before


def test_edit_and_delete_are_announced_as_post_changes(
    session: Session, people: dict[str, User], post_id: int, announced: list[Envelope]
) -> None:
    edit_post(session, actor=people["author"], post_id=post_id, title="Again", content="c")
    delete_post(session, actor=people["author"], post_id=post_id)
    changes = [ResourceChanged.model_validate(e.data) for e in announced]
    assert [(c.kind, c.ids, c.actions) for c in changes] == [("posts", [post_id], ["updated"])] * 2
    # One message to the pages watching posts, not one per inbox owner.
    assert all(e.to == ["watch.posts"] for e in announced)


def _alembic(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([str(BIN / "alembic"), *args], cwd=ROOT, env=env, check=True, capture_output=True)


def test_migration_0005_goes_up_and_down(database: Databases, tmp_path: Path) -> None:
    with database.fresh(tmp_path, migrated=False) as url:
        _up_down_up(url)


def _up_down_up(url: str) -> None:
    _alembic(url, "upgrade", "head")
    _alembic(url, "downgrade", "0004")
    engine = make_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("post")}
        indexes = {i["name"] for i in inspect(conn).get_indexes("notification")}
    assert "deleted_at" not in columns
    assert "updated_at" not in columns
    assert "ix_notification_post_id" not in indexes
    _alembic(url, "upgrade", "head")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("post")}
    engine.dispose()
    assert {"deleted_at", "updated_at"} <= columns


def test_post_rows_are_kept_on_delete(session: Session, people: dict[str, User], post_id: int) -> None:
    delete_post(session, actor=people["author"], post_id=post_id)
    row = session.get(Post, post_id)
    assert row is not None
    assert row.deleted_at is not None


async def test_a_post_deleted_before_its_jobs_run_is_neither_emailed_nor_notified(session: Session) -> None:
    post = make_post(session, members=5)
    author = session.get(User, post.author_id)
    assert author is not None
    delete_post(session, actor=author, post_id=post.id or 0)
    transport = MemoryTransport()
    chunk = chunk_of_everyone(session)
    settings = Settings(app_url="http://postboard.test", mail_from="noreply@example.com")
    result = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=transport, settings=settings)
    assert (result.sent, result.failed, transport.sent) == (0, 0, [])
    assert await notify_post(session, post_id=post.id or 0, bus=MemoryBus(), settings=settings) is None
    assert session.exec(select(func.count()).select_from(Notification)).one() == 0
