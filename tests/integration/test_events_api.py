"""`POST /api/events` and the CRUD/deliveries API on the real app, Redis, workers, SMTP sink and an HTTP recorder."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from postboard import names
from postboard.channels.webhooks import verify
from postboard.tokens.models import Scope
from postboard.tokens.service import create_token
from tests.http_recorder import HttpRecorder
from tests.integration.api_calls import (
    assert_error,
    deliveries,
    email_rule,
    eventually,
    exceptions_logged,
    fire,
    mails_to,
    make_rule,
    requests_to,
    unique,
    wait_status,
)
from tests.integration.conftest import Pipeline, running_pipeline

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="session"),
]

SMS_TOKEN = "sms-gateway-token"
MISSING_ID = 987_654
# How long to watch for a duplicate after the first copy arrived.
QUIET = 1.5


@pytest.fixture(scope="module")
def recorder() -> Iterator[HttpRecorder]:
    """The Slack, SMS gateway and webhook receiver: one recording HTTP server."""
    with HttpRecorder() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str, recorder: HttpRecorder) -> Iterator[Pipeline]:
    """Workers on every channel queue and the scheduler; this process's API reads the same settings."""
    env = {
        "RETRY_DELAYS": "1,1",
        "SMS_PROVIDER": "http",
        "SMS_HTTP_URL": recorder.url("/sms"),
        "SMS_HTTP_TOKEN": SMS_TOKEN,
        "HTTP_TIMEOUT": "3",
        # Far above what the tests send at once; the rate-limit test lowers it for itself.
        "API_RATE_LIMIT": "1000",
    }
    with running_pipeline(
        tmp_path_factory.mktemp("events-api"), redis_url, env=env, scheduler=True, queues=names.QUEUES
    ) as line:
        with pytest.MonkeyPatch.context() as patch:
            for key in ("DATABASE_URL", "REDIS_URL", *env):
                patch.setenv(key, line.env[key])
            _clear_caches()
            yield line
        _clear_caches()


def _clear_caches() -> None:
    from postboard.db import get_engine
    from postboard.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(stack: Pipeline) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired to the real FastAPI app in this process."""
    from postboard.web.api import create_api

    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://postboard.test", timeout=30) as client:
        yield client


def _bearer(stack: Pipeline, *scopes: str) -> dict[str, str]:
    with stack.session() as session:
        issued = create_token(session, name=f"tests {' '.join(scopes)}", scopes=scopes)
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture(scope="module")
def writer(stack: Pipeline) -> dict[str, str]:
    """Headers of a token that may only post events."""
    return _bearer(stack, Scope.EVENTS_WRITE)


@pytest.fixture(scope="module")
def admin(stack: Pipeline) -> dict[str, str]:
    """Headers of an admin token."""
    return _bearer(stack, Scope.ADMIN)


# Errors


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token pb_abc", "Bearer pb_not-a-real-token"],
)
async def test_missing_or_unknown_token_is_401(api: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await api.post("/api/events", json={"event": "anything", "payload": {}}, headers=headers)
    assert_error(answer, 401, "token")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert_error(await api.get("/api/rules", headers=headers), 401, "token")


async def test_revoked_token_is_401(api: httpx.AsyncClient, stack: Pipeline) -> None:
    from postboard.tokens.service import revoke_token

    with stack.session() as session:
        issued = create_token(session, name="soon revoked")
        revoke_token(session, token_id=issued.token.id or 0)
    answer = await fire(api, {"Authorization": f"Bearer {issued.secret}"}, "anything", {})
    assert_error(answer, 401, "revoked")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/event-sources"), ("GET", "/api/templates"), ("GET", "/api/rules"), ("GET", "/api/deliveries")],
)
async def test_events_write_token_cannot_use_admin_endpoints(
    api: httpx.AsyncClient, writer: dict[str, str], method: str, path: str
) -> None:
    assert_error(await api.request(method, path, headers=writer), 403, "admin")


async def test_events_write_token_cannot_create_or_retry(api: httpx.AsyncClient, writer: dict[str, str]) -> None:
    answer = await api.post("/api/event-sources", json={"name": "sneaky"}, headers=writer)
    assert_error(answer, 403, "admin")
    assert_error(await api.post(f"/api/deliveries/{MISSING_ID}/retry", headers=writer), 403, "admin")


async def test_admin_token_may_post_events(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("ping")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    answer = await fire(api, admin, name, {"n": 1})
    assert answer.status_code == 202, answer.text
    assert answer.json()["deliveries_planned"] == 0


async def test_unknown_event_is_422_and_names_it(api: httpx.AsyncClient, writer: dict[str, str]) -> None:
    answer = await fire(api, writer, "no_such_event", {"a": 1})
    assert_error(answer, 422, "'no_such_event'", "event source")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"event": "x", "payload": ', ("not valid JSON",)),
        (b"\xff\xfe not utf-8", ("not valid JSON",)),
        (b"", ("not valid JSON",)),
    ],
)
async def test_malformed_json_is_422(
    api: httpx.AsyncClient, writer: dict[str, str], body: bytes, words: tuple[str, ...]
) -> None:
    answer = await api.post("/api/events", content=body, headers={**writer, "Content-Type": "application/json"})
    assert_error(answer, 422, *words)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([1, 2], "body"),
        ({"payload": {}}, "event"),
        ({"event": 5}, "event"),
        ({"event": ""}, "event"),
        ({"event": "x" * 65}, "event"),
        ({"event": "x", "payload": [1]}, "payload"),
        ({"event": "x", "payload": "text"}, "payload"),
        ({"event": "x", "id": ""}, "id"),
    ],
)
async def test_wrong_shape_is_422_and_says_where(
    api: httpx.AsyncClient, writer: dict[str, str], body: Any, where: str
) -> None:
    answer = await api.post("/api/events", json=body, headers=writer)
    assert_error(answer, 422)
    assert answer.json()["detail"].startswith(where), answer.json()


async def test_payload_schema_violation_is_422_with_the_reason(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("typed")
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    made = await api.post("/api/event-sources", json={"name": name, "payload_schema": schema}, headers=admin)
    assert made.status_code == 201, made.text
    assert_error(await fire(api, admin, name, {"total": "lots"}), 422, "payload refused", "total")
    assert (await fire(api, admin, name, {"total": 3})).status_code == 202


async def _chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_body_over_64_kib_is_413(api: httpx.AsyncClient, writer: dict[str, str]) -> None:
    big = ('{"event": "x", "payload": {"blob": "' + "a" * (64 * 1024) + '"}}').encode()
    answer = await api.post("/api/events", content=big, headers={**writer, "Content-Type": "application/json"})
    assert_error(answer, 413, "64 KiB")
    # Without a Content-Length (chunked), the limit holds while the body streams in.
    json_type = {**writer, "Content-Type": "application/json"}
    streamed = await api.post("/api/events", content=_chunks(big), headers=json_type)
    assert_error(streamed, 413, "64 KiB")


async def test_body_just_under_64_kib_is_accepted(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("bulky")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    head = f'{{"event": "{name}", "payload": {{"blob": "'.encode()
    body = head + b"a" * (64 * 1024 - len(head) - 3) + b'"}}'
    assert len(body) == 64 * 1024
    answer = await api.post("/api/events", content=body, headers={**admin, "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


async def test_rate_limit_is_429_with_retry_after(
    api: httpx.AsyncClient, stack: Pipeline, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("burst")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    token = _bearer(stack, Scope.EVENTS_WRITE)
    monkeypatch.setenv("API_RATE_LIMIT", "3")
    _clear_caches()
    try:
        answers = await asyncio.gather(*(fire(api, token, name, {"i": i}) for i in range(12)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(202) >= 3, statuses
        assert 429 in statuses, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert_error(refused, 429, "slow down")
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 60
        # Another token has its own budget.
        assert (await fire(api, _bearer(stack, Scope.EVENTS_WRITE), name, {"other": True})).status_code == 202
        await asyncio.sleep(wait + 0.1)
        assert (await fire(api, token, name, {"after": True})).status_code == 202
    finally:
        monkeypatch.setenv("API_RATE_LIMIT", stack.env["API_RATE_LIMIT"])
        _clear_caches()


async def test_deeply_nested_json_is_422_not_a_crash(api: httpx.AsyncClient, writer: dict[str, str]) -> None:
    body = b'{"event": "x", "payload": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2001
    answer = await api.post("/api/events", content=body, headers={**writer, "Content-Type": "application/json"})
    assert_error(answer, 422)


async def test_non_finite_numbers_are_refused(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("nan")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    body = f'{{"event": "{name}", "payload": {{"total": NaN, "limit": Infinity}}}}'.encode()
    answer = await api.post("/api/events", content=body, headers={**admin, "Content-Type": "application/json"})
    assert_error(answer, 422)


async def test_infinite_condition_value_is_422(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("inf")
    made = await api.post("/api/event-sources", json={"name": name}, headers=admin)
    template = {"name": unique("inf template"), "channel": "webhook", "body": "-"}
    template_id = (await api.post("/api/templates", json=template, headers=admin)).json()["id"]
    body = (
        f'{{"name": "r", "source_id": {made.json()["id"]}, "template_id": {template_id}, "recipient_kind": "url", '
        '"recipient_value": "http://127.0.0.1:9/x", "conditions": {"items": [{"field": "total", "op": "gt", '
        '"value": Infinity}]}}'
    ).encode()
    answer = await api.post("/api/rules", content=body, headers={**admin, "Content-Type": "application/json"})
    assert_error(answer, 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"/api/rules/{2**63}"), ("GET", f"/api/rules?source_id={2**63}"), ("DELETE", f"/api/templates/{2**64}")],
)
async def test_ids_beyond_64_bits_are_not_a_server_error(
    api: httpx.AsyncClient, admin: dict[str, str], method: str, path: str
) -> None:
    answer = await api.request(method, path, headers=admin)
    assert answer.status_code < 500


async def test_user_recipient_beyond_64_bits_is_422(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("huge")
    source_id = (await api.post("/api/event-sources", json={"name": name}, headers=admin)).json()["id"]
    template = {"name": unique("huge template"), "channel": "in_app", "subject": "s", "body": "b"}
    template_id = (await api.post("/api/templates", json=template, headers=admin)).json()["id"]
    rule = {"name": "r", "source_id": source_id, "template_id": template_id, "recipient_kind": "user"}
    answer = await api.post("/api/rules", json={**rule, "recipient_value": str(2**64)}, headers=admin)
    assert_error(answer, 422, "user")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/event-sources/{id}", None),
        ("PUT", "/api/event-sources/{id}", {"name": "renamed"}),
        ("DELETE", "/api/event-sources/{id}", None),
        ("GET", "/api/templates/{id}", None),
        ("PUT", "/api/templates/{id}", {"name": "t", "channel": "webhook", "body": "b"}),
        ("DELETE", "/api/templates/{id}", None),
        ("GET", "/api/rules/{id}", None),
        ("DELETE", "/api/rules/{id}", None),
        ("GET", "/api/deliveries/{id}", None),
        ("POST", "/api/deliveries/{id}/retry", None),
    ],
)
async def test_unknown_ids_are_404(
    api: httpx.AsyncClient, admin: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    answer = await api.request(method, path.format(id=MISSING_ID), json=body, headers=admin)
    assert_error(answer, 404, str(MISSING_ID))


async def test_template_syntax_error_is_refused_with_its_line(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("broken")
    template = {"name": name, "channel": "email", "subject": "Hi", "body": "Hello\nthere\n{{ name }"}
    answer = await api.post("/api/templates", json=template, headers=admin)
    assert_error(answer, 422, "line 3")
    assert "line 3" in answer.json()["errors"]["body"]
    hostile = {**template, "body": "{{ ''.__class__.__mro__ }}"}
    assert_error(await api.post("/api/templates", json=hostile, headers=admin), 422, "not allowed")
    listed = (await api.get("/api/templates", headers=admin)).json()
    assert name not in {t["name"] for t in listed}


async def test_crud_round_trip(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("crud")
    made = await api.post("/api/event-sources", json={"name": name, "description": "first"}, headers=admin)
    assert made.status_code == 201, made.text
    source_id = made.json()["id"]
    assert_error(await api.post("/api/event-sources", json={"name": name}, headers=admin), 422, "already exists")
    second = {"name": name, "description": "second"}
    changed = await api.put(f"/api/event-sources/{source_id}", json=second, headers=admin)
    assert changed.json()["description"] == "second"
    assert (await api.get(f"/api/event-sources/{source_id}", headers=admin)).json()["description"] == "second"
    rule_id = await _webhook_rule(api, admin, name)
    rule = (await api.get(f"/api/rules/{rule_id}", headers=admin)).json()
    switched = await api.put(f"/api/rules/{rule_id}", json={**rule, "active": False}, headers=admin)
    assert switched.json()["active"] is False
    assert [r["id"] for r in (await api.get("/api/rules", params={"source_id": source_id}, headers=admin)).json()] == [
        rule_id
    ]
    template_id = rule["template_id"]
    assert_error(await api.delete(f"/api/templates/{template_id}", headers=admin), 422, "rule")
    assert (await api.delete(f"/api/rules/{rule_id}", headers=admin)).status_code == 204
    assert (await api.delete(f"/api/templates/{template_id}", headers=admin)).status_code == 204
    assert (await api.delete(f"/api/event-sources/{source_id}", headers=admin)).status_code == 204
    for path in (f"/api/rules/{rule_id}", f"/api/templates/{template_id}", f"/api/event-sources/{source_id}"):
        assert (await api.get(path, headers=admin)).status_code == 404


async def _webhook_rule(api: httpx.AsyncClient, admin: dict[str, str], source: str) -> int:
    _, rule_id = await make_rule(
        api,
        admin,
        channel="webhook",
        body="-",
        recipient_kind="url",
        recipient_value="http://127.0.0.1:9/x",
        source=source,
    )
    return rule_id


async def test_deleting_a_source_deletes_its_rules(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("doomed")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    rule_id = await _webhook_rule(api, admin, name)
    source_id = (await api.get(f"/api/rules/{rule_id}", headers=admin)).json()["source_id"]
    assert (await api.delete(f"/api/event-sources/{source_id}", headers=admin)).status_code == 204
    assert (await api.get(f"/api/rules/{rule_id}", headers=admin)).status_code == 404


# Idempotency


async def test_same_idempotency_key_sends_once(
    api: httpx.AsyncClient, stack: Pipeline, writer: dict[str, str], admin: dict[str, str]
) -> None:
    name, address = await email_rule(api, admin), f"{unique('idem')}@example.com"
    payload = {"email": address, "order": 7, "name": "Ada", "total": 150}
    headers = {**writer, "Idempotency-Key": unique("key")}
    first = await fire(api, headers, name, payload)
    second = await fire(api, headers, name, {**payload, "total": 999})
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    assert first.json()["deliveries_planned"] == second.json()["deliveries_planned"] == 1
    assert second.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["replayed"] is True
    assert await eventually(lambda: mails_to(stack, address) >= 1)
    await asyncio.sleep(QUIET)
    assert mails_to(stack, address) == 1
    [delivery] = await wait_status(api, admin, first.json()["id"], "sent")
    assert delivery["body"] == "Hello Ada, your total is 150."


async def test_concurrent_requests_with_one_key_record_one_event(
    api: httpx.AsyncClient, stack: Pipeline, writer: dict[str, str], admin: dict[str, str]
) -> None:
    name, address = await email_rule(api, admin), f"{unique('race')}@example.com"
    headers = {**writer, "Idempotency-Key": unique("key")}
    payload = {"email": address, "order": 8, "name": "Bo", "total": 1}
    answers = await asyncio.gather(*(fire(api, headers, name, payload) for _ in range(6)))
    assert [a.status_code for a in answers] == [202] * 6, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(not a.json()["replayed"] for a in answers) == 1
    assert await eventually(lambda: mails_to(stack, address) >= 1)
    await asyncio.sleep(QUIET)
    assert mails_to(stack, address) == 1
    assert len(await deliveries(api, admin, event=answers[0].json()["id"])) == 1


async def test_blank_idempotency_key_does_not_swallow_events(api: httpx.AsyncClient, stack: Pipeline) -> None:
    name, token = unique("blank"), _bearer(stack, Scope.ADMIN)
    assert (await api.post("/api/event-sources", json={"name": name}, headers=token)).status_code == 201
    first = await fire(api, {**token, "Idempotency-Key": ""}, name, {"n": 1})
    second = await fire(api, {**token, "Idempotency-Key": ""}, name, {"n": 2})
    # Either refused as malformed, or treated as no key at all: never a replay of an unrelated event.
    assert second.status_code == 422 or second.json()["id"] != first.json()["id"], second.json()


async def test_key_is_scoped_to_the_token(
    api: httpx.AsyncClient, writer: dict[str, str], admin: dict[str, str]
) -> None:
    name = unique("scoped")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    key = {"Idempotency-Key": unique("key")}
    first = await fire(api, {**writer, **key}, name, {})
    other = await fire(api, {**admin, **key}, name, {})
    assert first.json()["id"] != other.json()["id"]
    assert other.json()["replayed"] is False


async def test_client_id_taken_by_another_token_is_not_a_silent_replay(
    api: httpx.AsyncClient, stack: Pipeline, admin: dict[str, str]
) -> None:
    shop_a, shop_b, event_id = unique("shop_a"), unique("shop_b"), unique("order")
    for name in (shop_a, shop_b):
        assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    first = await fire(api, _bearer(stack, Scope.EVENTS_WRITE), shop_a, {"n": 1}, id=event_id)
    assert first.status_code == 202, first.text
    second = await fire(api, _bearer(stack, Scope.EVENTS_WRITE), shop_b, {"n": 2}, id=event_id)
    # Refused as a conflict, or recorded: never a 202 for an event that was not recorded.
    assert second.status_code in (409, 422) or not second.json()["replayed"], second.json()


async def test_key_reused_for_another_event_says_what_was_recorded(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first_name, second_name, key = unique("first"), unique("second"), {"Idempotency-Key": unique("key")}
    for name in (first_name, second_name):
        assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    assert (await fire(api, {**admin, **key}, first_name, {"n": 1})).status_code == 202
    second = await fire(api, {**admin, **key}, second_name, {"n": 2})
    assert second.status_code in (409, 422) or second.json()["event"] == first_name, second.json()


async def test_client_event_id_sent_twice_is_one_event(
    api: httpx.AsyncClient, stack: Pipeline, writer: dict[str, str], admin: dict[str, str]
) -> None:
    name, address = await email_rule(api, admin), f"{unique('own-id')}@example.com"
    event_id = unique("evt")
    payload = {"email": address, "order": 9, "name": "Cy", "total": 20}
    first = await fire(api, writer, name, payload, id=event_id)
    second = await fire(api, writer, name, payload, id=event_id)
    assert first.json()["id"] == second.json()["id"] == event_id
    assert (first.json()["replayed"], second.json()["replayed"]) == (False, True)
    assert second.headers["idempotent-replayed"] == "true"
    await wait_status(api, admin, event_id, "sent")
    await asyncio.sleep(QUIET)
    assert mails_to(stack, address) == 1
    assert len(await deliveries(api, admin, event=event_id)) == 1


# Rules and channels


async def test_condition_total_over_100_sends_for_150_not_for_50(
    api: httpx.AsyncClient, stack: Pipeline, writer: dict[str, str], admin: dict[str, str]
) -> None:
    over = {"mode": "all", "items": [{"field": "total", "op": "gt", "value": 100}]}
    name = await email_rule(api, admin, conditions=over)
    big, small = f"{unique('big')}@example.com", f"{unique('small')}@example.com"
    simulated = await api.post("/api/events/simulate", json={"event": name, "payload": {"total": 50}}, headers=writer)
    [rule] = simulated.json()["rules"]
    assert (rule["matched"], rule["reason"], simulated.json()["deliveries"]) == (False, "conditions not met", 0)
    sent = await fire(api, writer, name, {"email": big, "order": 1, "name": "Big", "total": 150})
    skipped = await fire(api, writer, name, {"email": small, "order": 2, "name": "Small", "total": 50})
    assert (sent.json()["deliveries_planned"], skipped.json()["deliveries_planned"]) == (1, 0)
    assert await eventually(lambda: mails_to(stack, big) == 1)
    await asyncio.sleep(QUIET)
    assert mails_to(stack, small) == 0
    assert await deliveries(api, admin, event=skipped.json()["id"]) == []


async def test_slack_message_reaches_the_incoming_webhook(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    path = f"/services/{unique('T')}/B1"
    name, _ = await make_rule(
        api,
        admin,
        channel="slack",
        subject="Order {{ order }} paid",
        body="Total: {{ total }} EUR",
        recipient_kind="url",
        recipient_value=recorder.url(path),
    )
    answer = await fire(api, writer, name, {"order": 42, "total": 150})
    await wait_status(api, admin, answer.json()["id"], "sent")
    [request] = requests_to(recorder, path)
    assert request.json() == {"text": "*Order 42 paid*\nTotal: 150 EUR"}


async def test_sms_goes_to_the_http_gateway(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    name, _ = await make_rule(
        api, admin, channel="sms", body="Order {{ order }} shipped", recipient_kind="field", recipient_value="phone"
    )
    before = len(requests_to(recorder, "/sms"))
    answer = await fire(api, writer, name, {"order": 77, "phone": "+1 415-555-0100"})
    [delivery] = await wait_status(api, admin, answer.json()["id"], "sent")
    [request] = requests_to(recorder, "/sms")[before:]
    assert request.headers["authorization"] == f"Bearer {SMS_TOKEN}"
    assert request.json() == {"to": "+14155550100", "from": "Postboard", "body": "Order 77 shipped"}
    assert delivery["recipient"] == "+1 415-555-0100"


async def test_webhook_is_signed_with_the_rule_secret(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    path, secret = f"/hooks/{unique('orders')}", "whsec_" + uuid.uuid4().hex
    name, _ = await make_rule(
        api,
        admin,
        channel="webhook",
        body="unused",
        recipient_kind="url",
        recipient_value=recorder.url(path),
        secret=secret,
    )
    payload = {"order": 5, "total": 12.5, "lines": [{"sku": "A", "qty": 2}], "note": "café"}
    answer = await fire(api, writer, name, payload)
    [delivery] = await wait_status(api, admin, answer.json()["id"], "sent")
    [request] = requests_to(recorder, path)
    timestamp, signature = request.headers["x-postboard-timestamp"], request.headers["x-postboard-signature"]
    assert verify(secret, request.body, timestamp, signature)
    assert not verify("wrong", request.body, timestamp, signature)
    document = request.json()
    assert document["payload"] == payload
    assert document["event"] == name == request.headers["x-postboard-event"]
    assert document["id"] == f"{answer.json()['id']}.{delivery['id']}"
    assert "secret" not in (await api.get("/api/rules", headers=admin)).text


async def test_failing_webhook_retries_then_sends(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    path = f"/hooks/{unique('flaky')}"
    recorder.respond(path, 500, "down for maintenance")
    name, _ = await make_rule(
        api, admin, channel="webhook", body="-", recipient_kind="url", recipient_value=recorder.url(path), secret="s"
    )
    answer = await fire(api, writer, name, {"n": 1})
    event_id = answer.json()["id"]
    [delivery] = await wait_status(api, admin, event_id, "retrying")
    assert "500" in delivery["error"]
    recorder.respond(path, 200, "ok")
    await wait_status(api, admin, event_id, "sent")
    detail = (await api.get(f"/api/deliveries/{delivery['id']}", headers=admin)).json()
    outcomes = [a["outcome"] for a in detail["attempt_log"]]
    assert (outcomes[0], outcomes[-1]) == ("retrying", "sent"), outcomes
    assert detail["attempt_log"][0]["detail"].startswith("HTTP 500")
    assert detail["event"] == name
    assert len(requests_to(recorder, path)) == len(outcomes)


async def test_retry_endpoint_resends_a_failed_delivery(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    path = f"/hooks/{unique('gone')}"
    recorder.respond(path, 410, "gone")
    name, _ = await make_rule(
        api, admin, channel="webhook", body="-", recipient_kind="url", recipient_value=recorder.url(path)
    )
    event_id = (await fire(api, writer, name, {"n": 2})).json()["id"]
    [delivery] = await wait_status(api, admin, event_id, "failed")
    assert delivery["error"].startswith("HTTP 410")
    recorder.respond(path, 200, "ok")
    retried = await api.post(f"/api/deliveries/{delivery['id']}/retry", headers=admin)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending"
    await wait_status(api, admin, event_id, "sent")
    detail = (await api.get(f"/api/deliveries/{delivery['id']}", headers=admin)).json()
    assert [a["outcome"] for a in detail["attempt_log"]] == ["failed", "sent"]
    assert_error(await api.post(f"/api/deliveries/{delivery['id']}/retry", headers=admin), 422, "sent")
    assert len(requests_to(recorder, path)) == 2


async def test_delivery_log_filters_and_detail(
    api: httpx.AsyncClient, recorder: HttpRecorder, writer: dict[str, str], admin: dict[str, str]
) -> None:
    path = f"/hooks/{unique('log')}"
    name = await email_rule(api, admin)
    await make_rule(
        api, admin, channel="webhook", body="-", recipient_kind="url", recipient_value=recorder.url(path), source=name
    )
    first, second = f"{unique('a')}@example.com", f"{unique('b')}@example.com"
    payload = {"email": [first, second], "order": 3, "name": "Di", "total": 10}
    answer = await fire(api, writer, name, payload)
    event_id = answer.json()["id"]
    assert answer.json()["deliveries_planned"] == 3
    await wait_status(api, admin, event_id, "sent", count=3)

    page = await api.get("/api/deliveries", params={"event": name, "channel": "email"}, headers=admin)
    assert page.headers["x-total-count"] == "2"
    assert {d["recipient"] for d in page.json()} == {first, second}
    assert [d["channel"] for d in await deliveries(api, admin, event=event_id, channel="webhook")] == ["webhook"]
    assert await deliveries(api, admin, event=event_id, status="failed") == []
    limited = await api.get("/api/deliveries", params={"event": event_id, "limit": "1"}, headers=admin)
    assert (len(limited.json()), limited.headers["x-total-count"]) == (1, "3")
    assert_error(await api.get("/api/deliveries", params={"status": "lost"}, headers=admin), 422, "status")
    assert_error(await api.get("/api/deliveries", params={"limit": "0"}, headers=admin), 422, "limit")

    email = next(d for d in page.json() if d["recipient"] == first)
    detail = (await api.get(f"/api/deliveries/{email['id']}", headers=admin)).json()
    assert detail["event"] == name
    assert detail["subject"] == "Order 3 confirmed"
    assert [(a["number"], a["outcome"]) for a in detail["attempt_log"]] == [(1, "sent")]


async def test_workers_raised_nothing_unexpected(stack: Pipeline) -> None:
    raised = await asyncio.to_thread(exceptions_logged, stack.logs)
    # A delivery that failed for good marks its job failed on purpose; nothing else may raise.
    assert [line for line in raised if not line.startswith("tasks.posts.DeliveriesFailed:")] == [], raised
