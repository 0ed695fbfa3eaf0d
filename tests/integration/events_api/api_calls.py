"""What the HTTP API tests do with the API and the stack: set up rules, fire events, wait, count."""

import uuid
from typing import Any

import httpx

from postboard.tokens.service import create_token
from tests.http_recorder import HttpRecorder, RecordedRequest
from tests.integration.pipeline import Pipeline
from tests.support import eventually

# How long a delivery may take through a worker.
SEND_WITHIN = 30.0
# How long to watch for a duplicate after the first copy arrived.
QUIET = 1.5
SMS_TOKEN = "sms-gateway-token"
MISSING_ID = 987_654


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def reload_settings() -> None:
    """Make this process read its settings (and open its engine) again, after the environment changed."""
    from postboard.db import get_engine
    from postboard.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


def bearer(stack: Pipeline, *scopes: str) -> dict[str, str]:
    """Headers of a new token with these scopes."""
    with stack.session() as session:
        issued = create_token(session, name=f"tests {' '.join(scopes)}", scopes=scopes)
    return {"Authorization": f"Bearer {issued.secret}"}


def mails_to(stack: Pipeline, address: str) -> int:
    """How many messages the SMTP sink stored for one envelope recipient."""
    count = 0
    for sub in ("new", "cur"):
        for path in (stack.mailbox / sub).iterdir():
            with path.open("rb") as handle:
                if handle.readline().decode().strip() == f"X-Envelope-To: {address}":
                    count += 1
    return count


def requests_to(recorder: HttpRecorder, path: str) -> list[RecordedRequest]:
    """The requests the recorder received on one path."""
    return [r for r in recorder.requests if r.path == path]


async def make_rule(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    channel: str,
    body: str,
    recipient_kind: str,
    recipient_value: str = "",
    subject: str | None = None,
    conditions: dict[str, Any] | None = None,
    secret: str = "",
    source: str | None = None,
) -> tuple[str, int]:
    """Create (or reuse) an event source, a template and a rule through the API; return the source name and rule id."""
    name = source or unique("order")
    if source is None:
        made = await api.post("/api/event-sources", json={"name": name, "description": "test"}, headers=admin)
        assert made.status_code == 201, made.text
    sources = (await api.get("/api/event-sources", headers=admin)).json()
    source_id = next(s["id"] for s in sources if s["name"] == name)
    template = {"name": unique(f"{channel} template"), "channel": channel, "subject": subject, "body": body}
    made = await api.post("/api/templates", json=template, headers=admin)
    assert made.status_code == 201, made.text
    rule = {
        "name": unique(f"{channel} rule"),
        "source_id": source_id,
        "template_id": made.json()["id"],
        "recipient_kind": recipient_kind,
        "recipient_value": recipient_value,
        "secret": secret,
        "conditions": conditions or {},
    }
    made = await api.post("/api/rules", json=rule, headers=admin)
    assert made.status_code == 201, made.text
    return name, made.json()["id"]


async def email_rule(api: httpx.AsyncClient, admin: dict[str, str], **extra: Any) -> str:
    """A source whose rule emails the payload's `email` field; return the source name."""
    name, _ = await make_rule(
        api,
        admin,
        channel="email",
        subject="Order {{ order }} confirmed",
        body="Hello {{ name }}, your total is {{ total }}.",
        recipient_kind="field",
        recipient_value="email",
        **extra,
    )
    return name


async def fire(
    api: httpx.AsyncClient, headers: dict[str, str], event: str, payload: dict[str, Any], **body: Any
) -> httpx.Response:
    """POST one event."""
    return await api.post("/api/events", json={"event": event, "payload": payload, **body}, headers=headers)


async def deliveries(api: httpx.AsyncClient, admin: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    """The delivery log, filtered."""
    answer = await api.get("/api/deliveries", params=filters, headers=admin)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


async def wait_status(
    api: httpx.AsyncClient, admin: dict[str, str], event_id: str, status: str, *, count: int = 1
) -> list[dict[str, Any]]:
    """Wait until `count` deliveries of the event stand at `status`; return the event's deliveries."""
    seen: list[dict[str, Any]] = []

    async def reached() -> bool:
        nonlocal seen
        seen = await deliveries(api, admin, event=event_id)
        return sum(d["status"] == status for d in seen) >= count

    assert await eventually(reached, within=SEND_WITHIN, interval=0.2), (
        f"expected {count} {status!r} deliveries, have {seen}"
    )
    return seen


def assert_error(answer: httpx.Response, status: int, *words: str) -> None:
    """The answer has this status and a JSON `detail` a person can read, mentioning `words`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    detail = answer.json()["detail"]
    assert isinstance(detail, str), detail
    assert len(detail) > 10, detail
    for word in words:
        assert word in detail, detail
