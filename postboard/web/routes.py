"""Route constants for every page."""

from postboard.posts.models import post_path

HOME = "/"
LOGIN = "/login"
REGISTER = "/register"
NOTIFICATIONS = "/notifications"
MAILBOX = "/mailbox"
USERS = "/users"
QUEUES = "/queues"
POST = "/posts/[post_id]"
EVENT_SOURCES = "/event-sources"
TEMPLATES = "/templates"
RULES = "/rules"
TEST_EVENT = "/test-event"
DELIVERIES = "/deliveries"
TOKENS = "/tokens"
SMSBOX = "/smsbox"
# The pages only admins may open.
ADMIN_PAGES = frozenset(
    {MAILBOX, USERS, QUEUES, EVENT_SOURCES, TEMPLATES, RULES, TEST_EVENT, DELIVERIES, TOKENS, SMSBOX}
)


def post(post_id: int) -> str:
    """Return the route of one post."""
    return post_path(post_id)


def deliveries_of(event_id: str) -> str:
    """Return the delivery log filtered to one event."""
    return f"{DELIVERIES}?event={event_id}"
