"""Delivery retries: backoff schedule, permanent vs transient errors, retry only what failed, claims."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.deliveries.retry import RetryPolicy
from postboard.deliveries.service import count_by_status
from postboard.flows import send_email_chunk
from postboard.mail.transport import MemoryTransport
from postboard.settings import Settings
from postboard.users.models import Role, User
from tests.factories import chunk_of_everyone, make_post

# Zero delays: a retry is due at once, so a second run exercises it without waiting.
NOW_SETTINGS = Settings(app_url="http://postboard.test", retry_delays=[0, 0])
SLOW_SETTINGS = Settings(app_url="http://postboard.test", retry_delays=[60, 300, 900])


def test_policy_gives_the_configured_waits_then_gives_up() -> None:
    policy = RetryPolicy.of([60, 300, 900])
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [policy.next_attempt(attempts_done=n, now=t0) for n in range(1, 5)]
    assert waits == [t0 + timedelta(seconds=s) for s in (60, 300, 900)] + [None]
    assert policy.max_attempts == 4
    assert RetryPolicy.of([]).next_attempt(attempts_done=1, now=t0) is None


@pytest.mark.parametrize("raw", ["1,5,15", "[1, 5, 15]"])
def test_retry_delays_setting_reads_lists(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_DELAYS", raw)
    assert Settings().retry_delays == [1, 5, 15]


def test_negative_delay_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_DELAYS", "5,-1")
    with pytest.raises(ValueError, match="negative"):
        Settings()


def _members(session: Session, n: int) -> list[str]:
    return list(session.exec(select(User.email).where(User.role == Role.MEMBER).order_by(User.id)).all()[:n])


async def test_only_the_failed_three_are_retried(session: Session) -> None:
    post = make_post(session, members=500)
    deferred = frozenset(_members(session, 3))
    first = MemoryTransport(defer=deferred)
    chunk = chunk_of_everyone(session)
    result = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=first, settings=NOW_SETTINGS)
    assert (result.sent, result.retrying, result.failed) == (497, 3, 0)
    assert result.retry_at is not None
    assert result.retry_attempt == 2
    assert "try again later" in (result.last_error or "")

    second = MemoryTransport()
    again = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=second, settings=NOW_SETTINGS)
    assert sorted(r for r, _ in second.sent) == sorted(deferred)
    assert (again.sent, again.skipped, again.retry_at) == (3, 497, None)
    assert count_by_status(session, post_id=post.id or 0, channel=Channel.EMAIL) == {DeliveryStatus.SENT: 500}


async def test_retrying_is_not_resent_before_it_is_due(session: Session) -> None:
    post = make_post(session, members=4)
    chunk = chunk_of_everyone(session)
    await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk, transport=MemoryTransport(down=True), settings=SLOW_SETTINGS
    )
    early = MemoryTransport()
    result = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=early, settings=SLOW_SETTINGS)
    assert early.sent == []
    assert early.connections == 0
    assert result.skipped == 4
    rows = session.exec(select(Delivery)).all()
    assert {r.status for r in rows} == {DeliveryStatus.RETRYING}
    assert all(r.next_attempt_at and r.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50) for r in rows)


async def test_permanent_rejection_fails_at_once(session: Session) -> None:
    post = make_post(session, members=3)
    [bad] = _members(session, 1)
    result = await send_email_chunk(
        session,
        post_id=post.id or 0,
        chunk=chunk_of_everyone(session),
        transport=MemoryTransport(frozenset({bad})),
        settings=SLOW_SETTINGS,
    )
    assert (result.sent, result.failed, result.retrying, result.retry_at) == (2, 1, 0, None)
    failed = session.exec(select(Delivery).where(Delivery.status == DeliveryStatus.FAILED)).one()
    assert failed.attempts == 1
    assert "550" in (failed.error or "")


async def test_server_down_exhausts_the_schedule_then_fails_with_the_error(session: Session) -> None:
    post = make_post(session, members=5)
    chunk = chunk_of_everyone(session)
    down = MemoryTransport(down=True)
    statuses = []
    for _ in range(3):
        result = await send_email_chunk(
            session, post_id=post.id or 0, chunk=chunk, transport=down, settings=NOW_SETTINGS
        )
        statuses.append((result.retrying, result.failed))
    assert statuses == [(5, 0), (5, 0), (0, 5)]
    rows = session.exec(select(Delivery)).all()
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.FAILED, 3)}
    assert all("connection refused" in (r.error or "") for r in rows)

    # A fourth run sends nothing; an admin's retry starts the schedule again and sends them.
    up = MemoryTransport()
    idle = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=up, settings=NOW_SETTINGS)
    assert (idle.sent, up.sent) == (0, [])
    manual = await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk, transport=up, settings=NOW_SETTINGS, retry_failed=True
    )
    assert manual.sent == 5
    assert count_by_status(session, post_id=post.id or 0, channel=Channel.EMAIL) == {DeliveryStatus.SENT: 5}


async def test_connection_lost_mid_chunk_keeps_what_went_out(session: Session) -> None:
    post = make_post(session, members=10)
    chunk = chunk_of_everyone(session)
    result = await send_email_chunk(
        session, post_id=post.id or 0, chunk=chunk, transport=MemoryTransport(disconnect_after=4), settings=NOW_SETTINGS
    )
    assert (result.sent, result.retrying) == (4, 6)
    second = MemoryTransport()
    await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=second, settings=NOW_SETTINGS)
    assert len(second.sent) == 6


class _YieldingTransport(MemoryTransport):
    """Gives the event loop away on every send, so two runs of one chunk interleave."""

    async def send(self, *, sender: str, recipient: str, raw: bytes) -> None:
        """Record the message after a turn of the loop."""
        await asyncio.sleep(0)
        await super().send(sender=sender, recipient=recipient, raw=raw)


async def test_two_runs_of_one_chunk_send_each_recipient_once(session: Session) -> None:
    post = make_post(session, members=200)
    chunk = chunk_of_everyone(session)
    a, b = _YieldingTransport(), _YieldingTransport()
    with Session(session.get_bind(), expire_on_commit=False) as other:
        ra, rb = await asyncio.gather(
            send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=a, settings=NOW_SETTINGS),
            send_email_chunk(other, post_id=post.id or 0, chunk=chunk, transport=b, settings=NOW_SETTINGS),
        )
    sent = [r for r, _ in a.sent + b.sent]
    assert len(sent) == len(set(sent)) == 200
    assert a.sent, "both runs should have taken a share"
    assert b.sent, "both runs should have taken a share"
    assert ra.sent + rb.sent == 200
    assert count_by_status(session, post_id=post.id or 0, channel=Channel.EMAIL) == {DeliveryStatus.SENT: 200}


async def test_a_claim_is_left_alone_until_its_lease_runs_out(session: Session) -> None:
    post = make_post(session, members=3)
    chunk = chunk_of_everyone(session)
    settings = Settings(app_url="http://postboard.test", retry_delays=[0], send_lease_seconds=60)
    await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=MemoryTransport(), settings=settings)
    row = session.exec(select(Delivery).order_by(Delivery.id)).first()
    assert row is not None
    claimed_at = datetime.now(UTC) - timedelta(seconds=10)
    # A run that died mid-send ten seconds ago left this row claimed.
    session.execute(
        update(Delivery).where(col(Delivery.id) == row.id).values(status=DeliveryStatus.SENDING, updated_at=claimed_at)
    )
    session.commit()

    fresh = MemoryTransport()
    result = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=fresh, settings=settings)
    assert fresh.sent == []
    assert result.retry_at is not None
    assert abs((result.retry_at.replace(tzinfo=UTC) - claimed_at).total_seconds() - 60) < 1

    expired = settings.model_copy(update={"send_lease_seconds": 5})
    late = MemoryTransport()
    result = await send_email_chunk(session, post_id=post.id or 0, chunk=chunk, transport=late, settings=expired)
    assert len(late.sent) == 1
    assert (result.sent, result.retry_at) == (1, None)
