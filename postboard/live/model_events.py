"""Model events (seed 001's observers): a commit that changed watched rows announces `resource.changed` per kind.

Every process that writes (web, workers, CLI) installs a publisher at startup; until then
changes are not announced (unit tests, migrations). The ORM's unit of work is seen by
itself; a bulk `UPDATE`/`INSERT` statement says what it changed with `note_change`.
The announcement goes out after the commit, never inside it, and a Redis outage costs
the live refresh only, never the write.
"""

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis import Redis
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from postboard import names
from postboard.errors import OUTAGES
from postboard.live.channels import KINDS, USER_KINDS
from postboard.live.messages import Envelope, ResourceChanged

log = logging.getLogger(__name__)

TABLE_KINDS = {
    "post": "posts",
    "notification": "notifications",
    "rule": "rules",
    "template": "templates",
    "event_source": "sources",
    "user": "users",
    "api_token": "tokens",
    "delivery": "deliveries",
    "event": "events",
}
# Past this many ids one message says "many changed": pages re-read all they show.
MAX_IDS = 100
_PENDING = "postboard_changes"

Publisher = Callable[[list[Envelope]], None]
_publisher: Publisher | None = None


class _Change:
    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.many = False
        self.users: set[int] = set()
        self.actions: set[str] = set()


def install(publisher: Publisher | None) -> None:
    """Announce every later commit's changes with `publisher` (None: stop announcing)."""
    global _publisher
    _publisher = publisher


def note_change(
    session: Session, kind: str, *, action: str, ids: Iterable[int] = (), user_ids: Iterable[int] = ()
) -> None:
    """Record a change a bulk statement made (no ids: many rows); announced when the session commits."""
    change = _pending(session).setdefault(kind, _Change())
    found = list(ids)
    change.ids.update(found)
    change.many = change.many or not found
    change.users.update(user_ids)
    change.actions.add(action)


def envelopes(changes: dict[str, _Change]) -> list[Envelope]:
    """The envelopes that announce a commit's changes."""
    out: list[Envelope] = []
    for kind, change in sorted(changes.items()):
        many = change.many or len(change.ids) > MAX_IDS
        data = ResourceChanged(kind=kind, ids=[] if many else sorted(change.ids), actions=sorted(change.actions))
        if kind in USER_KINDS:
            to = [names.user_room(u) for u in sorted(change.users)]
        else:
            to = [f"{names.WATCH_ROOM_PREFIX}{kind}"]
        if to:
            out.append(Envelope(type=names.RESOURCE_CHANGED, to=to, data=data.model_dump()))
    return out


def _pending(session: Session) -> dict[str, _Change]:
    found: dict[str, _Change] = session.info.setdefault(_PENDING, {})
    return found


def _seen(session: Session, row: Any, action: str) -> None:
    kind = TABLE_KINDS.get(getattr(row, "__tablename__", ""))
    if kind is None or kind not in KINDS:
        return
    row_id = getattr(row, "id", None)
    user_id = getattr(row, "user_id", None)
    note_change(
        session,
        kind,
        action=action,
        ids=[row_id] if isinstance(row_id, int) else [],
        user_ids=[user_id] if isinstance(user_id, int) else [],
    )


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if _publisher is None:
        return
    for row in session.new:
        _seen(session, row, "created")
    for row in session.dirty:
        if session.is_modified(row, include_collections=False):
            _seen(session, row, "updated")
    for row in session.deleted:
        _seen(session, row, "deleted")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    if not changes or _publisher is None:
        return
    try:
        _publisher(envelopes(changes))
    except Exception:
        # After the commit: the write stands whatever happens here.
        log.exception("model events of a commit not announced")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def merge(batch: list[Envelope]) -> list[Envelope]:
    """Fold envelopes of one kind to the same channels into one (their ids joined; any "many" wins)."""
    merged: dict[tuple[str, tuple[str, ...]], ResourceChanged] = {}
    for envelope in batch:
        change = ResourceChanged.model_validate(envelope.data)
        key = (change.kind, tuple(envelope.to))
        if (seen := merged.get(key)) is None:
            merged[key] = change
            continue
        many = not seen.ids or not change.ids or len(seen.ids) + len(change.ids) > MAX_IDS
        seen.ids = [] if many else sorted({*seen.ids, *change.ids})
        seen.actions = sorted({*seen.actions, *change.actions})
    return [
        Envelope(type=names.RESOURCE_CHANGED, to=list(to), data=change.model_dump())
        for (_, to), change in merged.items()
    ]


class RedisAnnouncer:
    """Publishes commits' envelopes from a background thread, merged per kind every quarter second.

    A commit only appends to a list, so a worker committing per recipient pays no Redis round
    trip; the pages are pushed at most once a second per channel anyway (the live hub).
    After an outage the announcer rests a few seconds and drops what it held.
    """

    REST_SECONDS = 5.0
    EVERY = 0.25

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._resting_until = 0.0
        self._held: list[Envelope] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="model-events", daemon=True)
        self._thread.start()

    def __call__(self, batch: list[Envelope]) -> None:
        """Hold a commit's envelopes for the next send."""
        if batch and time.monotonic() >= self._resting_until:
            with self._lock:
                self._held.extend(batch)

    def flush(self) -> int:
        """Publish what is held, merged, in one round trip; return how many envelopes went."""
        with self._lock:
            held, self._held = self._held, []
        if not held:
            return 0
        out = merge(held)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for envelope in out:
                pipe.publish(names.LIVE_CHANNEL, envelope.model_dump_json())
            pipe.execute()
        except OUTAGES as exc:
            # Pages still show the change on their next load; the writes themselves are committed.
            self._resting_until = time.monotonic() + self.REST_SECONDS
            log.warning("model events not announced (live channel unreachable: %s)", exc)
            return 0
        return len(out)

    def close(self) -> None:
        """Send what is held and release the connection."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=2)
        self.flush()
        self._redis.close()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.EVERY)
            try:
                self.flush()
            except Exception:
                log.exception("model events not announced")


def install_redis(*, enabled: bool, url: str) -> None:
    """Install the Redis announcer when live is on (LIVE_ENABLED), else announce nothing."""
    if isinstance(_publisher, RedisAnnouncer):
        _publisher.close()
    install(RedisAnnouncer(url) if enabled else None)
    if enabled:
        # A worker or CLI exiting right after a commit still announces it.
        atexit.register(_close_installed)


def _close_installed() -> None:
    if isinstance(_publisher, RedisAnnouncer):
        _publisher.close()
