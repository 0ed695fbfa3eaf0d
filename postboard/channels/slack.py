"""Slack: a message posted to an incoming-webhook URL (the rule's, else the default)."""

import json

import httpx

from postboard.channels.base import ChannelFailure, OutboundMessage, post


def slack_text(message: OutboundMessage) -> str:
    """Return the Slack text of a message: the subject in bold on its own line, then the body."""
    if message.subject:
        return f"*{message.subject}*\n{message.body}"
    return message.body


class SlackSender:
    """Posts `{"text": ...}` to an incoming webhook; Slack answers 200 `ok`."""

    def __init__(self, client: httpx.AsyncClient, default_webhook_url: str | None = None) -> None:
        self._client = client
        self._default = (default_webhook_url or "").strip()

    async def send(self, message: OutboundMessage) -> str:
        """Post one message; the receipt is Slack's status and answer."""
        url = message.recipient.strip() or self._default
        if not url:
            raise ChannelFailure("no Slack webhook URL: set one on the rule or SLACK_WEBHOOK_URL", permanent=True)
        text = slack_text(message)
        if not text.strip():
            raise ChannelFailure("empty Slack message: the template rendered nothing", permanent=True)
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        response = await post(self._client, url, content=body, headers={"Content-Type": "application/json"})
        answer = " ".join(response.text.split())[:40]
        return f"HTTP {response.status_code} {answer}".strip()
