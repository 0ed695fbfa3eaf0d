"""Claims, counters and "insert if absent" raced by several threads, each with its own connection, on both databases.

Each thread opens its own engine (its own connections), so the database — SQLite's one writer,
PostgreSQL's row locks — is what keeps every row exactly once, never the Python process.
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from postboard.db import make_engine
from postboard.deliveries.log import DELIVERY_RETRY, mark_for_retry
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.service import claim, ensure_deliveries
from postboard.errors import ValidationFailed
from postboard.notifications import service as inbox
from postboard.notifications.models import Notification
from postboard.outbox.models import OutboxEvent
from postboard.outbox.service import relay_pending
from postboard.posts.service import get_post
from postboard.users.models import User
from postboard.users.service import create_user
from tests.databases import Databases
from tests.factories import make_post

pytestmark = pytest.mark.integration

RACERS = 6
T = TypeVar("T")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's own database."""
    made = make_engine(database_url)
    yield made
    made.dispose()


def race(url: str, work: Callable[[Session], T], *, racers: int = RACERS) -> list[T | BaseException]:
    """Run `work` in `racers` threads at once, each with its own engine; return each result or error."""
    start = threading.Barrier(racers)
    results: list[T | BaseException] = [RuntimeError("did not run")] * racers

    def run(index: int) -> None:
        engine = make_engine(url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                start.wait()
                results[index] = work(session)
        except BaseException as error:  # noqa: BLE001 - handed back to the test, which asserts on it
            results[index] = error
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _values(results: list[T | BaseException]) -> list[T]:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], errors
    return [r for r in results if not isinstance(r, BaseException)]


def test_one_delivery_is_claimed_by_exactly_one_run(engine: Engine, database_url: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        post = make_post(session, members=1)
        ensure_deliveries(session, post_id=post.id or 0, user_ids=[2], channel=Channel.EMAIL)
        delivery = session.exec(select(Delivery)).one()

    def claim_it(session: Session) -> bool:
        return claim(session, delivery=delivery, lease=120)

    assert sorted(_values(race(database_url, claim_it))) == [False] * (RACERS - 1) + [True]


def test_runs_of_one_chunk_plan_each_delivery_once(engine: Engine, database_url: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        post = make_post(session, members=300)
        user_ids = list(session.exec(select(User.id)).all())

    def plan(session: Session) -> None:
        ensure_deliveries(session, post_id=post.id or 0, user_ids=[u or 0 for u in user_ids], channel=Channel.EMAIL)

    _values(race(database_url, plan))
    with Session(engine) as session:
        per_user = session.exec(select(Delivery.user_id, func.count()).group_by(col(Delivery.user_id))).all()
    assert len(per_user) == len(user_ids)
    assert {n for _, n in per_user} == {1}


def test_runs_of_one_post_fill_each_inbox_once(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches: the runs interleave batch by batch instead of one finishing first.
    monkeypatch.setattr(inbox, "INBOX_BATCH", 50)
    with Session(engine, expire_on_commit=False) as session:
        post = make_post(session, members=499)
        view = get_post(session, post_id=post.id or 0)

    def fill(session: Session) -> int:
        return inbox.create_for_post(session, post=view, url="/posts/1")

    created = _values(race(database_url, fill))
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(Notification)).one()
        most = session.exec(
            select(func.count())
            .select_from(Notification)
            .group_by(col(Notification.user_id))
            .order_by(func.count().desc())
        ).first()
    assert rows == 500
    assert most == 1
    # Each run counts only the rows it wrote.
    assert sum(created) == 500


def test_two_clicks_on_retry_queue_one_retry(engine: Engine, database_url: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        post = make_post(session, members=1)
        ensure_deliveries(session, post_id=post.id or 0, user_ids=[2], channel=Channel.EMAIL)
        session.execute(update(Delivery).values(status=DeliveryStatus.FAILED, attempts=4))
        session.commit()
        delivery_id = session.exec(select(Delivery.id)).one() or 0

    def retry(session: Session) -> bool:
        try:
            mark_for_retry(session, delivery_id=delivery_id)
        except ValidationFailed:
            return False
        return True

    assert sorted(_values(race(database_url, retry))) == [False] * (RACERS - 1) + [True]
    with Session(engine) as session:
        retries = session.exec(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == DELIVERY_RETRY))
        assert retries.one() == 1


class CountingDispatcher:
    """Counts each event it is handed (shared by every racing relay)."""

    def __init__(self) -> None:
        self.handed: Counter[int] = Counter()
        self._lock = threading.Lock()

    async def dispatch(self, event: OutboxEvent) -> None:
        """Count the event; yield to the loop like a real queue would."""
        await asyncio.sleep(0.001)
        with self._lock:
            self.handed[event.id or 0] += 1


def test_racing_relays_count_every_hand_over(database: Databases, engine: Engine, database_url: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(OutboxEvent(kind="test.event", payload={"n": n}) for n in range(60))
        session.commit()
    dispatcher = CountingDispatcher()

    def relay(session: Session) -> int:
        return asyncio.run(relay_pending(session, dispatcher=dispatcher))

    sent = _values(race(database_url, relay))
    with Session(engine) as session:
        events = session.exec(select(OutboxEvent)).all()
    assert all(e.dispatched_at is not None for e in events)
    assert set(dispatcher.handed) == {e.id for e in events}
    # Attempts are counted in SQL: no increment lost however the relays interleave.
    assert sum(e.attempts for e in events) == sum(dispatcher.handed.values())
    if database.kind == "postgresql":
        # FOR UPDATE SKIP LOCKED: each relay takes rows no other holds; every event is handed over once.
        assert sum(sent) == 60
        assert set(dispatcher.handed.values()) == {1}


def test_one_address_registered_at_once_makes_one_account(engine: Engine, database_url: str) -> None:
    def sign_up(session: Session) -> bool:
        try:
            create_user(session, name="Ada", email="ada@example.com", password="password123")
        except ValidationFailed:
            return False
        return True

    assert sorted(_values(race(database_url, sign_up))) == [False] * (RACERS - 1) + [True]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 1
