"""SMTP transport port: one connection, one result per recipient."""

from types import TracebackType
from typing import Protocol, Self

import aiosmtplib

from postboard.settings import Settings


class MailTransport(Protocol):
    """An open connection to a mail server; `send` raises on a refused recipient."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, *, sender: str, recipient: str, raw: bytes) -> None:
        """Send one message to one recipient."""
        ...


class SmtpTransport:
    """A real SMTP connection held for one chunk (aiosmtplib)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_ssl,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )

    async def __aenter__(self) -> Self:
        await self._smtp.connect()
        if self._settings.smtp_username:
            await self._smtp.login(self._settings.smtp_username, self._settings.smtp_password)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except aiosmtplib.SMTPException:
                self._smtp.close()

    async def send(self, *, sender: str, recipient: str, raw: bytes) -> None:
        """Send one message; raises aiosmtplib errors for refusals and broken connections."""
        await self._smtp.sendmail(sender, [recipient], raw)


class MemoryTransport:
    """Test twin: keeps what was sent; `refuse` lists addresses to reject."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.connections = 0
        self._refuse = refuse

    async def __aenter__(self) -> Self:
        self.connections += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def send(self, *, sender: str, recipient: str, raw: bytes) -> None:
        """Record the message, or refuse it like a server would."""
        if recipient in self._refuse:
            raise aiosmtplib.SMTPRecipientRefused(550, "mailbox unavailable", recipient)
        self.sent.append((recipient, raw))
