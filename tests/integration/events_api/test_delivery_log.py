"""Retries, the retry endpoint and the delivery log (`/api/deliveries`): each attempt, filters and detail."""

import httpx
import pytest

from tests.http_recorder import HttpRecorder
from tests.integration.events_api.api_calls import (
    assert_error,
    deliveries,
    email_rule,
    fire,
    make_rule,
    requests_to,
    unique,
    wait_status,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


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


@pytest.mark.expected_traceback(
    r"tasks\.posts\.DeliveriesFailed: .*HTTP 410", why="410 Gone fails the delivery for good: its job fails on purpose"
)
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
