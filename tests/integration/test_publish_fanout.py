"""One publish, 1,000 users: 999 emails through real SMTP, 1,000 inbox rows, one live message."""

import asyncio
import email
import email.policy
import json
import mailbox
import os
from collections import Counter
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlmodel import func, select

from postboard import names
from postboard.deliveries.models import Delivery, DeliveryStatus
from postboard.notifications.models import Notification
from postboard.posts.service import publish
from postboard.users.models import Role, User
from tasks.dispatch import TaskiqDispatcher
from tests.factories import make_audience, make_user
from tests.integration.pipeline import Pipeline, drained
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _recipients(pipeline: Pipeline) -> Counter[str]:
    box = mailbox.Maildir(pipeline.mailbox, create=False)
    return Counter(str(m["X-Envelope-To"]) for m in box)


async def test_publish_reaches_every_inbox_once(pipeline: Pipeline) -> None:
    with pipeline.session() as session:
        author = make_user(session, name="Ada Author", email="author@example.com", role=Role.EDITOR)
        make_audience(session, members=999)
        assert session.exec(select(func.count()).select_from(User)).one() == 1_000

    redis = Redis.from_url(os.environ["REDIS_URL"])
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(names.LIVE_CHANNEL)
    with pipeline.session() as session:
        result = await publish(
            session,
            author=author,
            title="Quarterly <b>update</b>",
            content="Numbers are up.",
            dispatcher=TaskiqDispatcher(),
        )
    assert result.queued_now
    post_id = result.post.id

    live: list[dict[str, Any]] = []

    async def arrived() -> bool:
        if (message := await pubsub.get_message(timeout=1)) is not None:
            envelope = json.loads(message["data"])
            if envelope["type"] == names.POST_CREATED:
                live.append(envelope)
        return bool(live)

    assert await eventually(arrived, within=70), "no post.created on the live channel"
    assert live[0]["data"]["id"] == post_id
    await pubsub.aclose()
    await redis.aclose()

    assert await eventually(lambda: pipeline.sink.received >= 999, within=120), (
        f"only {pipeline.sink.received} emails arrived"
    )
    await asyncio.sleep(1)  # anything extra (a duplicate) would land now
    recipients = _recipients(pipeline)
    assert sum(recipients.values()) == 999
    assert max(recipients.values()) == 1
    assert "author@example.com" not in recipients

    some = next(iter(mailbox.Maildir(pipeline.mailbox, create=False)))
    parsed = email.message_from_bytes(some.as_bytes(), policy=email.policy.default)
    assert "Quarterly <b>update</b>" in str(parsed["Subject"])

    with pipeline.session() as session:
        assert await eventually(
            lambda: session.exec(select(func.count()).select_from(Notification)).one() == 1_000, within=30
        )
        statuses = dict(
            session.exec(
                select(Delivery.status, func.count()).where(Delivery.post_id == post_id).group_by(Delivery.status)
            ).all()
        )
        assert statuses == {DeliveryStatus.SENT: 999}


async def test_chunk_job_run_again_sends_nothing_twice(pipeline: Pipeline) -> None:
    from tasks.posts import send_post_email_chunk, send_post_emails

    with pipeline.session() as session:
        post_id = session.exec(select(func.max(Delivery.post_id))).one()
        last = session.exec(select(func.max(User.id))).one()
    before = pipeline.sink.received
    await send_post_emails.kiq(post_id)
    await send_post_email_chunk.kiq(post_id, 0, last)
    assert await eventually(lambda: drained(os.environ["REDIS_URL"], names.EMAILS_QUEUE), within=30)
    await asyncio.sleep(1)
    assert pipeline.sink.received == before
    with pipeline.session() as session:
        assert session.exec(select(func.max(Delivery.attempts))).one() == 1
