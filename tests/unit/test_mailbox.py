"""The dev SMTP sink over a real SMTP conversation, and the mailbox reader."""

from pathlib import Path

import aiosmtplib

from postboard.dev.services import free_port
from postboard.mailbox.service import clear, count_messages, list_messages, read_message
from postboard.mailbox.sink import start_sink

RAW = (
    "From: a@example.com\r\nTo: b@example.com\r\nSubject: Hello there\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nplain body\r\n'
    "--b1\r\nContent-Type: text/html\r\n\r\n<p>html body</p>\r\n--b1--\r\n"
)


async def test_sink_captures_and_mailbox_lists_newest_first(tmp_path: Path) -> None:
    port = free_port()
    controller, handler = start_sink(tmp_path, port=port)
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
            await smtp.sendmail("a@example.com", ["b@example.com"], RAW)
            await smtp.sendmail("a@example.com", ["c@example.com"], RAW.replace("Hello there", "Second"))
    finally:
        controller.stop()
    assert handler.received == 2
    assert count_messages(tmp_path) == 2
    listed = list_messages(tmp_path)
    assert [(m.recipient, m.subject) for m in listed] == [("c@example.com", "Second"), ("b@example.com", "Hello there")]
    opened = read_message(tmp_path, key=listed[1].key)
    assert opened is not None
    assert "<p>html body</p>" in opened.html
    assert "plain body" in opened.text
    assert read_message(tmp_path, key="../etc/passwd") is None
    assert clear(tmp_path) == 2
