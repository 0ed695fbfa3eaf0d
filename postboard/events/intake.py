"""An event arriving from outside (the API, the Test event page): record it, then hand it to the queue."""

import asyncio
from typing import Any

from sqlmodel import Session

from postboard.events.engine import Receipt, receive
from postboard.outbox.service import Dispatcher, dispatch_event
from postboard.settings import Settings


async def fire(
    session: Session,
    *,
    source_name: str,
    payload: Any,
    settings: Settings,
    dispatcher: Dispatcher,
    token_id: int | None = None,
    idempotency_key: str | None = None,
    event_id: str | None = None,
) -> tuple[Receipt, bool]:
    """Receive an event (off the event loop) and hand its deliveries to the queue; return whether they are queued."""
    receipt, outbox = await asyncio.to_thread(
        receive,
        session,
        source_name=source_name,
        payload=payload,
        settings=settings,
        token_id=token_id,
        idempotency_key=idempotency_key,
        event_id=event_id,
    )
    queued = outbox is None or await dispatch_event(session, event=outbox, dispatcher=dispatcher)
    return receipt, queued
