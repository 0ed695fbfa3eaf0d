"""SMS: a provider port (generic HTTP, or the dev capture store), phone checks and segment counts."""

import json
import math
import re
from pathlib import Path
from typing import Protocol

import httpx

from postboard.channels import smsbox
from postboard.channels.base import ChannelFailure, OutboundMessage, post
from postboard.settings import Settings

_PHONE = re.compile(r"^\+[0-9]{8,15}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")
# GSM 03.38: the basic set costs one septet per character, the extension set two (escape + char).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_ID_KEYS = ("id", "message_id", "messageId", "sid")


def normalize_phone(text: str) -> str | None:
    """Return `text` as `+` and 8–15 digits once spaces, dashes, dots and brackets are dropped; else None."""
    phone = _PHONE_SEPARATORS.sub("", text)
    return phone if _PHONE.match(phone) else None


def count_segments(body: str) -> int:
    """Return how many SMS parts `body` is billed as (GSM-7: 160, then 153 each; UCS-2: 70, then 67)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


class SmsProvider(Protocol):
    """Hands one text to a carrier (or a stand-in); returns the provider's reference."""

    async def send_sms(self, *, to: str, body: str, event: str) -> str:
        """Send one SMS to a normalised phone number."""
        ...


class HttpSmsProvider:
    """A generic HTTP SMS gateway: POST JSON `{to, from, body}` with bearer or basic auth."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        sender: str,
        token: str = "",
        username: str = "",
        password: str = "",
    ) -> None:
        self._client, self._url, self._sender = client, url.strip(), sender
        self._token, self._username, self._password = token, username, password

    async def send_sms(self, *, to: str, body: str, event: str) -> str:
        """Post the SMS; return the gateway's message id, else its status."""
        if not self._url:
            raise ChannelFailure("SMS_PROVIDER is http but SMS_HTTP_URL is not set", permanent=True)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth: httpx.Auth | None = None
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif self._username:
            auth = httpx.BasicAuth(self._username, self._password)
        content = json.dumps({"to": to, "from": self._sender, "body": body}, ensure_ascii=False).encode()
        response = await post(self._client, self._url, content=content, headers=headers, auth=auth)
        return _message_id(response) or f"HTTP {response.status_code}"


def _message_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in _ID_KEYS:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


class CaptureSmsProvider:
    """The dev provider: every SMS lands in the capture store, readable at /smsbox."""

    def __init__(self, folder: Path, *, sender: str = "Postboard") -> None:
        self._folder, self._sender = folder, sender

    async def send_sms(self, *, to: str, body: str, event: str) -> str:
        """Store the SMS; return its key in the store."""
        sms = smsbox.store_message(
            self._folder, to=to, sender=self._sender, body=body, event=event, segments=count_segments(body)
        )
        return f"captured {sms.key}"


class SmsSender:
    """The SMS channel: checks the number and the text, then hands them to a provider."""

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    async def send(self, message: OutboundMessage) -> str:
        """Send the body (SMS has no subject); the receipt carries the reference and segment count."""
        to = normalize_phone(message.recipient)
        if to is None:
            raise ChannelFailure(f"not a phone number: {message.recipient[:40]!r}", permanent=True)
        if not message.body.strip():
            raise ChannelFailure("empty SMS: the template rendered nothing", permanent=True)
        reference = await self._provider.send_sms(to=to, body=message.body, event=message.event)
        segments = count_segments(message.body)
        return f"{reference}, {segments} segment{'s' if segments != 1 else ''}"


def make_sms_provider(settings: Settings, client: httpx.AsyncClient) -> SmsProvider:
    """Return the provider SMS_PROVIDER names: `capture` (dev store) or `http` (the gateway)."""
    if settings.sms_provider == "http":
        return HttpSmsProvider(
            client,
            url=settings.sms_http_url,
            sender=settings.sms_from,
            token=settings.sms_http_token,
            username=settings.sms_http_username,
            password=settings.sms_http_password,
        )
    return CaptureSmsProvider(settings.sms_dir, sender=settings.sms_from)
