"""Build test data through the services, as the app does."""

from sqlmodel import Session

from postboard.users.models import Role, User
from postboard.users.service import create_user, seed_members


def make_user(
    session: Session,
    *,
    name: str = "Ada",
    email: str = "ada@example.com",
    role: Role = Role.EDITOR,
    password: str = "password123",
) -> User:
    """Create one account with a role."""
    return create_user(session, name=name, email=email, password=password, role=role)


def make_audience(session: Session, *, members: int) -> int:
    """Add `members` member accounts in bulk."""
    return seed_members(session, count=members, password="password123")
