"""What every outbound channel shares: the message, the sender port, and HTTP failure classification."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from postboard.settings import Settings

# Statuses in the 4xx range that say "later", not "never".
_TRANSIENT_4XX = frozenset({408, 425, 429})
_SNIPPET = 200


class ChannelFailure(Exception):
    """A failed send: `permanent` is never retried; `retry_after` is the wait the receiver asked for."""

    def __init__(self, error: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Job results and logs may pickle the exception; the default only passes `error` back.
        return (_rebuild_failure, (self.error, self.permanent, self.retry_after))

    def __repr__(self) -> str:
        return f"ChannelFailure({self.error!r}, permanent={self.permanent}, retry_after={self.retry_after})"


def _rebuild_failure(error: str, permanent: bool, retry_after: float | None) -> ChannelFailure:
    return ChannelFailure(error, permanent=permanent, retry_after=retry_after)


@dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    """One rendered message for one recipient (a phone number, a webhook URL, a Slack webhook URL…)."""

    recipient: str
    body: str
    subject: str | None = None
    event: str = ""
    event_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # Stable across retries of one delivery, so receivers can drop duplicates.
    delivery_id: str = ""


class Sender(Protocol):
    """A channel's way out: returns a short receipt for the delivery log, raises `ChannelFailure`."""

    async def send(self, message: OutboundMessage) -> str:
        """Send one message."""
        ...


class MemorySender:
    """Test twin: keeps what was sent, and fails for the recipients it was told to."""

    def __init__(self, failures: dict[str, ChannelFailure] | None = None) -> None:
        self.sent: list[OutboundMessage] = []
        self.failures = dict(failures or {})

    async def send(self, message: OutboundMessage) -> str:
        """Record the message, or raise the failure set for its recipient."""
        failure = self.failures.get(message.recipient)
        if failure is not None:
            raise failure
        self.sent.append(message)
        return f"memory #{len(self.sent)}"


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """Return the HTTP client the senders share: settings' timeout, no redirects followed."""
    return httpx.AsyncClient(timeout=settings.http_timeout, follow_redirects=False)


def check_http_url(url: str) -> str:
    """Return `url` if it is an http(s) URL with a host; else raise a permanent failure."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelFailure(f"not an http(s) URL: {url[:_SNIPPET]!r}", permanent=True)
    return url.strip()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_permanent_status(status: int) -> bool:
    """Tell whether an unsuccessful HTTP status means retrying cannot help."""
    # 3xx counts as refused: redirects are not followed (a webhook that moved must be reconfigured).
    return status < 500 and status not in _TRANSIENT_4XX


def failure_for_response(response: httpx.Response) -> ChannelFailure:
    """Classify a non-2xx answer; the error names the status and the start of the body."""
    snippet = " ".join(response.text.split())[:_SNIPPET]
    error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if snippet:
        error = f"{error}: {snippet}"
    return ChannelFailure(
        error,
        permanent=is_permanent_status(response.status_code),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def failure_for_error(exc: httpx.HTTPError) -> ChannelFailure:
    """Classify an exception httpx raised before any answer arrived."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ChannelFailure(f"timed out ({type(exc).__name__}): {detail}", permanent=False)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        # Our request is malformed (bad URL scheme, bad header): the same request fails again.
        return ChannelFailure(f"request refused before sending: {detail}", permanent=True)
    return ChannelFailure(f"connection failed ({type(exc).__name__}): {detail}", permanent=False)


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """POST `content`; return a 2xx response, or raise a classified `ChannelFailure`."""
    try:
        response = await client.post(
            check_http_url(url),
            content=content,
            headers=headers,
            auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
        )
    except httpx.InvalidURL as exc:
        raise ChannelFailure(f"not an http(s) URL: {exc}", permanent=True) from exc
    except httpx.HTTPError as exc:
        raise failure_for_error(exc) from exc
    if not response.is_success:
        raise failure_for_response(response)
    return response
