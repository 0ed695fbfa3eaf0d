"""Long-wait alerts: when a queue's oldest waiting job is too old, tell the admins once per incident."""

import logging
import time
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from postboard import names
from postboard.mail.render import render_text_email
from postboard.mail.transport import MailTransport
from postboard.monitor.store import JobStore, QueueFigures
from postboard.notifications.service import notify_users
from postboard.settings import Settings
from postboard.users.models import Role, User

log = logging.getLogger(__name__)
QUEUES_PATH = "/queues"


@dataclass(frozen=True)
class Alert:
    """One opened incident."""

    queue: str
    oldest_wait: float
    threshold: float

    @property
    def title(self) -> str:
        """The notification title."""
        return f"Queue {self.queue!r} is backed up"

    @property
    def body(self) -> str:
        """The notification text."""
        return (
            f"The oldest waiting job on {self.queue!r} has waited {self.oldest_wait:.0f} s "
            f"(alert threshold {self.threshold:.0f} s). Check the workers on the queue monitor."
        )


async def check_long_waits(
    store: JobStore,
    session: Session,
    *,
    settings: Settings,
    queues: tuple[str, ...],
    transport: MailTransport,
) -> list[Alert]:
    """Open an incident (and alert) for each queue past its threshold; close those that recovered."""
    opened: list[Alert] = []
    for queue in queues:
        figures = await store.queue_figures(queue)
        threshold = settings.long_wait_threshold(queue)
        if figures.oldest_wait <= threshold:
            await store.redis.delete(names.alert_key(queue))
            continue
        # One alert per incident: only the watcher that creates the key sends it.
        if not await store.redis.set(names.alert_key(queue), str(time.time()), nx=True):
            continue
        alert = Alert(queue=queue, oldest_wait=figures.oldest_wait, threshold=threshold)
        try:
            await _tell_admins(session, alert, figures, settings=settings, transport=transport)
        except Exception:
            await store.redis.delete(names.alert_key(queue))  # let the retry open it again
            raise
        opened.append(alert)
    return opened


async def _tell_admins(
    session: Session, alert: Alert, figures: QueueFigures, *, settings: Settings, transport: MailTransport
) -> None:
    admins = session.exec(select(User.id, User.email).where(col(User.role) == Role.ADMIN)).all()
    notify_users(
        session,
        user_ids=[uid for uid, _ in admins if uid is not None],
        title=alert.title,
        body=alert.body,
        url=QUEUES_PATH,
    )
    log.warning("%s: %s", alert.title, alert.body)
    link = settings.app_url.rstrip("/") + QUEUES_PATH
    text = (
        f"{alert.body}\n\nDepth {figures.depth}, in flight {figures.in_flight}, workers {figures.workers}.\n\n{link}\n"
    )
    email = await render_text_email(subject=f"[Postboard] {alert.title}", text=text, settings=settings)
    incident = uuid.uuid4().hex[:12]
    async with transport:
        for _, address in admins:
            raw = email.for_recipient(address=address, message_id=f"<alert-{incident}.{address}@postboard>")
            await transport.send(sender=email.sender, recipient=address, raw=raw)
