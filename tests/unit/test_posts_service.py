"""Publishing: validation, the outbox written with the post or not at all, constant cost."""

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from postboard import names
from postboard.errors import Forbidden, ValidationFailed
from postboard.outbox.models import OutboxEvent
from postboard.outbox.service import relay_pending
from postboard.posts.models import Post
from postboard.posts.service import create_post, feed_page, latest_posts, publish, validate_post
from postboard.users.models import Role
from tests.factories import make_audience, make_user
from tests.unit.twins import DownDispatcher, RecordingDispatcher


@pytest.mark.parametrize(
    ("title", "content", "field", "message"),
    [
        ("", "body", "title", "Title is required"),
        ("   ", "body", "title", "Title is required"),
        ("x" * 201, "body", "title", "Title must be at most 200 characters"),
        ("Hello", "", "content", "Content is required"),
        ("Hello", "y" * 20_001, "content", "Content must be at most 20,000 characters"),
    ],
)
def test_bad_input_names_the_field(title: str, content: str, field: str, message: str) -> None:
    assert validate_post(title=title, content=content)[field] == message


def test_limits_themselves_are_accepted() -> None:
    assert validate_post(title="x" * 200, content="y" * 20_000) == {}


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


async def test_invalid_post_stores_and_queues_nothing(session: Session) -> None:
    author = make_user(session)
    dispatcher = RecordingDispatcher()
    with pytest.raises(ValidationFailed) as caught:
        await publish(session, author=author, title="", content="", dispatcher=dispatcher)
    assert caught.value.errors == {"title": "Title is required", "content": "Content is required"}
    assert _count(session, Post) == 0
    assert _count(session, OutboxEvent) == 0
    assert dispatcher.events == []


async def test_members_cannot_publish(session: Session) -> None:
    make_user(session, email="admin@example.com", role=Role.ADMIN)
    member = make_user(session, email="m@example.com", role=Role.MEMBER)
    with pytest.raises(Forbidden):
        await publish(session, author=member, title="T", content="C", dispatcher=RecordingDispatcher())
    assert _count(session, Post) == 0


async def test_publish_writes_post_and_outbox_and_dispatches(session: Session) -> None:
    author = make_user(session)
    dispatcher = RecordingDispatcher()
    result = await publish(session, author=author, title="  Launch  ", content="We shipped.", dispatcher=dispatcher)
    assert result.queued_now
    assert result.post.title == "Launch"
    [outbox] = session.exec(select(OutboxEvent)).all()
    assert outbox.kind == names.POST_CREATED
    assert outbox.payload == {"post_id": result.post.id}
    assert outbox.dispatched_at is not None
    assert [e.id for e in dispatcher.events] == [outbox.id]


async def test_queue_down_keeps_post_and_outbox_for_the_relay(session: Session) -> None:
    author = make_user(session)
    result = await publish(session, author=author, title="T", content="C", dispatcher=DownDispatcher())
    assert not result.queued_now
    [outbox] = session.exec(select(OutboxEvent)).all()
    assert outbox.dispatched_at is None
    assert "Connection refused" in (outbox.last_error or "")
    dispatcher = RecordingDispatcher()
    assert await relay_pending(session, dispatcher=dispatcher) == 1
    assert [e.payload for e in dispatcher.events] == [{"post_id": result.post.id}]
    assert await relay_pending(session, dispatcher=dispatcher) == 0


def test_post_is_not_stored_when_the_outbox_write_fails(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    author = make_user(session)

    def broken(*_args: object, **_kwargs: object) -> OutboxEvent:
        raise RuntimeError("disk full")

    monkeypatch.setattr("postboard.posts.service.OutboxEvent", broken)
    with pytest.raises(RuntimeError):
        create_post(session, author=author, title="T", content="C")
    session.rollback()
    assert _count(session, Post) == 0


async def test_publish_cost_does_not_grow_with_users(session: Session) -> None:
    author = make_user(session)
    statements: list[str] = []
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    await publish(session, author=author, title="one", content="c", dispatcher=RecordingDispatcher())
    few = len(statements)
    make_audience(session, members=3_000)
    statements.clear()
    await publish(session, author=author, title="two", content="c", dispatcher=RecordingDispatcher())
    assert len(statements) == few
    assert not any("user" in s.lower() and "select" in s.lower() for s in statements)


async def test_feed_is_newest_first_with_author(session: Session) -> None:
    author = make_user(session, name="Grace")
    for title in ("first", "second", "third"):
        await publish(session, author=author, title=title, content="c", dispatcher=RecordingDispatcher())
    feed = latest_posts(session, limit=2)
    assert [p.title for p in feed] == ["third", "second"]
    assert feed[0].author_name == "Grace"
    assert [p.title for p in latest_posts(session, before_id=feed[-1].id)] == ["first"]


@pytest.mark.parametrize(
    ("count", "pages"), [(5, [["p5", "p4"], ["p3", "p2"], ["p1"]]), (4, [["p4", "p3"], ["p2", "p1"]])]
)
def test_feed_pages_until_no_older_posts_remain(session: Session, count: int, pages: list[list[str]]) -> None:
    author = make_user(session, name="Grace")
    for n in range(1, count + 1):
        create_post(session, author=author, title=f"p{n}", content="c")
    seen, before_id = [], None
    while True:
        page = feed_page(session, limit=2, before_id=before_id)
        seen.append([p.title for p in page.posts])
        if not page.has_older:
            break
        before_id = page.posts[-1].id
    assert seen == pages


class _PickyDispatcher(RecordingDispatcher):
    """Refuses one event as a bug would (not an outage), takes the others."""

    def __init__(self, refused: int) -> None:
        super().__init__()
        self.refused = refused

    async def dispatch(self, event: OutboxEvent) -> None:
        """Raise for the refused event."""
        if event.id == self.refused:
            raise ValueError("unknown outbox kind")
        await super().dispatch(event)


async def test_relay_goes_past_a_broken_event_but_stops_when_the_queue_is_down(session: Session) -> None:
    author = make_user(session)
    for title in ("one", "two", "three"):
        await publish(session, author=author, title=title, content="C", dispatcher=DownDispatcher())
    ids = [e.id or 0 for e in session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all()]
    # The queue is still down: the relay tries the oldest and stops.
    assert await relay_pending(session, dispatcher=DownDispatcher()) == 0
    assert [e.attempts for e in session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all()] == [2, 1, 1]
    # The first event is broken: the other two still go out; it stays pending with its error.
    picky = _PickyDispatcher(refused=ids[0])
    assert await relay_pending(session, dispatcher=picky) == 2
    assert [e.id for e in picky.events] == ids[1:]
    broken = session.get(OutboxEvent, ids[0])
    assert broken is not None
    assert broken.dispatched_at is None
    assert "unknown outbox kind" in (broken.last_error or "")
