"""A manual retry (the UI's and the API's one verb): pending again, and its job queued or left for the relay."""

import pytest
from sqlmodel import Session, select

from postboard.deliveries.log import DELIVERY_RETRY, retry_delivery
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.errors import NotFound, ValidationFailed
from postboard.outbox.models import OutboxEvent
from tests.factories import make_post
from tests.unit.twins import DownDispatcher, RecordingDispatcher


def _post_email(session: Session, status: DeliveryStatus) -> Delivery:
    post = make_post(session, members=1)
    delivery = Delivery(post_id=post.id, user_id=2, channel=Channel.EMAIL, status=status, attempts=3, error="boom")
    session.add(delivery)
    session.commit()
    return delivery


async def test_a_failed_post_email_is_pending_again_and_its_job_queued(session: Session) -> None:
    delivery = _post_email(session, DeliveryStatus.FAILED)
    dispatcher = RecordingDispatcher()
    retried = await retry_delivery(session, delivery_id=delivery.id or 0, dispatcher=dispatcher)
    assert retried.queued
    assert (retried.delivery.status, retried.delivery.attempts, retried.delivery.error) == (
        DeliveryStatus.PENDING,
        0,
        None,
    )
    [event] = dispatcher.events
    assert event.kind == DELIVERY_RETRY
    assert event.payload == {
        "delivery_id": delivery.id,
        "channel": "email",
        "event_id": None,
        "post_id": delivery.post_id,
        "user_id": 2,
    }
    assert event.dispatched_at is not None


async def test_with_the_queue_down_the_retry_waits_in_the_outbox_for_the_relay(session: Session) -> None:
    delivery = _post_email(session, DeliveryStatus.RETRYING)
    retried = await retry_delivery(session, delivery_id=delivery.id or 0, dispatcher=DownDispatcher())
    assert not retried.queued
    assert retried.delivery.status == DeliveryStatus.PENDING
    [row] = session.exec(select(OutboxEvent).where(OutboxEvent.kind == DELIVERY_RETRY)).all()
    assert row.dispatched_at is None
    assert "Connection refused" in (row.last_error or "")


async def test_a_sent_or_missing_delivery_is_refused_and_nothing_is_recorded(session: Session) -> None:
    delivery = _post_email(session, DeliveryStatus.SENT)
    with pytest.raises(ValidationFailed, match="this one is sent"):
        await retry_delivery(session, delivery_id=delivery.id or 0, dispatcher=RecordingDispatcher())
    with pytest.raises(NotFound):
        await retry_delivery(session, delivery_id=10**9, dispatcher=RecordingDispatcher())
    assert session.exec(select(OutboxEvent).where(OutboxEvent.kind == DELIVERY_RETRY)).all() == []
