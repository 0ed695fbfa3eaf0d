"""Build test data through the services, as the app does."""

from sqlmodel import Session, func, select

from postboard.flows import EmailChunk
from postboard.posts.models import Post
from postboard.posts.service import create_post
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


def make_post(session: Session, *, members: int, title: str = "Launch day") -> Post:
    """An admin's post with `members` members to email."""
    author = make_user(session, name="Ada Lovelace", role=Role.ADMIN)
    make_audience(session, members=members)
    post, _ = create_post(session, author=author, title=title, content="We shipped it.\nSecond line.")
    return post


def chunk_of_everyone(session: Session) -> EmailChunk:
    """One email chunk spanning every user."""
    last = session.exec(select(func.max(User.id))).one() or 0
    return EmailChunk(after_id=0, last_id=last)
