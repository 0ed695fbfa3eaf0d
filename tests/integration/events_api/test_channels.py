"""Rules send through real workers: conditions, Slack, SMS over the HTTP gateway and signed webhooks."""

import asyncio
import uuid

import httpx
import pytest

from postboard.channels.webhooks import verify
from tests.http_recorder import HttpRecorder
from tests.integration.events_api.api_calls import (
    QUIET,
    SEND_WITHIN,
    SMS_TOKEN,
    deliveries,
    email_rule,
    fire,
    mails_to,
    make_rule,
    requests_to,
    unique,
    wait_status,
)
from tests.integration.pipeline import Pipeline
from tests.support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


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
    assert await eventually(lambda: mails_to(stack, big) == 1, within=SEND_WITHIN)
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
