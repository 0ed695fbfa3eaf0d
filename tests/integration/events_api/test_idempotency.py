"""The same `Idempotency-Key` (per token) or client event id is one event, sent once, also when requests race."""

import asyncio

import httpx
import pytest

from postboard.tokens.models import Scope
from tests.integration.events_api.api_calls import (
    QUIET,
    SEND_WITHIN,
    bearer,
    deliveries,
    email_rule,
    fire,
    mails_to,
    unique,
    wait_status,
)
from tests.integration.pipeline import Pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


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
    assert await eventually(lambda: mails_to(stack, address) >= 1, within=SEND_WITHIN)
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
    assert await eventually(lambda: mails_to(stack, address) >= 1, within=SEND_WITHIN)
    await asyncio.sleep(QUIET)
    assert mails_to(stack, address) == 1
    assert len(await deliveries(api, admin, event=answers[0].json()["id"])) == 1


async def test_blank_idempotency_key_does_not_swallow_events(api: httpx.AsyncClient, stack: Pipeline) -> None:
    name, token = unique("blank"), bearer(stack, Scope.ADMIN)
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
    first = await fire(api, bearer(stack, Scope.EVENTS_WRITE), shop_a, {"n": 1}, id=event_id)
    assert first.status_code == 202, first.text
    second = await fire(api, bearer(stack, Scope.EVENTS_WRITE), shop_b, {"n": 2}, id=event_id)
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
