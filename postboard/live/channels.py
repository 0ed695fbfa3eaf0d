"""Every live channel: its name, what travels on it, and who may receive it (the one authorization rule).

The README's channel table is this registry. The web's gate asks `may_receive` before a tab
joins a channel and again whenever the viewer's session or role may have changed; nothing
else decides membership.
"""

from dataclasses import dataclass

from postboard import names
from postboard.users.models import Role


@dataclass(frozen=True)
class Viewer:
    """Who a tab is signed in as, as far as channels care."""

    user_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        """Whether the viewer is an admin."""
        return self.role == Role.ADMIN


@dataclass(frozen=True)
class Channel:
    """One channel of the registry."""

    name: str
    events: str
    payload: str
    audience: str


# Resource kinds a page can watch (seed 004's `XUpdated` events), and who may watch each.
PUBLIC_KINDS = frozenset({"posts"})
ADMIN_KINDS = frozenset({"rules", "templates", "sources", "users", "tokens", "deliveries", "events"})
# Kinds that belong to one user: their changes go to that user's channel only.
USER_KINDS = frozenset({"notifications"})
KINDS = PUBLIC_KINDS | ADMIN_KINDS | USER_KINDS

CHANNELS = (
    Channel(
        names.SIGNED_IN_ROOM,
        "`post.created` (and the live buffer again when a buffered post is edited or deleted)",
        "id, title, author, excerpt, created_at, url",
        "signed-in users",
    ),
    Channel(
        "user.{id}",
        "`notification.created`, `resource.changed` (notifications)",
        "title, body, url · kind, ids, actions",
        "that user only",
    ),
    Channel(names.ADMINS_ROOM, "`notification.created` (admin alerts)", "title, body, url", "admins"),
    Channel(
        "post.{id}",
        "fan-out progress",
        "audience, emailed, failed, retrying, pending, in_app, done",
        "the post's author and admins",
    ),
    Channel(
        names.DASHBOARD_ROOM,
        "public dashboard figures, presence",
        "posts, emails and failures today, users online, chart, online list",
        "signed-in users",
    ),
    Channel(
        names.DASHBOARD_ADMIN_ROOM,
        "system figures",
        "queue depth and oldest wait, failure rate, workers, latest deliveries",
        "admins",
    ),
    Channel(names.QUEUES_ROOM, "queue monitor figures", "per-queue counts, waits, workers, failed jobs", "admins"),
    Channel(
        "watch.{kind}.{page}",
        "`resource.changed`",
        "kind, ids (empty: many changed), actions",
        "posts: signed-in users; rules, templates, sources, users, tokens, deliveries, events: admins",
    ),
)


def markdown_table() -> str:
    """The registry as the README's table (a unit test keeps the two the same)."""
    rows = ["| Channel | Events | Payload fields | Who may receive |", "|---|---|---|---|"]
    rows += [f"| `{c.name}` | {c.events} | {c.payload} | {c.audience} |" for c in CHANNELS]
    return "\n".join(rows)


def session_channels(viewer: Viewer) -> frozenset[str]:
    """The channels a signed-in tab is in on every page."""
    mine = {names.SIGNED_IN_ROOM, names.user_room(viewer.user_id)}
    if viewer.is_admin:
        mine.add(names.ADMINS_ROOM)
    return frozenset(mine)


def may_receive(viewer: Viewer | None, channel: str, *, post_author: int | None = None) -> bool:
    """Whether a viewer may be in a channel; `post_author` is the author of a `post.{id}` channel's post."""
    if viewer is None:
        return False
    if channel in (names.SIGNED_IN_ROOM, names.DASHBOARD_ROOM):
        return True
    if channel in (names.ADMINS_ROOM, names.DASHBOARD_ADMIN_ROOM, names.QUEUES_ROOM):
        return viewer.is_admin
    if (user_id := names.user_of_room(channel)) is not None:
        return user_id == viewer.user_id
    if names.post_of_room(channel) is not None:
        return viewer.is_admin or (post_author is not None and post_author == viewer.user_id)
    if (kind := names.kind_of_room(channel)) is not None:
        return kind in PUBLIC_KINDS or (kind in ADMIN_KINDS and viewer.is_admin)
    return False
