"""LIVE_ENABLED through real workers and a real Redis: off, the fan-out completes and nothing reaches the channels."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlmodel import Session, col, func, select

import postboard.models  # noqa: F401 - registers every table (events refer to api tokens)
from postboard import names
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.events.intake import fire
from postboard.events.models import RecipientKind
from postboard.events.service import RuleIn, SourceIn, TemplateIn, save_rule, save_source, save_template
from postboard.notifications.models import Notification
from postboard.posts.service import publish
from postboard.settings import get_settings
from postboard.users.models import Role, User
from tasks.dispatch import TaskiqDispatcher
from tests.databases import Databases
from tests.factories import make_audience, make_user
from tests.integration.pipeline import Pipeline, drained, running_pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MEMBERS = 19
USERS = MEMBERS + 1
END = "end-of-test"


@pytest.fixture(params=[False, True], ids=["live-off", "live-on"])
def live_pipeline(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, database: Databases
) -> Iterator[tuple[bool, Pipeline]]:
    """Workers started with LIVE_ENABLED off, then (the control) on."""
    live: bool = request.param
    with running_pipeline(tmp_path, redis_url, database=database, env={"LIVE_ENABLED": str(live).lower()}) as line:
        yield live, line


def _in_app_rule(session: Session) -> None:
    source = save_source(session, SourceIn(name="order_created"))
    template = save_template(
        session, TemplateIn(name="order", channel=Channel.IN_APP, subject="Order {{ order_id }}", body="Paid.")
    )
    save_rule(
        session,
        RuleIn(
            name="everyone",
            source_id=source.id or 0,
            template_id=template.id or 0,
            recipient_kind=RecipientKind.ALL_USERS,
        ),
    )


def _fan_out_done(pipeline: Pipeline, *, post_id: int, event_id: str) -> bool:
    """Every email and in-app delivery sent, every inbox row written, every job acknowledged."""
    with pipeline.session() as session:
        post_sent = session.exec(
            select(func.count()).where(Delivery.post_id == post_id, Delivery.status == DeliveryStatus.SENT)
        ).one()
        event_sent = session.exec(
            select(func.count()).where(Delivery.event_id == event_id, Delivery.status == DeliveryStatus.SENT)
        ).one()
        rows = session.exec(select(func.count()).select_from(Notification)).one()
    return (
        (post_sent, event_sent, rows) == (MEMBERS, USERS, 2 * USERS)
        and pipeline.sink.received == MEMBERS
        and all(drained(pipeline.env["REDIS_URL"], q) for q in (names.EMAILS_QUEUE, names.NOTIFICATIONS_QUEUE))
    )


def _kinds_changed(seen: list[dict[str, Any]]) -> set[str]:
    return {e["data"]["kind"] for e in seen if e["type"] == names.RESOURCE_CHANGED}


async def _read(pubsub: PubSub, seen: list[dict[str, Any]], *, until: Callable[[list[dict[str, Any]]], bool]) -> None:
    """Append the envelopes that reach the live channel to seen, up to the end marker or until seen satisfies until."""
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, f"the live channel went quiet too soon; read {len(seen)} envelopes"
        # None also stands for a skipped subscribe confirmation: keep reading.
        if (message := await pubsub.get_message(timeout=1)) is None:
            continue
        data = message["data"].decode()
        if data == END:
            return
        seen.append(json.loads(data))
        if until(seen):
            return


async def _everything_published(redis: Redis, pubsub: PubSub, *, live: bool) -> list[dict[str, Any]]:
    """The envelopes that reached the live channel, read up to a marker this test publishes last.

    Redis hands a subscriber its messages in the order the server received them, so
    everything the workers published before the fan-out finished is read before the
    marker: no waiting for silence. Model events are the exception: the workers announce
    them from a thread up to a quarter second after the commit, so with live on the test
    first reads until both kinds have come (a fan-out this small can finish in less).
    """
    seen: list[dict[str, Any]] = []
    if live:
        await _read(pubsub, seen, until=lambda got: {"notifications", "deliveries"} <= _kinds_changed(got))
    await redis.publish(names.LIVE_CHANNEL, END)
    await _read(pubsub, seen, until=lambda _: False)
    return seen


async def test_live_switch_decides_what_reaches_the_channels_and_never_the_inboxes(
    live_pipeline: tuple[bool, Pipeline],
) -> None:
    live, pipeline = live_pipeline
    with pipeline.session() as session:
        author = make_user(session, name="Ada Author", email="author@example.com", role=Role.EDITOR)
        make_audience(session, members=MEMBERS)
        _in_app_rule(session)
        user_ids = session.exec(select(User.id)).all()

    redis = Redis.from_url(pipeline.env["REDIS_URL"])
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(names.LIVE_CHANNEL)
    try:
        with pipeline.session() as session:
            published = await publish(
                session, author=author, title="Switch test", content="Body.", dispatcher=TaskiqDispatcher()
            )
            receipt, queued = await fire(
                session,
                source_name="order_created",
                payload={"order_id": 7},
                settings=get_settings(),
                dispatcher=TaskiqDispatcher(),
            )
        assert published.queued_now
        assert queued
        post_id = published.post.id

        assert await eventually(lambda: _fan_out_done(pipeline, post_id=post_id, event_id=receipt.event_id), within=90)
        seen = await _everything_published(redis, pubsub, live=live)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    with pipeline.session() as session:
        inboxes = session.exec(select(func.count(col(Notification.user_id).distinct()))).one()
    assert inboxes == USERS
    if live:
        posts = [e["data"]["id"] for e in seen if e["type"] == names.POST_CREATED]
        notices = [e["to"] for e in seen if e["type"] == names.NOTIFICATION_CREATED]
        assert posts == [post_id]
        # One private notice per user, each to that user's channel only.
        assert sorted(notices) == sorted([names.user_room(u)] for u in user_ids)
        # The workers' commits announced what changed (model events), to user channels for inbox rows.
        assert {"notifications", "deliveries"} <= _kinds_changed(seen)
    else:
        assert seen == []
