"""Every table, imported in one place so `SQLModel.metadata` knows them all."""

from postboard.deliveries.models import Delivery, DeliveryAttempt
from postboard.events.models import Event, EventSource, Rule, Template
from postboard.notifications.models import Notification
from postboard.outbox.models import OutboxEvent
from postboard.posts.models import Post
from postboard.tokens.models import ApiToken
from postboard.users.models import AccountToken, AuthSession, User

__all__ = [
    "AccountToken",
    "ApiToken",
    "AuthSession",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "EventSource",
    "Notification",
    "OutboxEvent",
    "Post",
    "Rule",
    "Template",
    "User",
]
