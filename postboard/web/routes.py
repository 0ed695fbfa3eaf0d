"""Route constants for every page."""

HOME = "/"
LOGIN = "/login"
REGISTER = "/register"
NOTIFICATIONS = "/notifications"
MAILBOX = "/mailbox"
USERS = "/users"
QUEUES = "/queues"
POST = "/posts/[post_id]"


def post(post_id: int | str) -> str:
    """Return the route of one post."""
    return f"/posts/{post_id}"
