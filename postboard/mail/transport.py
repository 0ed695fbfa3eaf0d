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
    """Test twin: keeps what was sent, and fails like a server would when told to.

    `refuse`: addresses rejected for good (550); `defer`: addresses told to try later (451);
    `down`: the server cannot be reached; `disconnect_after`: the connection drops after n sends.
    """

    def __init__(
        self,
        refuse: frozenset[str] = frozenset(),
        *,
        defer: frozenset[str] = frozenset(),
        down: bool = False,
        disconnect_after: int | None = None,
    ) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.connections = 0
        self.refuse, self.defer, self.down = refuse, defer, down
        self.disconnect_after = disconnect_after

    async def __aenter__(self) -> Self:
        if self.down:
            raise aiosmtplib.SMTPConnectError("Error connecting to 127.0.0.1 on port 8025: connection refused")
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
        """Record the message, or fail as configured."""
        if self.disconnect_after is not None and len(self.sent) >= self.disconnect_after:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        if recipient in self.refuse:
            raise aiosmtplib.SMTPRecipientRefused(550, "mailbox unavailable", recipient)
        if recipient in self.defer:
            raise aiosmtplib.SMTPRecipientRefused(451, "try again later", recipient)
        self.sent.append((recipient, raw))
