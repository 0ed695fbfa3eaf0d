"""Accounts: first user is admin, validation, passwords, sessions, roles, seeding."""

import pytest
from sqlmodel import Session, func, select

from postboard.errors import ValidationFailed
from postboard.users.models import Role, User
from postboard.users.service import (
    authenticate,
    create_user,
    end_session,
    live_sessions,
    search_users,
    seed_members,
    set_role,
    start_session,
    token_hash,
    user_for_token,
)


def test_first_account_is_admin_then_members(session: Session) -> None:
    first = create_user(session, name="Ada", email="Ada@Example.com", password="password123")
    second = create_user(session, name="Bob", email="bob@example.com", password="password123")
    assert (first.role, second.role) == (Role.ADMIN, Role.MEMBER)
    assert first.email == "ada@example.com"
    assert first.password_hash.startswith("$argon2id$")


def test_registration_errors_name_each_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_user(session, name="", email="not-an-email", password="short")
    assert caught.value.errors["name"] == "Name is required"
    assert caught.value.errors["email"].startswith("Email is not valid")
    assert caught.value.errors["password"] == "Password must be at least 8 characters"
    assert session.exec(select(func.count()).select_from(User)).one() == 0


def test_duplicate_email_is_refused(session: Session) -> None:
    create_user(session, name="Ada", email="ada@example.com", password="password123")
    with pytest.raises(ValidationFailed, match="already exists"):
        create_user(session, name="Ada 2", email="ADA@example.com", password="password123")


def test_sign_in_and_sessions(session: Session) -> None:
    user = create_user(session, name="Ada", email="ada@example.com", password="password123")
    assert authenticate(session, email="ada@example.com", password="wrong-password") is None
    assert authenticate(session, email=" ADA@example.com", password="password123") == user
    token = start_session(session, user=user, days=1)
    assert user_for_token(session, token=token) == user
    assert user_for_token(session, token="forged") is None
    end_session(session, token=token)
    assert user_for_token(session, token=token) is None


def test_expired_session_signs_nobody_in(session: Session) -> None:
    user = create_user(session, name="Ada", email="ada@example.com", password="password123")
    token = start_session(session, user=user, days=-1)
    assert user_for_token(session, token=token) is None


def test_roles_change_but_the_last_admin_stays(session: Session) -> None:
    admin = create_user(session, name="Ada", email="ada@example.com", password="password123")
    bob = create_user(session, name="Bob", email="bob@example.com", password="password123")
    assert set_role(session, user_id=bob.id or 0, role=Role.EDITOR).role == Role.EDITOR
    with pytest.raises(ValidationFailed, match="last admin"):
        set_role(session, user_id=admin.id or 0, role=Role.MEMBER)


def test_seed_and_search(session: Session) -> None:
    assert seed_members(session, count=12_000, password="password123") == 12_000
    assert session.exec(select(func.count()).select_from(User)).one() == 12_000
    found = search_users(session, query="member 11999", limit=5)
    assert [u.name for u in found] == ["Member 11999"]
    assert authenticate(session, email=found[0].email, password="password123") is not None


def test_live_sessions_reads_any_number_of_tabs_and_skips_expired_and_unknown(session: Session) -> None:
    ada = create_user(session, name="Ada", email="ada@example.com", password="password123")
    bob = create_user(session, name="Bob", email="bob@example.com", password="password123")
    live = token_hash(start_session(session, user=bob, days=1))
    expired = token_hash(start_session(session, user=ada, days=-1))
    # More hashes than one statement may bind (PostgreSQL 65,535; this SQLite build 250,000): read in
    # chunks, the live one among the last.
    unknown = [f"{n:064x}" for n in range(260_000)]

    found = live_sessions(session, token_hashes=[*unknown, expired, live])

    assert found == {live: (bob.id, Role.MEMBER)}
