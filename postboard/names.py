"""Queue names, pub/sub channels and Redis keys: the one place they are spelled."""

EMAILS_QUEUE = "emails"
NOTIFICATIONS_QUEUE = "notifications"
QUEUES = (EMAILS_QUEUE, NOTIFICATIONS_QUEUE)

KEY_PREFIX = "postboard"
POSTS_CHANNEL = f"{KEY_PREFIX}:live:posts"


def stream_key(queue: str) -> str:
    """Return the Redis stream that holds a queue's jobs."""
    return f"{KEY_PREFIX}:queue:{queue}"
