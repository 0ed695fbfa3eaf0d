"""User verbs: register, authenticate, sessions, roles, seeding."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from postboard.clock import utcnow
from postboard.db import insert_new
from postboard.errors import ValidationFailed
from postboard.users.models import AccessEpoch, AuthSession, Role, User
from postboard.users.passwords import hash_password, verify_password

MIN_PASSWORD = 8

SESSIONS_PER_QUERY = 5_000


def _clean_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed({"email": f"Email is not valid: {exc}"}) from exc


def validate_registration(*, name: str, email: str, password: str) -> dict[str, str]:
    """Return field → message for everything wrong with a registration."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name is required"
    elif len(name.strip()) > 100:
        errors["name"] = "Name must be at most 100 characters"
    if not email.strip():
        errors["email"] = "Email is required"
    else:
        try:
            _clean_email(email)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Password must be at least {MIN_PASSWORD} characters"
    return errors


def create_user(session: Session, *, name: str, email: str, password: str, role: Role | None = None) -> User:
    """Create an account; the first account ever becomes admin, others members."""
    errors = validate_registration(name=name, email=email, password=password)
    if errors:
        raise ValidationFailed(errors)
    address = _clean_email(email)
    if session.exec(select(User.id).where(User.email == address)).first() is not None:
        raise ValidationFailed({"email": "An account with this email already exists"})
    if role is None:
        has_users = session.exec(select(User.id).limit(1)).first() is not None
        role = Role.MEMBER if has_users else Role.ADMIN
    user = User(
        name=name.strip(),
        email=address,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        # The same address registered at the same moment: the check above could not see it.
        session.rollback()
        raise ValidationFailed({"email": "An account with this email already exists"}) from None
    session.refresh(user)
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """Return the user whose email and password match, else None."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not verify_password(user.password_hash, password):
        return None
    return user


def token_hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User, days: int) -> str:
    """Create a sign-in session and return its secret token."""
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    session.commit()
    return token


def user_for_token(session: Session, *, token: str) -> User | None:
    """Return the user a live session token belongs to, else None."""
    if not token:
        return None
    row = session.exec(
        select(User)
        .join(AuthSession, col(AuthSession.user_id) == col(User.id))
        .where(
            AuthSession.token_hash == token_hash(token),
            AuthSession.expires_at > utcnow(),
        )
    ).first()
    return row


class LiveSession(NamedTuple):
    """A live session as the gate keeps it: whose, with what role, until when."""

    user_id: int
    role: Role
    expires_at: datetime


def live_sessions(session: Session, *, token_hashes: Sequence[str]) -> dict[str, tuple[int, Role]]:
    """Return, for each of these session token hashes still live, its user's id and role (a query per 5,000)."""
    return {h: (s.user_id, s.role) for h, s in live_sessions_until(session, token_hashes=token_hashes).items()}


def live_sessions_until(session: Session, *, token_hashes: Sequence[str]) -> dict[str, LiveSession]:
    """Return, for each of these session token hashes still live, its user, role and expiry (a query per 5,000)."""
    found: dict[str, LiveSession] = {}
    now = utcnow()
    # One IN list per chunk: a statement binds at most 65,535 values on PostgreSQL (SQLite: 32,766 by default).
    for start in range(0, len(token_hashes), SESSIONS_PER_QUERY):
        rows = session.exec(
            select(AuthSession.token_hash, User.id, User.role, AuthSession.expires_at)
            .join(User, col(AuthSession.user_id) == col(User.id))
            .where(
                col(AuthSession.token_hash).in_(token_hashes[start : start + SESSIONS_PER_QUERY]),
                AuthSession.expires_at > now,
            )
        ).all()
        found.update((token, LiveSession(user_id or 0, Role(role), until)) for token, user_id, role, until in rows)
    return found


def access_epoch(session: Session) -> int:
    """Return the access epoch: it moves with every sign-out and role change."""
    return session.exec(select(AccessEpoch.value).where(AccessEpoch.id == 1)).first() or 0


def raise_access_epoch(session: Session) -> None:
    """Move the access epoch, in the caller's transaction (the caller commits)."""
    moved = session.execute(
        update(AccessEpoch)
        .where(col(AccessEpoch.id) == 1)
        .values(value=AccessEpoch.value + 1)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    if not getattr(moved, "rowcount", 0):
        # A database made without the migration's row (`create_all`).
        session.execute(insert_new(session, AccessEpoch).values(id=1, value=1))


def end_session(session: Session, *, token: str) -> None:
    """Sign a browser out by deleting its session."""
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == token_hash(token))).first()
    if row is not None:
        session.delete(row)
        raise_access_epoch(session)
        session.commit()


def search_users(session: Session, *, query: str = "", limit: int = 100) -> Sequence[User]:
    """Return users whose name or email contains `query`, in id order."""
    statement = select(User)
    if query.strip():
        pattern = f"%{query.strip().lower()}%"
        statement = statement.where(col(User.email).ilike(pattern) | col(User.name).ilike(pattern))
    return session.exec(statement.order_by(col(User.id)).limit(limit)).all()


def count_users(session: Session) -> int:
    """Return how many accounts exist."""
    return session.exec(select(func.count()).select_from(User)).one()


def set_role(session: Session, *, user_id: int, role: Role) -> User:
    """Change a user's role; the last admin cannot be demoted."""
    user = session.get(User, user_id)
    if user is None:
        raise ValidationFailed({"user": "No such user"})
    if user.role == Role.ADMIN and role != Role.ADMIN:
        admins = session.exec(select(func.count()).select_from(User).where(User.role == Role.ADMIN)).one()
        if admins <= 1:
            raise ValidationFailed({"role": "The last admin cannot be demoted"})
    user.role = role
    session.add(user)
    raise_access_epoch(session)
    session.commit()
    session.refresh(user)
    return user


def seed_members(session: Session, *, count: int, password: str, batch: int = 5_000) -> int:
    """Insert `count` fake members fast (one password hash shared by all)."""
    shared_hash = hash_password(password)
    start = (session.exec(select(func.max(User.id))).one() or 0) + 1
    tag = secrets.token_hex(3)
    now = utcnow()
    made = 0
    while made < count:
        rows = [
            {
                "email": f"member{start + made + i}.{tag}@example.test",
                "name": f"Member {start + made + i}",
                "role": Role.MEMBER,
                "password_hash": shared_hash,
                "created_at": now,
            }
            for i in range(min(batch, count - made))
        ]
        session.execute(insert(User), rows)
        made += len(rows)
    session.commit()
    return made
