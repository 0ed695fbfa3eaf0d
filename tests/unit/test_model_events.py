"""Model events: a commit announces what it changed, per kind, after the commit and never on rollback."""

import time
from collections.abc import Iterator

import pytest
from redis import Redis
from sqlmodel import Session

from postboard import names
from postboard.live import model_events
from postboard.live.messages import Envelope, ResourceChanged
from postboard.notifications.service import mark_all_read, notify_users
from postboard.users.models import Role
from postboard.users.service import set_role
from tests.factories import make_post, make_user


@pytest.fixture
def announced() -> Iterator[list[Envelope]]:
    """Every envelope later commits announce."""
    seen: list[Envelope] = []
    model_events.install(seen.extend)
    yield seen
    model_events.install(None)


def _changes(seen: list[Envelope]) -> dict[str, tuple[list[str], ResourceChanged]]:
    return {(c := ResourceChanged.model_validate(e.data)).kind: (e.to, c) for e in seen}


def test_an_orm_write_is_announced_once_committed_with_its_ids(session: Session, announced: list[Envelope]) -> None:
    post = make_post(session, members=2)
    changes = _changes(announced)
    to, change = changes["posts"]
    assert to == ["watch.posts"]
    assert change.ids == [post.id]
    assert change.actions == ["created"]
    assert "users" in changes
    assert all(e.type == names.RESOURCE_CHANGED for e in announced)


def test_nothing_is_announced_before_the_commit_or_after_a_rollback(
    session: Session, announced: list[Envelope]
) -> None:
    user = make_user(session)
    announced.clear()
    user.name = "Someone else"
    session.add(user)
    session.flush()
    assert announced == []
    session.rollback()
    session.commit()
    assert announced == []


def test_a_user_kind_goes_to_each_owner_channel_only(session: Session, announced: list[Envelope]) -> None:
    one, two = make_user(session, email="a@x.org"), make_user(session, email="b@x.org")
    announced.clear()
    notify_users(session, user_ids=[one.id or 0, two.id or 0], title="t", body="b", url="/")
    session.commit()
    to, change = _changes(announced)["notifications"]
    assert sorted(to) == sorted([names.user_room(one.id or 0), names.user_room(two.id or 0)])
    assert change.ids == []  # a bulk insert: the pages re-read all they show
    announced.clear()
    mark_all_read(session, user_id=one.id or 0)
    to, change = _changes(announced)["notifications"]
    assert to == [names.user_room(one.id or 0)]
    assert change.actions == ["read"]


def test_a_role_change_is_announced_to_the_pages_watching_users(session: Session, announced: list[Envelope]) -> None:
    user = make_user(session)
    announced.clear()
    set_role(session, user_id=user.id or 0, role=Role.ADMIN)
    to, change = _changes(announced)["users"]
    assert to == ["watch.users"]
    assert change.ids == [user.id]
    assert change.actions == ["updated"]


def test_nothing_is_announced_while_no_publisher_is_installed(session: Session) -> None:
    seen: list[Envelope] = []
    model_events.install(None)
    make_post(session, members=1)
    assert seen == []


def _change(kind: str, ids: list[int], to: str = "watch.x") -> Envelope:
    data = ResourceChanged(kind=kind, ids=ids, actions=["updated"])
    return Envelope(type=names.RESOURCE_CHANGED, to=[to], data=data.model_dump())


def test_merge_joins_ids_per_kind_and_channel_and_many_wins() -> None:
    merged = model_events.merge([_change("a", [1]), _change("a", [2, 1]), _change("b", [3]), _change("a", [4], "y")])
    by_key = {(ResourceChanged.model_validate(e.data).kind, e.to[0]): e for e in merged}
    assert ResourceChanged.model_validate(by_key[("a", "watch.x")].data).ids == [1, 2]
    assert len(merged) == 3
    [many] = model_events.merge([_change("a", [1]), _change("a", [])])
    assert ResourceChanged.model_validate(many.data).ids == []
    [capped] = model_events.merge([_change("a", list(range(80))), _change("a", list(range(80, 160)))])
    assert ResourceChanged.model_validate(capped.data).ids == []


def test_the_redis_announcer_publishes_merged_envelopes_on_the_live_channel(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(names.LIVE_CHANNEL)
    announcer = model_events.RedisAnnouncer(redis_url)
    try:
        for n in range(50):
            announcer([_change("deliveries", [n])])
        announcer.close()
        got: list[Envelope] = []
        deadline = time.monotonic() + 5
        # None also stands for the skipped subscribe confirmation: read until all 50 ids came.
        while sum(len(ResourceChanged.model_validate(e.data).ids) for e in got) < 50:
            assert time.monotonic() < deadline, f"only {got} arrived"
            if (message := pubsub.get_message(timeout=1)) is not None:
                got.append(Envelope.model_validate_json(message["data"]))
    finally:
        pubsub.close()
        redis.close()
    assert sum(len(ResourceChanged.model_validate(e.data).ids) for e in got) == 50
    assert len(got) < 50


def test_the_redis_announcer_survives_redis_being_down() -> None:
    announcer = model_events.RedisAnnouncer("redis://127.0.0.1:1")
    announcer([_change("posts", [1])])
    assert announcer.flush() == 0
    announcer.close()
