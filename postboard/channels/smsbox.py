"""The dev SMS capture store: one JSON file per message, listed newest first like /mailbox."""

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_KEY = re.compile(r"^[0-9A-Za-z_-]+$")


@dataclass(frozen=True)
class CapturedSms:
    """One captured text message."""

    key: str
    to: str
    sender: str
    body: str
    event: str
    sent_at: datetime
    segments: int


def store_message(folder: Path, *, to: str, sender: str, body: str, event: str, segments: int) -> CapturedSms:
    """Write one message to the store and return it; its key sorts after every earlier one."""
    folder.mkdir(parents=True, exist_ok=True)
    now_ns = time.time_ns()
    key = f"{now_ns:020d}-{uuid.uuid4().hex[:8]}"
    sms = CapturedSms(
        key=key,
        to=to,
        sender=sender,
        body=body,
        event=event,
        sent_at=datetime.fromtimestamp(now_ns / 1e9, tz=UTC),
        segments=segments,
    )
    record = {
        "id": key,
        "to": to,
        "from": sender,
        "body": body,
        "event": event,
        "time": sms.sent_at.isoformat(),
        "segments": segments,
    }
    # Written aside then renamed, so a reader never sees half a message.
    partial = folder / f".{key}.tmp"
    partial.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(partial, folder / f"{key}.json")
    return sms


def _paths(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob("*.json") if not p.name.startswith(".")), reverse=True)


def _load(path: Path) -> CapturedSms | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return CapturedSms(
            key=path.stem,
            to=str(record["to"]),
            sender=str(record["from"]),
            body=str(record["body"]),
            event=str(record.get("event", "")),
            sent_at=datetime.fromisoformat(record["time"]),
            segments=int(record.get("segments", 1)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        # A file deleted by `clear` meanwhile, or not one of ours: not a message.
        return None


def count_messages(folder: Path) -> int:
    """Return how many messages the store holds."""
    return len(_paths(folder))


def list_messages(folder: Path, *, limit: int = 50, offset: int = 0) -> list[CapturedSms]:
    """Return one page of captured messages, newest first."""
    page = _paths(folder)[max(offset, 0) : max(offset, 0) + max(limit, 0)]
    return [sms for sms in map(_load, page) if sms is not None]


def read_message(folder: Path, *, key: str) -> CapturedSms | None:
    """Return one captured message, or None."""
    if not _KEY.match(key):
        return None
    path = folder / f"{key}.json"
    return _load(path) if path.is_file() else None


def clear(folder: Path) -> int:
    """Delete every captured message; return how many."""
    paths = _paths(folder)
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)
