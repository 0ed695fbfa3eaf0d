"""A real local HTTP server for channel tests: records every request, answers as each path is told."""

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from postboard.dev.services import free_port


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """Return the body as UTF-8 text."""
        return self.body.decode()


@dataclass(frozen=True)
class Reply:
    """What the server answers on one path; `delay` seconds before answering (for timeouts)."""

    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        recorder = self.server.recorder
        recorder.record(request)
        reply = recorder.reply_for(parts.path)
        if reply.delay and recorder.stopping.wait(reply.delay):
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test): nothing left to answer.
            return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    recorder: "HttpRecorder"

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class HttpRecorder:
    """`with HttpRecorder() as server:` a threaded server on 127.0.0.1; `server.url(path)` to call it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._replies: dict[str, Reply] = {}
        self._default = Reply()
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/") -> str:
        """Return the absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(
        self,
        path: str,
        status: int = 200,
        body: bytes | str = b"ok",
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer requests to `path` with this status, body and headers from now on."""
        data = body.encode() if isinstance(body, str) else body
        with self._changed:
            self._replies[path] = Reply(status, data, dict(headers or {}), delay)

    def reply_for(self, path: str) -> Reply:
        """Return the configured answer of `path` (200 `ok` unless told otherwise)."""
        with self._changed:
            return self._replies.get(path, self._default)

    def record(self, request: RecordedRequest) -> None:
        """Keep one received request and wake anyone waiting for it."""
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until `count` requests arrived (e.g. sent by a worker process); return them all."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)

    def start(self) -> None:
        """Listen and serve on a background thread."""
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.recorder = self
        # A short poll keeps `stop` (shutdown waits one poll) fast across many tests.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-recorder", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, release delayed handlers and close the socket."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
