"""A fake Resend API on 127.0.0.1, for tests that run rabb in real processes.

It serves POST /emails from a real `ThreadingHTTPServer` on an ephemeral port. A
repeated `Idempotency-Key` gets the first answer's email id and sends nothing, as
Resend does for 24 hours. Every request is recorded and checked with
`tests/resend_check.py`; an invalid one gets a 422 and lands in `errors`. Tests
script the next answers with `FakeResend.script`.
"""

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.resend_check import email_errors

API_KEY = "re_" + "Fk2" * 11


@dataclass
class Received:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: Any


class FakeResend:
    """The fake server and its state; use it as a context manager."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[Received] = []
        self.errors: list[str] = []
        # The emails sent, by idempotency key: each key sends once.
        self.sent: dict[str, dict[str, Any]] = {}
        self._ids: dict[str, str] = {}
        self._scripts: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )

    def __enter__(self) -> "FakeResend":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, status: int, name: str, message: str) -> None:
        """Reject the next request with a Resend error, sending nothing."""
        body = {"statusCode": status, "name": name, "message": message}
        with self._lock:
            self._scripts.append((status, body))

    def handle(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Received(path, headers, body))
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return 403, _error(403, "invalid_api_key", "API key is invalid")
            if path != "/emails":
                return 404, _error(404, "not_found", f"no route {path}")
            problems = email_errors(body, headers)
            if problems:
                self.errors.extend(problems)
                return 422, _error(422, "validation_error", "; ".join(problems))
            if self._scripts:
                return self._scripts.popleft()
            key = headers["idempotency-key"]
            if key not in self._ids:
                self._ids[key] = str(uuid.uuid4())
                self.sent[key] = body
            return 200, {"id": self._ids[key]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"unreadable": raw.decode("utf-8", "replace")}
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeResend = self.server.fake  # type: ignore[attr-defined]
        status, answer = fake.handle(self.path, headers, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _error(status: int, name: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "name": name, "message": message}
