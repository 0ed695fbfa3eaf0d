"""Outbound channels beyond email: Slack, SMS and signed webhooks, each a `Sender`."""
