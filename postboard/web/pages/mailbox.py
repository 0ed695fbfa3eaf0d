"""The dev mailbox: what the SMTP sink captured, newest first, a message on click."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.mailbox.service import count_messages, list_messages, read_message
from postboard.settings import get_settings
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState

MailRow = dict[str, str]


class MailboxState(AppState):
    """The captured messages and the one open."""

    mails: Field[list[MailRow]] = field(default_factory=list)
    total: Field[int] = field(0)
    open_key: Field[str] = field("")
    open_subject: Field[str] = field("")
    open_recipient: Field[str] = field("")
    open_sender: Field[str] = field("")
    open_html: Field[str] = field("")
    open_text: Field[str] = field("")

    @event
    def load(self) -> None:
        """List the newest captured messages."""
        if not self.is_admin:
            return
        folder = get_settings().mailbox_dir
        self.total = count_messages(folder)
        self.mails = [
            {
                "key": m.key,
                "recipient": m.recipient,
                "subject": m.subject,
                "received_at": m.received_at.isoformat(),
            }
            for m in list_messages(folder, limit=100)
        ]

    @event
    def open(self, key: str) -> None:
        """Show one message."""
        mail = read_message(get_settings().mailbox_dir, key=key)
        if mail is None or not self.is_admin:
            return
        self.open_key, self.open_subject = mail.key, mail.subject
        self.open_recipient, self.open_sender = mail.recipient, mail.sender
        self.open_html, self.open_text = mail.html, mail.text


def _row(mail: ObjectVar[MailRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(mail["recipient"]),
        rx.table.cell(rx.link(mail["subject"], href="#", on_click=MailboxState.open(mail["key"]))),
        rx.table.cell(rx.moment(mail["received_at"], from_now=True, style={"fontSize": "13px"})),
        data_testid="mail-row",
    )


def _viewer() -> rx.Component:
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        MailboxState.open_key != "",
        rx.card(
            rx.vstack(
                rx.heading(MailboxState.open_subject, size="4"),
                rx.text("To: ", MailboxState.open_recipient, size="2"),
                rx.text("From: ", MailboxState.open_sender, size="2", color_scheme="gray"),
                rx.cond(
                    MailboxState.open_html != "",
                    rx.fragment(
                        # A sandboxed frame with no permissions: captured HTML cannot run script.
                        rx.el.iframe(
                            src_doc=MailboxState.open_html,
                            sandbox="",
                            title="Rendered message",
                            style={
                                "width": "100%",
                                "height": "480px",
                                "border": "1px solid var(--gray-5)",
                                "borderRadius": "8px",
                                "background": "white",
                            },
                        ),
                        rx.el.details(
                            rx.el.summary("Plain text"),
                            rx.el.pre(MailboxState.open_text, style={"whiteSpace": "pre-wrap"}),
                        ),
                    ),
                    # A plain-text message (an event's email) is shown as it is.
                    rx.el.pre(
                        MailboxState.open_text,
                        style={
                            "whiteSpace": "pre-wrap",
                            "padding": "12px",
                            "border": "1px solid var(--gray-5)",
                            "borderRadius": "8px",
                            "width": "100%",
                        },
                        data_testid="mail-text",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
    )


def mailbox_page() -> rx.Component:
    """The mailbox route (admins)."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.text(
                    MailboxState.total,
                    " messages captured by the dev SMTP sink; newest 100 shown.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.button(
                    rx.icon("refresh-cw", size=14),
                    "Refresh",
                    variant="soft",
                    size="1",
                    on_click=MailboxState.load,
                ),
                justify="between",
                width="100%",
            ),
            _viewer(),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Recipient"),
                        rx.table.column_header_cell("Subject"),
                        rx.table.column_header_cell("Received"),
                    )
                ),
                rx.table.body(rx.foreach(MailboxState.mails, _row)),
                width="100%",
                variant="surface",
            ),
            spacing="3",
            width="100%",
        ),
        title="Mailbox",
    )
