"""An aiosmtpd SMTP sink that stores each message in a Maildir folder."""

import argparse
import mailbox
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """Stores every accepted message, one copy per envelope recipient."""

    def __init__(self, folder: Path) -> None:
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(folder, create=True)
        self._lock = threading.Lock()
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Keep the message; answer 250 as a real server would."""
        content = envelope.original_content or b""
        for rcpt in envelope.rcpt_tos:
            message = mailbox.MaildirMessage(b"X-Envelope-To: " + rcpt.encode() + b"\r\n" + content)
            with self._lock:
                self._box.add(message)
                self.received += 1
        return "250 Message accepted for delivery"


def start_sink(folder: Path, *, host: str = "127.0.0.1", port: int = 8025) -> tuple[Controller, MaildirHandler]:
    """Start the sink on a thread; stop it with `controller.stop()`."""
    handler = MaildirHandler(folder)
    kwargs: dict[str, Any] = {"data_size_limit": 10 * 1024 * 1024}
    controller = Controller(handler, hostname=host, port=port, server_kwargs=kwargs)
    controller.start()
    return controller, handler


def main() -> None:
    """Run the sink in the foreground: `python -m postboard.mailbox.sink --port 8025 --dir var/mailbox`."""
    parser = argparse.ArgumentParser(description="Postboard dev SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    controller, _ = start_sink(args.dir, host=args.host, port=args.port)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
