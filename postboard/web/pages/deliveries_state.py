"""The state behind /deliveries: filters, a page of the log, one delivery open, retry."""

from dataclasses import dataclass
from typing import Any

import reflex as rx
from sqlmodel import Session, col, select

from postboard.db import session_scope
from postboard.deliveries.log import get_detail, list_deliveries, retry_delivery, status_counts
from postboard.deliveries.models import Channel, Delivery, DeliveryStatus
from postboard.errors import NotFound, ValidationFailed
from postboard.events.models import Event, EventSource

# As `event_handler`: the state has a field named `event` (the filter).
from postboard.web import deps
from postboard.web.event import event as event_handler
from postboard.web.field import Field, field
from postboard.web.state import AppState

PAGE_SIZE = 25
ALL = "all"
RETRYABLE = (DeliveryStatus.FAILED.value, DeliveryStatus.RETRYING.value)


@dataclass
class DeliveryRow:
    """One delivery as the log shows it."""

    id: int = 0
    created_at: str = ""
    event: str = ""
    event_id: str = ""
    channel: str = ""
    channel_label: str = ""
    recipient: str = ""
    subject: str = ""
    status: str = ""
    attempts: int = 0
    error: str = ""


@dataclass
class AttemptRow:
    """One try of a delivery."""

    number: int
    at: str
    outcome: str
    detail: str
    ms: int


def _event_names(session: Session, event_ids: set[str]) -> dict[str, str]:
    # One query for the page's rows, so the log can say which event each delivery came from.
    rows = session.exec(
        select(Event.id, EventSource.name)
        .join(EventSource, col(EventSource.id) == Event.source_id)
        .where(col(Event.id).in_(event_ids))
    ).all()
    return dict(rows)


def _row(d: Delivery, names: dict[str, str]) -> DeliveryRow:
    return DeliveryRow(
        id=d.id or 0,
        created_at=d.created_at.isoformat(),
        event=names.get(d.event_id or "", "") if d.event_id else f"post #{d.post_id}",
        event_id=d.event_id or "",
        channel=str(d.channel),
        channel_label=Channel(d.channel).label,
        recipient=d.recipient or (f"user #{d.user_id}" if d.user_id else ""),
        subject=d.subject or "",
        status=str(d.status),
        attempts=d.attempts,
        error=d.error or "",
    )


class DeliveriesState(AppState):
    """The filters, the page of rows shown and the delivery open in the dialog."""

    status: Field[str] = field(ALL)
    channel: Field[str] = field(ALL)
    event: Field[str] = field("")
    offset: Field[int] = field(0)
    total: Field[int] = field(0)
    counts: Field[dict[str, int]] = field(default_factory=dict)
    rows: Field[list[DeliveryRow]] = field(default_factory=list)
    open: Field[bool] = field(False)
    detail: Field[DeliveryRow] = field(default_factory=DeliveryRow)
    detail_body: Field[str] = field("")
    attempts: Field[list[AttemptRow]] = field(default_factory=list)

    def _reload(self) -> None:
        # Every filter change lands here: the admin check guards them all.
        if not self.is_admin:
            return
        with session_scope() as session:
            result = list_deliveries(
                session,
                status=DeliveryStatus(self.status) if self.status != ALL else None,
                channel=Channel(self.channel) if self.channel != ALL else None,
                event=self.event.strip() or None,
                limit=PAGE_SIZE,
                offset=self.offset,
            )
            names = _event_names(session, {d.event_id for d in result.rows if d.event_id})
            self.rows = [_row(d, names) for d in result.rows]
            self.total = result.total
            self.counts = status_counts(session)

    @rx.var
    def page_label(self) -> str:
        """Which rows are shown, of how many."""
        if self.total == 0:
            return "No deliveries match."
        return f"{self.offset + 1}–{min(self.offset + PAGE_SIZE, self.total)} of {self.total}"

    @event_handler
    def reread(self) -> None:
        """Deliveries changed: re-read the page shown, filters kept."""
        self._reload()

    @event_handler
    async def load(self) -> None:
        """Read the filters from the address (?event=…&status=…&channel=…) and list the newest."""
        if not self.is_admin:
            return
        query = self.router.url.query_parameters
        self.event = query.get("event", "")
        self.status = query.get("status", ALL) if query.get("status") in {s.value for s in DeliveryStatus} else ALL
        self.channel = query.get("channel", ALL) if query.get("channel") in {c.value for c in Channel} else ALL
        self.offset, self.open = 0, False
        self._reload()
        await self._watch("deliveries")

    @event_handler
    def set_status(self, value: str) -> None:
        """Show one status, or all."""
        self.status, self.offset = value if value in {s.value for s in DeliveryStatus} else ALL, 0
        self._reload()

    @event_handler
    def set_channel(self, value: str) -> None:
        """Show one channel, or all."""
        self.channel, self.offset = value if value in {c.value for c in Channel} else ALL, 0
        self._reload()

    @event_handler
    def set_event(self, value: str) -> None:
        """Show one event (id) or event source (name)."""
        self.event, self.offset = value[:100], 0
        self._reload()

    @event_handler
    def clear_filters(self) -> None:
        """Show everything."""
        self.status, self.channel, self.event, self.offset = ALL, ALL, "", 0
        self._reload()

    @event_handler
    def turn_page(self, step: int) -> None:
        """Newer (-1) or older (+1) rows."""
        self.offset = max(0, min(self.offset + step * PAGE_SIZE, max(self.total - 1, 0)))
        self._reload()

    @event_handler
    def show(self, delivery_id: int) -> Any:
        """Open one delivery with its rendered content and attempts."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                found = get_detail(session, delivery_id=delivery_id)
        except NotFound as exc:
            return rx.toast.error(str(exc))
        d = found.delivery
        self.detail = _row(d, {d.event_id: found.event_name or ""} if d.event_id else {})
        self.detail_body = d.body or ""
        self.attempts = [
            AttemptRow(
                number=a.number,
                at=a.at.strftime("%Y-%m-%d %H:%M:%S"),
                outcome=str(a.outcome),
                detail=a.detail or "",
                ms=a.duration_ms,
            )
            for a in found.attempts
        ]
        self.open = True
        return None

    @event_handler
    def set_open(self, value: bool) -> None:
        """Close the dialog."""
        self.open = value

    @event_handler
    async def retry(self, delivery_id: int) -> Any:
        """Make a failed delivery pending again and queue its job (the same verb as the API's retry)."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                retried = await retry_delivery(session, delivery_id=delivery_id, dispatcher=deps.dispatcher())
        except (ValidationFailed, NotFound) as exc:
            return rx.toast.error(str(exc))
        self.open = False
        self._reload()
        if not retried.queued:
            return rx.toast.warning(
                "Marked pending. The job queue is unreachable right now: it is sent when the queue is back."
            )
        return rx.toast.success("Sent to the queue again.")
