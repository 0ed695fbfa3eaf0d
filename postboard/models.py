"""Every table, imported in one place so `SQLModel.metadata` knows them all."""

from postboard.deliveries.models import Delivery
from postboard.notifications.models import Notification
from postboard.outbox.models import OutboxEvent
from postboard.posts.models import Post
from postboard.users.models import AuthSession, User

__all__ = ["AuthSession", "Delivery", "Notification", "OutboxEvent", "Post", "User"]
