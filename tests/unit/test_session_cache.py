"""The gate's session reads: from memory while the access epoch stands still, from the database when it moved."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import Session

from postboard.clock import utcnow
from postboard.users import access
from postboard.users.access import SessionCache
from postboard.users.models import Role, User
from postboard.users.service import create_user, end_session, set_role, start_session, token_hash


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cache(session: Session, clock: Clock) -> SessionCache:
    @contextmanager
    def sessions() -> Iterator[Session]:
        yield session

    return SessionCache(sessions, full_every=60, clock=clock)


def _two_members(session: Session) -> tuple[str, str, int, int]:
    create_user(session, name="Admin", email="admin@example.com", password="password123")
    ada = create_user(session, name="Ada", email="ada@example.com", password="password123")
    bob = create_user(session, name="Bob", email="bob@example.com", password="password123")
    assert ada.id is not None
    assert bob.id is not None
    return start_session(session, user=ada, days=1), start_session(session, user=bob, days=1), ada.id, bob.id


def test_nothing_changed_reads_no_session_a_new_one_alone(session: Session) -> None:
    a, b, ada, bob = _two_members(session)
    clock = Clock()
    cache = _cache(session, clock)
    both = [token_hash(a), token_hash(b)]
    assert cache(both) == {both[0]: (ada, Role.MEMBER), both[1]: (bob, Role.MEMBER)}
    clock.now = 1
    assert cache(both) == {both[0]: (ada, Role.MEMBER), both[1]: (bob, Role.MEMBER)}
    # A third tab: only its session is read.
    c = token_hash(start_session(session, user=session.get_one(User, ada), days=1))
    assert cache([*both, c]) == {both[0]: (ada, Role.MEMBER), both[1]: (bob, Role.MEMBER), c: (ada, Role.MEMBER)}
    assert cache.reads == [2, 0, 1]


def test_a_sign_out_or_a_role_change_is_read_at_the_next_call(session: Session) -> None:
    a, b, _ada, bob = _two_members(session)
    cache = _cache(session, Clock())
    both = [token_hash(a), token_hash(b)]
    cache(both)
    end_session(session, token=a)
    assert cache(both) == {both[1]: (bob, Role.MEMBER)}
    set_role(session, user_id=bob, role=Role.EDITOR)
    assert cache(both) == {both[1]: (bob, Role.EDITOR)}
    assert cache.reads == [2, 2, 2]


def test_a_known_session_that_expired_is_read_again_and_gone(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, _ada, _bob = _two_members(session)
    cache = _cache(session, Clock())
    both = [token_hash(a), token_hash(b)]
    cache(both)
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(access, "utcnow", lambda: later)
    monkeypatch.setattr("postboard.users.service.utcnow", lambda: later)
    assert cache(both) == {}
    assert cache.reads == [2, 2]


def test_everything_is_read_again_once_a_minute_whatever_the_epoch(session: Session) -> None:
    a, b, _ada, bob = _two_members(session)
    clock = Clock()
    cache = _cache(session, clock)
    both = [token_hash(a), token_hash(b)]
    cache(both)
    # A change behind Postboard's back: the epoch does not move.
    session.get_one(User, bob).role = Role.ADMIN
    session.commit()
    clock.now = 59
    assert cache(both)[both[1]] == (bob, Role.MEMBER)
    clock.now = 60
    assert cache(both)[both[1]] == (bob, Role.ADMIN)
    assert cache.reads == [2, 0, 2]
