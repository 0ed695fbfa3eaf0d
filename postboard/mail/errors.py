"""Which SMTP failures are worth retrying, and which end a whole connection."""

from dataclasses import dataclass

import aiosmtplib


@dataclass(frozen=True)
class SendFailure:
    """A classified send error: `permanent` fails at once, `connection` dooms the rest of the batch."""

    error: str
    permanent: bool
    connection: bool


def classify(exc: BaseException) -> SendFailure | None:
    """Classify an exception raised while sending; None means it is not a mail error."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients] or [0]
        return SendFailure(text, permanent=min(codes) >= 500, connection=False)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        # 5xx: this address or this message is refused for good; 4xx: try later.
        return SendFailure(text, permanent=exc.code >= 500, connection=False)
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        # Refused sender, lost or timed-out connection, server down: the whole batch waits.
        return SendFailure(text, permanent=False, connection=True)
    return None
