"""A post's email fan-out on a real pipeline: seed, publish, and read what the sink and the database hold."""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.mailbox.sink import MaildirHandler
from postboard.posts.service import publish
from postboard.users.models import Role, User
from tasks.dispatch import TaskiqDispatcher
from tests.factories import make_audience, make_user
from tests.integration.pipeline import Pipeline
from tests.support import eventually

SENT, SENDING, RETRYING, FAILED = (
    DeliveryStatus.SENT,
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
)
CHUNK_TASK = "send_post_email_chunk"
# Retries 1 s apart instead of minutes, so a fault plays out in seconds.
FAST_RETRIES = {"RETRY_DELAYS": "1,1,1"}


@dataclass(frozen=True)
class Mail:
    """What the sink holds: copies per Message-ID (one per post and recipient) and per `To`."""

    by_message: Counter[str]
    by_recipient: Counter[str]
    last_at: float

    def for_post(self, post_id: int) -> Counter[str]:
        """Copies of each of one post's messages."""
        prefix = f"<post-{post_id}."
        return Counter({mid: n for mid, n in self.by_message.items() if mid.startswith(prefix)})

    @property
    def duplicates(self) -> int:
        """Copies beyond the first of any message."""
        return sum(self.by_message.values()) - len(self.by_message)


def read_mail(box: Path) -> Mail:
    """Read the headers of every message in the sink's Maildir."""
    parser = BytesHeaderParser()
    by_message: Counter[str] = Counter()
    by_recipient: Counter[str] = Counter()
    last_at = 0.0
    for sub in ("new", "cur"):
        folder = box / sub
        if not folder.exists():
            continue
        for path in folder.iterdir():
            with path.open("rb") as handle:
                headers = parser.parse(handle)
            by_message[str(headers["Message-ID"])] += 1
            by_recipient[str(headers["To"])] += 1
            last_at = max(last_at, path.stat().st_mtime)
    return Mail(by_message=by_message, by_recipient=by_recipient, last_at=last_at)


def email_statuses(engine: Engine, post_id: int) -> dict[str, int]:
    """Count a post's email deliveries by status."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery.status, func.count())
            .where(Delivery.post_id == post_id, Delivery.channel == Channel.EMAIL)
            .group_by(col(Delivery.status))
        ).all()
    return {str(status): n for status, n in rows}


def email_deliveries(engine: Engine, post_id: int) -> list[Delivery]:
    """Return a post's email deliveries."""
    with Session(engine) as session:
        return list(
            session.exec(select(Delivery).where(Delivery.post_id == post_id, Delivery.channel == Channel.EMAIL)).all()
        )


def all_sent(engine: Engine, post_id: int, audience: int) -> Callable[[], bool]:
    """A check: every recipient's email delivery is `sent`."""
    return lambda: email_statuses(engine, post_id) == {SENT: audience}


def slow_down(sink: MaildirHandler, seconds: float) -> None:
    """Make the sink take `seconds` to accept each message, like a loaded mail server."""
    accept = sink.handle_DATA

    async def handle_data(server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        await asyncio.sleep(seconds)
        return await accept(server, session, envelope)

    # aiosmtpd looks the hook up on the handler for each new connection.
    sink.handle_DATA = handle_data  # type: ignore[method-assign]


def seed(pipeline: Pipeline, *, members: int, author_last: bool = False) -> User:
    """Create `members` members and an editor; the author last keeps every chunk full of recipients.

    With the author last, 2,000 members and 500-user chunks make four chunks of 500 recipients
    (and a fifth holding only the author, which sends nothing).
    """
    with pipeline.session() as session:
        if author_last:
            make_audience(session, members=members)
        author = make_user(session, name="Ada Author", email="author@example.com", role=Role.EDITOR)
        if not author_last:
            make_audience(session, members=members)
        return author


async def publish_post(pipeline: Pipeline, author: User, title: str) -> int:
    """Publish through the product's service and dispatcher; the jobs must be queued at once."""
    with pipeline.session() as session:
        result = await publish(session, author=author, title=title, content="Body.", dispatcher=TaskiqDispatcher())
    assert result.queued_now
    assert result.post.id is not None
    return result.post.id


async def scheduler_started(pipeline: Pipeline) -> None:
    """Wait until the scheduler is past its start-up (running_pipeline does not wait for it)."""
    log = pipeline.logs / "scheduler.log"
    assert await eventually(lambda: log.exists() and "Startup completed" in log.read_text(), within=60), (
        "scheduler did not start"
    )
