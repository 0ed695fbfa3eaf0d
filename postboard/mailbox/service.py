"""Read what the dev SMTP sink captured: newest first, one message rendered on demand."""

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class CapturedMail:
    """One captured message as the mailbox list shows it."""

    key: str
    recipient: str
    subject: str
    received_at: datetime


@dataclass(frozen=True)
class RenderedMail:
    """One captured message opened: headers and both bodies."""

    key: str
    recipient: str
    sender: str
    subject: str
    received_at: datetime
    html: str
    text: str


def _files(folder: Path) -> list[Path]:
    paths: list[Path] = []
    for sub in ("new", "cur"):
        part = folder / sub
        if part.is_dir():
            paths.extend(p for p in part.iterdir() if p.is_file())
    return paths


def _parse(path: Path) -> email.message.EmailMessage:
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def _when(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def count_messages(folder: Path) -> int:
    """Return how many messages the sink holds."""
    return len(_files(folder))


def list_messages(folder: Path, *, limit: int = 100) -> list[CapturedMail]:
    """Return the newest captured messages first."""
    newest = sorted(_files(folder), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)[:limit]
    out: list[CapturedMail] = []
    for path in newest:
        msg = _parse(path)
        out.append(
            CapturedMail(
                key=path.name,
                recipient=str(msg.get("X-Envelope-To") or msg.get("To") or ""),
                subject=str(msg.get("Subject") or "(no subject)"),
                received_at=_when(path),
            )
        )
    return out


def read_message(folder: Path, *, key: str) -> RenderedMail | None:
    """Return one captured message with its HTML and text bodies, or None."""
    if "/" in key or key.startswith("."):
        return None
    path = next((p for p in _files(folder) if p.name == key), None)
    if path is None:
        return None
    msg = _parse(path)
    html = msg.get_body(preferencelist=("html",))
    text = msg.get_body(preferencelist=("plain",))
    return RenderedMail(
        key=key,
        recipient=str(msg.get("X-Envelope-To") or msg.get("To") or ""),
        sender=str(msg.get("From") or ""),
        subject=str(msg.get("Subject") or "(no subject)"),
        received_at=_when(path),
        html=html.get_content() if html is not None else "",
        text=text.get_content() if text is not None else "",
    )


def clear(folder: Path) -> int:
    """Delete every captured message; return how many."""
    paths = _files(folder)
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)
