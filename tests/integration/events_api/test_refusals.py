"""What `POST /api/events` and the admin API refuse, and how they say so: 422, 413, 429, never a 5xx."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from postboard.tokens.models import Scope
from tests.integration.events_api.api_calls import assert_error, bearer, fire, reload_settings, unique
from tests.integration.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


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
    token = bearer(stack, Scope.EVENTS_WRITE)
    monkeypatch.setenv("API_RATE_LIMIT", "3")
    reload_settings()
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
        assert (await fire(api, bearer(stack, Scope.EVENTS_WRITE), name, {"other": True})).status_code == 202
        await asyncio.sleep(wait + 0.1)
        assert (await fire(api, token, name, {"after": True})).status_code == 202
    finally:
        monkeypatch.setenv("API_RATE_LIMIT", stack.env["API_RATE_LIMIT"])
        reload_settings()


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
