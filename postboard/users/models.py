"""User and session tables."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from postboard.clock import utcnow


class Role(StrEnum):
    """What a user may do: admins manage, editors publish, members read."""

    ADMIN = "admin"
    EDITOR = "editor"
    MEMBER = "member"


class UserBase(SQLModel):
    """Fields shared by every user shape."""

    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=100)
    role: Role = Field(default=Role.MEMBER, sa_type=String(16))


class User(UserBase, table=True):
    """A person with an account."""

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    # None until the person opens the confirmation link; until then only critical mail reaches them.
    email_verified_at: datetime | None = None


class AuthSession(SQLModel, table=True):
    """A signed-in browser; only the token's hash is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    # What the settings page lists: the browser and address that signed in, and when it was last used.
    user_agent: str = Field(default="", max_length=255)
    client_address: str = Field(default="", max_length=64)
    last_seen_at: datetime | None = None


class TokenPurpose(StrEnum):
    """What a single-use account link does."""

    RESET = "reset"
    VERIFY = "verify"


class AccountToken(SQLModel, table=True):
    """A single-use, expiring link sent by email (password reset, email confirmation); only its hash is kept."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    purpose: TokenPurpose = Field(sa_type=String(16))
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class AccessEpoch(SQLModel, table=True):
    """One counter, raised in the transaction of every sign-out and role change.

    Whoever keeps sessions in memory (the socket gate) re-reads them when it moved.
    """

    __tablename__ = "access_epoch"

    id: int = Field(default=1, primary_key=True)
    value: int = 0
