"""`POST /api/events` and the read/write API of sources, templates, rules and deliveries."""

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from postboard.db import session_scope
from postboard.deliveries.log import get_detail, list_deliveries, retry_delivery
from postboard.deliveries.models import Channel, DeliveryStatus
from postboard.errors import NotFound
from postboard.events import service
from postboard.events.engine import EventRejected, IdempotencyConflict, Receipt, receive, simulate
from postboard.outbox.service import hand_over, record_hand_over
from postboard.settings import get_settings
from postboard.tokens.models import ApiToken, Scope
from postboard.tokens.service import authenticate, has_scope
from postboard.web.api_views import (
    DeliveryOut,
    EventAccepted,
    PlanOut,
    RuleOut,
    SourceOut,
    TemplateOut,
    delivery_out,
    plan_out,
)
from postboard.web.rate_limit import check_rate

log = logging.getLogger(__name__)
MAX_EVENT_BYTES = 64 * 1024
T = TypeVar("T")

router = APIRouter(prefix="/api")
# Row ids are 64-bit in the database: a larger number is simply not found.
MAX_ID = 2**63 - 1


class EventIn(BaseModel):
    """An event fired by an external service."""

    event: str = Field(min_length=1, max_length=64, description="The event source's name, e.g. order_created")
    payload: dict[str, Any] = Field(default_factory=dict, description="Data for conditions and templates")
    id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Your own event id: sending it again is a no-op"
    )


def _db(work: Callable[[Session], T]) -> Any:
    def run() -> T:
        with session_scope() as session:
            return work(session)

    return run_in_threadpool(run)


def _token(authorization: Annotated[str | None, Header()] = None) -> ApiToken:
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    with session_scope() as session:
        token = authenticate(session, secret.strip())
    if token is None:
        raise HTTPException(401, "unknown or revoked API token", {"WWW-Authenticate": "Bearer"})
    return token


def scoped(scope: Scope) -> Callable[..., ApiToken]:
    """A dependency: the caller's token, which must carry `scope`."""

    def check(token: Annotated[ApiToken, Depends(_token)]) -> ApiToken:
        if not has_scope(token, scope):
            raise HTTPException(403, f"this token lacks the {scope.value!r} scope")
        return token

    return check


Writer = Annotated[ApiToken, Depends(scoped(Scope.EVENTS_WRITE))]
Admin = Annotated[ApiToken, Depends(scoped(Scope.ADMIN))]

EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": EventIn.model_json_schema()}},
    }
}


def _no_constant(name: str) -> None:
    # Python's json reads NaN and Infinity; JSON has neither, and receivers choke on them.
    raise ValueError(f"{name} is not JSON")


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
    settings = get_settings()

    def record(session: Session) -> tuple[Receipt, Any]:
        try:
            return receive(
                session,
                source_name=data.event,
                payload=data.payload,
                settings=settings,
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

    receipt, outbox = await _db(record)
    queued = True
    if outbox is not None:
        from tasks.dispatch import TaskiqDispatcher

        error = await hand_over(outbox, dispatcher=TaskiqDispatcher())
        # The commit waits for SQLite's write lock: off the event loop, like the rest.
        queued = await _db(lambda session: record_hand_over(session, event=outbox, error=error))
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


@router.get("/event-sources", response_model=list[SourceOut], tags=["event sources"])
def get_sources(token: Admin) -> list[SourceOut]:
    """Every event source."""
    with session_scope() as session:
        return [SourceOut.model_validate(s, from_attributes=True) for s in service.list_sources(session)]


@router.post("/event-sources", status_code=201, response_model=SourceOut, tags=["event sources"])
def create_source(data: service.SourceIn, token: Admin) -> SourceOut:
    """Create an event source."""
    with session_scope() as session:
        return SourceOut.model_validate(service.save_source(session, data), from_attributes=True)


@router.get("/event-sources/{source_id}", response_model=SourceOut, tags=["event sources"])
def read_source(source_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> SourceOut:
    """One event source."""
    with session_scope() as session:
        return SourceOut.model_validate(service.get_source(session, source_id=source_id), from_attributes=True)


@router.put("/event-sources/{source_id}", response_model=SourceOut, tags=["event sources"])
def update_source(source_id: Annotated[int, Path(ge=1, le=MAX_ID)], data: service.SourceIn, token: Admin) -> SourceOut:
    """Change an event source."""
    with session_scope() as session:
        return SourceOut.model_validate(service.save_source(session, data, source_id=source_id), from_attributes=True)


@router.delete("/event-sources/{source_id}", status_code=204, tags=["event sources"])
def remove_source(source_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> None:
    """Delete an event source and its rules."""
    with session_scope() as session:
        service.delete_source(session, source_id=source_id)


@router.get("/templates", response_model=list[TemplateOut], tags=["templates"])
def get_templates(token: Admin) -> list[TemplateOut]:
    """Every template."""
    with session_scope() as session:
        return [TemplateOut.model_validate(t, from_attributes=True) for t in service.list_templates(session)]


@router.post("/templates", status_code=201, response_model=TemplateOut, tags=["templates"])
def create_template(data: service.TemplateIn, token: Admin) -> TemplateOut:
    """Create a template (syntax errors are refused with their line)."""
    with session_scope() as session:
        return TemplateOut.model_validate(service.save_template(session, data), from_attributes=True)


@router.get("/templates/{template_id}", response_model=TemplateOut, tags=["templates"])
def read_template(template_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> TemplateOut:
    """One template."""
    with session_scope() as session:
        return TemplateOut.model_validate(service.get_template(session, template_id=template_id), from_attributes=True)


@router.put("/templates/{template_id}", response_model=TemplateOut, tags=["templates"])
def update_template(
    template_id: Annotated[int, Path(ge=1, le=MAX_ID)], data: service.TemplateIn, token: Admin
) -> TemplateOut:
    """Change a template."""
    with session_scope() as session:
        saved = service.save_template(session, data, template_id=template_id)
        return TemplateOut.model_validate(saved, from_attributes=True)


@router.delete("/templates/{template_id}", status_code=204, tags=["templates"])
def remove_template(template_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> None:
    """Delete a template no rule uses."""
    with session_scope() as session:
        service.delete_template(session, template_id=template_id)


@router.get("/rules", response_model=list[RuleOut], tags=["rules"])
def get_rules(token: Admin, source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> list[RuleOut]:
    """Every rule, or those of one event source."""
    with session_scope() as session:
        return [
            RuleOut.model_validate(r, from_attributes=True) for r in service.list_rules(session, source_id=source_id)
        ]


@router.post("/rules", status_code=201, response_model=RuleOut, tags=["rules"])
def create_rule(data: service.RuleIn, token: Admin) -> RuleOut:
    """Create a rule."""
    with session_scope() as session:
        return RuleOut.model_validate(service.save_rule(session, data), from_attributes=True)


@router.get("/rules/{rule_id}", response_model=RuleOut, tags=["rules"])
def read_rule(rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> RuleOut:
    """One rule."""
    with session_scope() as session:
        return RuleOut.model_validate(service.get_rule(session, rule_id=rule_id), from_attributes=True)


@router.put("/rules/{rule_id}", response_model=RuleOut, tags=["rules"])
def update_rule(rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], data: service.RuleIn, token: Admin) -> RuleOut:
    """Change a rule (switch it off with `active: false`)."""
    with session_scope() as session:
        return RuleOut.model_validate(service.save_rule(session, data, rule_id=rule_id), from_attributes=True)


@router.delete("/rules/{rule_id}", status_code=204, tags=["rules"])
def remove_rule(rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> None:
    """Delete a rule."""
    with session_scope() as session:
        service.delete_rule(session, rule_id=rule_id)


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
def read_delivery(delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> DeliveryOut:
    """One delivery with its rendered content and every attempt."""
    with session_scope() as session:
        detail = get_detail(session, delivery_id=delivery_id)
        return delivery_out(detail.delivery, event_name=detail.event_name, attempts=detail.attempts)


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut, tags=["deliveries"])
async def retry(delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], token: Admin) -> DeliveryOut:
    """Send a failed or retrying delivery again now."""
    delivery = await _db(lambda session: retry_delivery(session, delivery_id=delivery_id))
    from tasks.events import kick_delivery

    await kick_delivery(delivery)
    return delivery_out(delivery)
