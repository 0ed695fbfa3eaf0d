"""Slack, SMS and webhook senders against a real local HTTP server that records what they send."""

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from postboard.channels.base import ChannelFailure, OutboundMessage
from postboard.channels.slack import SlackSender
from postboard.channels.sms import HttpSmsProvider, SmsSender
from postboard.channels.webhooks import WebhookSender, verify
from postboard.dev.services import free_port
from tests.http_recorder import HttpRecorder


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    """A recording HTTP server on a free port, stopped after the test."""
    with HttpRecorder() as recorder:
        yield recorder


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with a short timeout."""
    async with httpx.AsyncClient(timeout=2.0) as http:
        yield http


def _message(recipient: str, **changes: Any) -> OutboundMessage:
    message = OutboundMessage(
        recipient=recipient,
        subject="Order 42 paid",
        body="Total: 150 EUR",
        event="order_created",
        event_id="ev-1",
        payload={"order": 42, "total": 150},
    )
    return replace(message, **changes)


async def _failure(sender: SlackSender | SmsSender | WebhookSender, message: OutboundMessage) -> ChannelFailure:
    with pytest.raises(ChannelFailure) as caught:
        await sender.send(message)
    return caught.value


# Slack


async def test_slack_posts_subject_and_body_to_the_rule_url(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    sender = SlackSender(client, server.url("/default"))
    receipt = await sender.send(_message(server.url("/services/T1/B1/rule")))
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/services/T1/B1/rule")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"text": "*Order 42 paid*\nTotal: 150 EUR"}
    assert receipt == "HTTP 200 ok"


async def test_slack_falls_back_to_the_default_url(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    await SlackSender(client, server.url("/default")).send(_message("", subject=None))
    [request] = server.requests
    assert request.path == "/default"
    assert request.json() == {"text": "Total: 150 EUR"}


async def test_slack_without_any_url_fails_for_good(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    failure = await _failure(SlackSender(client, None), _message(""))
    assert failure.permanent
    assert "SLACK_WEBHOOK_URL" in failure.error
    assert server.requests == []


async def test_slack_refusal_is_permanent_and_says_why(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    server.respond("/gone", 404, "no_service")
    failure = await _failure(SlackSender(client), _message(server.url("/gone")))
    assert failure.permanent
    assert failure.error == "HTTP 404 Not Found: no_service"


# SMS over HTTP


async def test_sms_gateway_gets_json_with_bearer_token(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    server.respond("/sms", 201, '{"id": "msg_123", "status": "queued"}', headers={"Content-Type": "application/json"})
    provider = HttpSmsProvider(client, url=server.url("/sms"), sender="Shop", token="t0k")
    receipt = await SmsSender(provider).send(_message("+49 151-2345 6789"))
    [request] = server.requests
    assert request.headers["authorization"] == "Bearer t0k"
    assert request.json() == {"to": "+4915123456789", "from": "Shop", "body": "Total: 150 EUR"}
    assert receipt == "msg_123, 1 segment"


async def test_sms_gateway_gets_basic_auth_and_segments_are_counted(
    server: HttpRecorder, client: httpx.AsyncClient
) -> None:
    server.respond("/sms", 202, "accepted")
    provider = HttpSmsProvider(client, url=server.url("/sms"), sender="Shop", username="acme", password="s3cret")
    receipt = await SmsSender(provider).send(_message("+14155550100", body="x" * 200))
    [request] = server.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"acme:s3cret").decode()
    assert receipt == "HTTP 202, 2 segments"


async def test_sms_to_a_non_number_is_never_sent(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    provider = HttpSmsProvider(client, url=server.url("/sms"), sender="Shop", token="t")
    failure = await _failure(SmsSender(provider), _message("call me maybe"))
    assert failure.permanent
    assert failure.error == "not a phone number: 'call me maybe'"
    assert server.requests == []


async def test_sms_gateway_outage_is_transient(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    server.respond("/sms", 503, "maintenance", headers={"Retry-After": "120"})
    provider = HttpSmsProvider(client, url=server.url("/sms"), sender="Shop", token="t")
    failure = await _failure(SmsSender(provider), _message("+14155550100"))
    assert not failure.permanent
    assert failure.retry_after == 120.0


# Webhooks


async def test_webhook_body_headers_and_signature(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    sender = WebhookSender(client, default_secret="whsec_test")
    receipt = await sender.send(_message(server.url("/hooks/orders"), delivery_id="dl-7"))
    [request] = server.requests
    document = request.json()
    assert receipt == "HTTP 200"
    assert document["id"] == "dl-7"
    assert document["event"] == "order_created"
    assert document["payload"] == {"order": 42, "total": 150}
    assert document["sent_at"].endswith("+00:00")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Postboard-Webhooks/1"
    assert request.headers["x-postboard-event"] == "order_created"
    assert request.headers["x-postboard-delivery"] == "dl-7"
    timestamp, signature = request.headers["x-postboard-timestamp"], request.headers["x-postboard-signature"]
    assert signature.startswith("sha256=")
    assert verify("whsec_test", request.body, timestamp, signature)
    assert not verify("other-secret", request.body, timestamp, signature)
    assert not verify("whsec_test", request.body.replace(b"150", b"151"), timestamp, signature)


async def test_webhook_uses_the_url_secret_before_the_default(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    own = server.url("/own")
    sender = WebhookSender(client, secret_for=lambda url: "own-secret" if url == own else None, default_secret="dflt")
    await sender.send(_message(own))
    await sender.send(_message(server.url("/other")))
    first, second = server.requests
    for request, secret in ((first, "own-secret"), (second, "dflt")):
        headers = request.headers
        assert verify(secret, request.body, headers["x-postboard-timestamp"], headers["x-postboard-signature"])
    assert first.json()["id"] == "ev-1"


async def test_webhook_without_a_secret_is_sent_unsigned(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    await WebhookSender(client).send(_message(server.url("/hook")))
    [request] = server.requests
    assert "x-postboard-signature" not in request.headers
    assert "x-postboard-timestamp" in request.headers


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "file:///etc/passwd", "not a url", ""])
async def test_webhook_refuses_non_http_urls(url: str, server: HttpRecorder, client: httpx.AsyncClient) -> None:
    failure = await _failure(WebhookSender(client, default_secret="s"), _message(url))
    assert failure.permanent
    assert failure.error.startswith("not an http(s) URL")
    assert server.requests == []


# Failure classification, the same for every HTTP channel


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        *[(status, True) for status in (301, 400, 401, 403, 404, 410, 422)],
        *[(status, False) for status in (408, 425, 429, 500, 502, 503)],
    ],
)
async def test_status_decides_whether_to_retry(
    status: int, permanent: bool, server: HttpRecorder, client: httpx.AsyncClient
) -> None:
    server.respond("/hook", status, "nope")
    failure = await _failure(WebhookSender(client), _message(server.url("/hook")))
    assert failure.permanent is permanent
    assert failure.error.startswith(f"HTTP {status}")
    assert failure.retry_after is None


async def test_rate_limit_carries_retry_after(server: HttpRecorder, client: httpx.AsyncClient) -> None:
    server.respond("/slack", 429, "rate_limited", headers={"Retry-After": "30"})
    failure = await _failure(SlackSender(client), _message(server.url("/slack")))
    assert not failure.permanent
    assert failure.retry_after == 30.0
    assert "rate_limited" in failure.error


async def test_connection_refused_is_transient(client: httpx.AsyncClient) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"
    failure = await _failure(WebhookSender(client), _message(closed))
    assert not failure.permanent
    assert failure.error.startswith("connection failed")


async def test_timeout_is_transient(server: HttpRecorder) -> None:
    server.respond("/slow", delay=5.0)
    async with httpx.AsyncClient(timeout=0.3) as quick:
        failure = await _failure(WebhookSender(quick), _message(server.url("/slow")))
    assert not failure.permanent
    assert failure.error.startswith("timed out")
    assert len(server.requests) == 1
