"""`POST /api/events`, its simulation, and the delivery log API."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from postboard.db import session_scope
from postboard.deliveries.log import get_detail, list_deliveries, retry_delivery
from postboard.deliveries.models import Channel, DeliveryStatus
from postboard.errors import NotFound
from postboard.events.engine import EventRejected, IdempotencyConflict, simulate
from postboard.events.intake import fire
from postboard.settings import get_settings
from postboard.web import deps
from postboard.web.api_auth import Admin, RowId, Writer
from postboard.web.api_views import (
    DeliveryOut,
    EventAccepted,
    PlanOut,
    delivery_out,
    plan_out,
)
from postboard.web.rate_limit import check_rate

log = logging.getLogger(__name__)
MAX_EVENT_BYTES = 64 * 1024
T = TypeVar("T")

router = APIRouter(prefix="/api")


class EventIn(BaseModel):
    """An event fired by an external service."""

    event: str = Field(min_length=1, max_length=64, description="The event source's name, e.g. order_created")
    payload: dict[str, Any] = Field(default_factory=dict, description="Data for conditions and templates")
    id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Your own event id: sending it again is a no-op"
    )


def _db(work: Callable[[Session], T]) -> Awaitable[T]:
    def run() -> T:
        with session_scope() as session:
            return work(session)

    return run_in_threadpool(run)


EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": EventIn.model_json_schema()}},
    }
}


def _no_constant(name: str) -> None:
    # Python's json reads NaN and Infinity; JSON has neither, and receivers choke on them.
    raise ValueError(f"{name} is not JSON")


def _has_nul(value: Any) -> bool:
    """Whether any string in a JSON value (keys too) holds NUL, which no PostgreSQL text column stores."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def _read_event(request: Request) -> EventIn:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        raise HTTPException(413, f"the body is over {MAX_EVENT_BYTES // 1024} KiB")
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > MAX_EVENT_BYTES:
            raise HTTPException(413, f"the body is over {MAX_EVENT_BYTES // 1024} KiB")
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise HTTPException(422, "the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"the body is not valid JSON: {exc}") from None
    if _has_nul(data):
        # Refused on SQLite too, so an event is accepted or not whatever the database.
        raise HTTPException(422, "the body holds a NUL character (\\u0000); text may not contain it")
    try:
        return EventIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    tags=["events"],
    openapi_extra=EVENT_BODY,
    responses={401: {}, 403: {}, 409: {}, 413: {}, 422: {}, 429: {}},
)
async def post_event(
    request: Request,
    response: Response,
    token: Writer,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> EventAccepted:
    """Fire an event: matching rules plan deliveries, which are queued; 202 with the event id."""
    if idempotency_key is not None and not idempotency_key.strip():
        raise HTTPException(422, "Idempotency-Key is empty: send a key, or no header")
    if (wait := await check_rate(token.id or 0)) is not None:
        raise HTTPException(429, "too many events for this token; slow down", {"Retry-After": str(wait)})
    data = await _read_event(request)
    try:
        with session_scope() as session:
            receipt, queued = await fire(
                session,
                source_name=data.event,
                payload=data.payload,
                settings=get_settings(),
                dispatcher=deps.dispatcher(),
                token_id=token.id,
                idempotency_key=idempotency_key,
                event_id=data.id,
            )
    except NotFound:
        raise HTTPException(422, f"unknown event {data.event!r}: create its event source first") from None
    except EventRejected as exc:
        raise HTTPException(422, f"payload refused: {'; '.join(exc.errors[:5])}") from None
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if receipt.replay:
        response.headers["Idempotent-Replayed"] = "true"
    return EventAccepted(
        id=receipt.event_id,
        event=data.event,
        deliveries_planned=receipt.planned,
        queued=queued,
        replayed=receipt.replay,
    )


@router.post("/events/simulate", response_model=PlanOut, tags=["events"], openapi_extra=EVENT_BODY)
async def simulate_event(request: Request, token: Writer) -> PlanOut:
    """What an event would do — matching rules and why, recipients, rendered messages — sending nothing."""
    data = await _read_event(request)

    def run(session: Session) -> PlanOut:
        try:
            return plan_out(simulate(session, source_name=data.event, payload=data.payload, settings=get_settings()))
        except NotFound:
            raise HTTPException(422, f"unknown event {data.event!r}: create its event source first") from None
        except EventRejected as exc:
            raise HTTPException(422, f"payload refused: {'; '.join(exc.errors[:5])}") from None

    return await _db(run)


@router.get("/deliveries", response_model=list[DeliveryOut], tags=["deliveries"])
def get_deliveries(
    token: Admin,
    response: Response,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    event: Annotated[str | None, Query(max_length=64, description="An event id or an event source name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[DeliveryOut]:
    """The delivery log, newest first; `X-Total-Count` says how many match."""
    with session_scope() as session:
        page = list_deliveries(session, status=status, channel=channel, event=event, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    return [delivery_out(d) for d in page.rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, tags=["deliveries"])
def read_delivery(delivery_id: RowId, token: Admin) -> DeliveryOut:
    """One delivery with its rendered content and every attempt."""
    with session_scope() as session:
        detail = get_detail(session, delivery_id=delivery_id)
        return delivery_out(detail.delivery, event_name=detail.event_name, attempts=detail.attempts)


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut, tags=["deliveries"])
async def retry(delivery_id: RowId, token: Admin) -> DeliveryOut:
    """Send a failed or retrying delivery again now."""
    with session_scope() as session:
        retried = await retry_delivery(session, delivery_id=delivery_id, dispatcher=deps.dispatcher())
    return delivery_out(retried.delivery)
