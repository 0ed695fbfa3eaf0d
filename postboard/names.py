"""Queue names, event kinds, pub/sub channels, socket rooms and Redis keys: the one place they are spelled."""

import os
import socket

EMAILS_QUEUE = "emails"
NOTIFICATIONS_QUEUE = "notifications"
SMS_QUEUE = "sms"
SLACK_QUEUE = "slack"
WEBHOOKS_QUEUE = "webhooks"
QUEUES = (EMAILS_QUEUE, NOTIFICATIONS_QUEUE, SMS_QUEUE, SLACK_QUEUE, WEBHOOKS_QUEUE)

KEY_PREFIX = "postboard"

# Files in the top-level assets/ folder, served by Reflex at the site root (APP_URL).
LOGO_SVG = "/logo.svg"
LOGO_PNG = "/logo.png"

# A post was published: its outbox kind, and the name of the built-in event source its rules hang on.
POST_CREATED = "post.created"

# The one Redis pub/sub channel: producers (web, workers, scheduler) publish envelopes
# (`live.messages.Envelope`) naming the socket channels they are for; each backend subscribes once.
LIVE_CHANNEL = f"{KEY_PREFIX}:live"

# Socket channels (rooms of one backend process's tabs). `live.channels` says who may be in each.
SIGNED_IN_ROOM = "posts"
USER_ROOM_PREFIX = "user."
ADMINS_ROOM = "admins"
DASHBOARD_ROOM = "dashboard"
DASHBOARD_ADMIN_ROOM = "dashboard.system"
QUEUES_ROOM = "queues"
POST_ROOM_PREFIX = "post."
WATCH_ROOM_PREFIX = "watch."
# A tab is in these while signed in (left at sign-out) ...
SESSION_ROOMS = (SIGNED_IN_ROOM, USER_ROOM_PREFIX, ADMINS_ROOM)
# ... and in the ones of the page it shows (left at every page load).
PAGE_ROOMS = (QUEUES_ROOM, POST_ROOM_PREFIX, DASHBOARD_ROOM, DASHBOARD_ADMIN_ROOM, WATCH_ROOM_PREFIX)

# Event types of the live envelopes.
NOTIFICATION_CREATED = "notification.created"
RESOURCE_CHANGED = "resource.changed"


def user_room(user_id: int) -> str:
    """Return the socket channel of one user's tabs."""
    return f"{USER_ROOM_PREFIX}{user_id}"


def user_of_room(room: str) -> int | None:
    """Return the user id a user channel is for (None for any other room)."""
    rest = room.removeprefix(USER_ROOM_PREFIX)
    return int(rest) if rest != room and rest.isdigit() else None


def post_room(post_id: int) -> str:
    """Return the socket channel of the tabs watching one post's fan-out progress."""
    return f"{POST_ROOM_PREFIX}{post_id}"


def post_of_room(room: str) -> int | None:
    """Return the post id a progress room is for (None for any other room)."""
    rest = room.removeprefix(POST_ROOM_PREFIX)
    return int(rest) if rest != room and rest.isdigit() else None


def watch_room(kind: str, page: str) -> str:
    """Return the socket channel of the tabs whose page `page` shows resources of `kind`."""
    return f"{WATCH_ROOM_PREFIX}{kind}.{page}"


def kind_of_room(room: str) -> str | None:
    """Return the resource kind a watch room is for (None for any other room)."""
    rest = room.removeprefix(WATCH_ROOM_PREFIX)
    return rest.split(".", 1)[0] if rest != room and "." in rest else None


# Delayed retries, read by the one `taskiq scheduler`. No colon: taskiq-redis 1.2.2's
# ListRedisScheduleSource parses `{prefix}:time:{minute}` with split(":", 2), and a colon
# in the prefix makes it skip every schedule whose minute has passed.
SCHEDULE_PREFIX = f"{KEY_PREFIX}-schedule"
# The scheduler lease: the one `taskiq scheduler` holding it sends; any other stands by.
SCHEDULER_LEADER = f"{KEY_PREFIX}:scheduler:leader"

# Job monitor (written by workers, read by the dashboard and /metrics).
JOBS_RECENT = f"{KEY_PREFIX}:jobs:recent"
JOBS_FAILED = f"{KEY_PREFIX}:jobs:failed"
JOBS_FAILED_ORDER = f"{KEY_PREFIX}:jobs:failed:order"
METRICS_JOBS = f"{KEY_PREFIX}:metrics:jobs"
METRICS_DURATION = f"{KEY_PREFIX}:metrics:duration"
BACKEND_TABS = f"{KEY_PREFIX}:backends:tabs"
BACKEND_SEEN = f"{KEY_PREFIX}:backends:seen"
# Presence: the backend processes alive (sorted set, scored by heartbeat) and each one's online users.
PRESENCE_BACKENDS = f"{KEY_PREFIX}:presence:backends"


def presence_key(backend: str) -> str:
    """Return the hash of one backend process's online users (user id -> since, epoch seconds)."""
    return f"{KEY_PREFIX}:presence:{backend}"


def seen_key(client: str) -> str:
    """Return the key holding the newest live post one browser tab (Reflex client token) was there for."""
    return f"{KEY_PREFIX}:seen:{client}"


def seen_process_key(process: str) -> str:
    """Return the key holding the newest live post a backend process recorded (its tabs read it while connected)."""
    return f"{KEY_PREFIX}:seen-process:{process}"


def process_id() -> str:
    """Return this process's name in the monitor's keys (a worker or a backend): host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def stream_key(queue: str) -> str:
    """Return the Redis stream that holds a queue's jobs."""
    return f"{KEY_PREFIX}:queue:{queue}"


def group_name(queue: str) -> str:
    """Return the consumer group (the worker group) of a queue."""
    return f"{KEY_PREFIX}:{queue}"


def minute_stats_key(queue: str, minute: int) -> str:
    """Return the hash counting one queue's processed and failed jobs in one epoch minute."""
    return f"{KEY_PREFIX}:stats:{queue}:{minute}"


def samples_key(queue: str, kind: str) -> str:
    """Return the list of recent wait or run times (seconds) of a queue."""
    return f"{KEY_PREFIX}:samples:{queue}:{kind}"


def workers_key(queue: str) -> str:
    """Return the sorted set of a queue's worker processes, scored by last heartbeat."""
    return f"{KEY_PREFIX}:workers:{queue}"


def alert_key(queue: str) -> str:
    """Return the key that marks an open long-wait incident on a queue."""
    return f"{KEY_PREFIX}:alerts:long-wait:{queue}"
