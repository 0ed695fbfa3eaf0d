"""The dev SMS box at /smsbox (admins): what the capture provider stored, newest first, one on click."""

from dataclasses import dataclass

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ObjectVar

from postboard.channels.smsbox import CapturedSms, clear, count_messages, list_messages, read_message
from postboard.settings import get_settings
from postboard.web import routes
from postboard.web.components.layout import page
from postboard.web.components.platform import confirm, list_table, open_button, platform_tabs
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState

SHOWN = 100


@dataclass
class SmsRow:
    """One captured text message."""

    key: str = ""
    recipient: str = ""
    sender: str = ""
    body: str = ""
    event: str = ""
    sent_at: str = ""
    segments: int = 0


def _sms_row(sms: CapturedSms) -> SmsRow:
    return SmsRow(
        key=sms.key,
        recipient=sms.to,
        sender=sms.sender,
        body=sms.body,
        event=sms.event,
        sent_at=sms.sent_at.isoformat(),
        segments=sms.segments,
    )


class SmsBoxState(AppState):
    """The captured messages and the one open."""

    messages: Field[list[SmsRow]] = field(default_factory=list)
    total: Field[int] = field(0)
    opened: Field[SmsRow] = field(default_factory=SmsRow)

    @event
    def load(self) -> None:
        """List the newest captured messages."""
        if self.is_admin:
            self._reload()

    def _reload(self) -> None:
        folder = get_settings().sms_dir
        self.total = count_messages(folder)
        self.messages = [_sms_row(m) for m in list_messages(folder, limit=SHOWN)]

    @event
    def open(self, key: str) -> None:
        """Show one message in full."""
        sms = read_message(get_settings().sms_dir, key=key)
        if sms is None or not self.is_admin:
            return
        self.opened = _sms_row(sms)

    @event
    def clear_all(self) -> EventSpec | None:
        """Delete every captured message."""
        if not self.is_admin:
            return None
        removed = clear(get_settings().sms_dir)
        self.opened = SmsRow()
        self._reload()
        return rx.toast.info(f"{removed} message(s) deleted.")


def _viewer() -> rx.Component:
    sms = SmsBoxState.opened
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        sms.key != "",
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("message-square", size=18),
                    rx.heading("To ", sms.recipient, size="4"),
                    rx.badge(sms.segments.to(str) + " segment(s)", variant="soft"),
                    align="center",
                    spacing="2",
                ),
                rx.text("From ", sms.sender, " · event ", rx.code(sms.event), size="2", color_scheme="gray"),
                # A phone-like bubble: what the recipient would read.
                rx.box(
                    rx.text(sms.body, size="3", white_space="pre-wrap"),
                    padding="0.8em 1em",
                    border_radius="16px 16px 16px 4px",
                    background=rx.color("gray", 3),
                    max_width="28rem",
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
    )


def _row(sms: ObjectVar[SmsRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(sms.recipient, variant="ghost")),
        rx.table.cell(open_button(rx.text(sms.body, truncate=True, max_width="32rem"), SmsBoxState.open(sms.key))),
        rx.table.cell(rx.code(sms.event, variant="ghost", size="1")),
        rx.table.cell(sms.segments),
        rx.table.cell(rx.moment(sms.sent_at, from_now=True, style={"fontSize": "13px"})),
        data_testid="sms-row",
        align="center",
    )


def smsbox_page() -> rx.Component:
    """The SMS box route (admins)."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.text(
                    SmsBoxState.total,
                    " text messages captured by the dev SMS provider (SMS_PROVIDER=capture); newest 100 shown.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("refresh-cw", size=14), "Refresh", variant="soft", size="1", on_click=SmsBoxState.load
                    ),
                    confirm(
                        rx.button(rx.icon("trash-2", size=14), "Clear", variant="soft", color_scheme="red", size="1"),
                        title="Delete every captured message?",
                        description="Only the dev capture store is emptied; nothing was really sent.",
                        action="Delete all",
                        on_confirm=SmsBoxState.clear_all,
                    ),
                    spacing="2",
                ),
                justify="between",
                width="100%",
            ),
            _viewer(),
            list_table(
                SmsBoxState.messages,
                _row,
                heads=("To", "Message", "Event", "Segments", "Sent"),
                empty="No text messages captured yet.",
                icon="message-square",
            ),
            spacing="3",
            width="100%",
        ),
        title="SMS box",
        subnav=platform_tabs(routes.SMSBOX),
    )
