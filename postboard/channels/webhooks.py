"""Webhooks: the event POSTed as JSON to a URL, signed with HMAC-SHA256 over timestamp and body."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from postboard.channels.base import ChannelFailure, OutboundMessage, check_http_url, post

USER_AGENT = "Postboard-Webhooks/1"
SIGNATURE_HEADER = "X-Postboard-Signature"
TIMESTAMP_HEADER = "X-Postboard-Timestamp"
EVENT_HEADER = "X-Postboard-Event"
DELIVERY_HEADER = "X-Postboard-Delivery"
DEFAULT_TOLERANCE = 300


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Return the signature header value: `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}`."""
    signed = f"{timestamp}.".encode() + _bytes(body)
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes | str,
    timestamp: int | str,
    signature: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Tell whether a received webhook is genuine and fresh (within `tolerance` seconds of `now`)."""
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    # Stale or future-dated requests are refused so a captured one cannot be replayed later.
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body).encode(), signature.strip().encode())


class WebhookSender:
    """POSTs `{id, event, payload, sent_at}` to the recipient URL, signed when a secret is known."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        secret_for: Callable[[str], str | None] | None = None,
        default_secret: str = "",
    ) -> None:
        self._client = client
        self._secret_for = secret_for
        self._default_secret = default_secret

    def _secret(self, url: str) -> str:
        own = self._secret_for(url) if self._secret_for is not None else None
        return own or self._default_secret

    async def send(self, message: OutboundMessage) -> str:
        """Post one event; the receipt is the receiver's HTTP status."""
        url = check_http_url(message.recipient)
        now = time.time()
        timestamp = int(now)
        delivery = message.delivery_id or message.event_id
        document = {
            "id": delivery,
            "event": message.event,
            "payload": message.payload,
            "sent_at": datetime.fromtimestamp(now, tz=UTC).isoformat(),
        }
        try:
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise ChannelFailure(f"payload is not JSON: {exc}", permanent=True) from exc
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: message.event,
            DELIVERY_HEADER: delivery,
            TIMESTAMP_HEADER: str(timestamp),
        }
        secret = self._secret(url)
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        response = await post(self._client, url, content=body, headers=headers)
        return f"HTTP {response.status_code}"
