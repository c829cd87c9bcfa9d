"""A fake Late API on 127.0.0.1, for tests where sockets, timing or processes matter.

It serves POST /v1/posts, GET /v1/posts/{id}, POST /v1/posts/{id}/retry and
GET /v1/accounts from a real `ThreadingHTTPServer` on an ephemeral port, and
deduplicates creates the way Late documents for createPost:

1. `Idempotency-Key`: a repeat of a key whose post exists returns 200 and that post.
   A repeat while the first request is still in process returns 409 with code
   `idempotency_conflict` and `Retry-After`. A key whose first request stored no
   post is processed as new.
2. `x-request-id`, only without an idempotency key: a repeat with the same content
   returns 200 and the original post.
3. The same content for the same account returns 409 with `details.existingPostId`.

Every request is recorded. Every createPost body and its headers are checked with
`tests/late_schema.py`; an invalid request gets a 400 and lands in `schema_errors`.
Tests script single requests with `FakeLate.script`.

A retry publishes the failed platforms of a failed or partial post, as Late's
retryPost does; other posts get 400 (invalid state), or 409 while publishing.
`publications` lists every (post id, platform, account id) the server published,
so a test can check that nothing was published twice.
"""

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.late_schema import body_errors, header_errors

API_KEY = "sk_" + "5e" * 32
POSTS_PATH = "/v1/posts"
ACCOUNTS_PATH = "/v1/accounts"
# Marks an idempotency key whose first request is still in process.
_IN_PROCESS = ""

DEFAULT_ACCOUNTS: list[dict[str, Any]] = [
    {
        "_id": "acc-twitter-1",
        "platform": "twitter",
        "username": "rabbhq",
        "displayName": "Rabb HQ",
        "profileId": {"_id": "profile-1", "name": "Main"},
        "isActive": True,
        "enabled": True,
    },
    {
        "_id": "acc-bluesky-1",
        "platform": "bluesky",
        "username": "rabb.bsky.social",
        "displayName": "Rabb",
        "profileId": "profile-1",
        "isActive": True,
    },
    {
        "_id": "acc-threads-1",
        "platform": "threads",
        "username": "rabbhq",
        "profileId": "profile-1",
        "isActive": True,
    },
]


@dataclass
class Reply:
    """A scripted response to one request, in place of the server's normal behaviour.

    A createPost request is always deduplicated first. Then the post is stored unless
    `store` is False, and the scripted status (or the normal response) is sent. Without
    a status, a post that was not stored gets a 503.
    """

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before responding; for createPost, after storing the post.
    delay: float = 0.0
    # Wait for this event before responding, after the delay if there is one.
    hold: threading.Event | None = None
    store: bool = True
    # Close the connection without any response.
    drop: bool = False
    # Status of the stored post: published, partial, failed or scheduled.
    post_status: str = "published"


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class FakeLate:
    """The fake server and its state; use it as a context manager."""

    def __init__(
        self, api_key: str = API_KEY, accounts: list[dict[str, Any]] | None = None
    ) -> None:
        self.api_key = api_key
        self.accounts = list(DEFAULT_ACCOUNTS if accounts is None else accounts)
        self.posts: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.rate_limit = {"limit": 600, "remaining": 599}
        self.publications: list[tuple[str, str, str]] = []
        self._keys: dict[str, str] = {}
        self._request_ids: dict[tuple[str, str], str] = {}
        self._fingerprints: dict[tuple[str, str, str], str] = {}
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}
        self._lock = threading.Condition()
        self._busy = 0
        self._holds: list[threading.Event] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )

    # Life cycle

    def __enter__(self) -> "FakeLate":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for event in self._holds:
            event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # Scripting and inspection

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Respond with `replies` to the next requests whose path starts with `path`."""
        with self._lock:
            queue = self._scripts.setdefault((method, path), deque())
            queue.extend(replies)
            self._holds += [reply.hold for reply in replies if reply.hold]

    def recorded(
        self, method: str | None = None, path: str | None = None
    ) -> list[Recorded]:
        with self._lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method)
                and (path is None or request.path == path)
            ]

    def creates(self) -> list[Recorded]:
        """Return the createPost requests received."""
        return self.recorded("POST", POSTS_PATH)

    def set_post_status(self, post_id: str, status: str) -> None:
        """Change a stored post, as Late does when it finishes publishing later."""
        with self._lock:
            post = self.posts[post_id]
            post["status"] = status
            target_status = "published" if status == "published" else status
            for target in post["platforms"]:
                target["status"] = target_status
                if status == "published":
                    target["platformPostUrl"] = _post_url(target["platform"], post_id)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until `condition()` holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the fake Late server")
            time.sleep(0.02)

    def wait_idle(self, timeout: float = 10) -> None:
        """Wait until no request is in process."""
        self.wait_until(lambda: self._busy == 0, timeout)

    # Request handling

    def handle(self, handler: "_Handler", method: str) -> None:
        path = urlsplit(handler.path).path
        headers = {name.lower(): value for name, value in handler.headers.items()}
        body = _read_json(handler)
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body, time.time()))
            self._busy += 1
        try:
            answer = self._answer(method, path, headers, body)
            _write(handler, answer, self._rate_headers())
        finally:
            with self._lock:
                self._busy -= 1

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> _Answer:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return _Answer(401, {"error": "Unauthorized"})
        reply = self._next_reply(method, path)
        if method == "POST" and path == POSTS_PATH:
            return self._create(headers, body, reply)
        if reply.status is not None:
            _wait(reply)
            return _Answer(reply.status, reply.body, reply.headers, reply.drop)
        if method == "GET" and path == ACCOUNTS_PATH:
            return _Answer(
                200, {"accounts": self.accounts, "hasAnalyticsAccess": False}
            )
        if method == "GET" and path.startswith(POSTS_PATH + "/"):
            return self._get_post(path.removeprefix(POSTS_PATH + "/"))
        return self._post_action(method, path)

    def _post_action(self, method: str, path: str) -> _Answer:
        post_id, _, action = path.removeprefix(POSTS_PATH + "/").partition("/")
        if method == "POST" and path.startswith(POSTS_PATH + "/") and action == "retry":
            return self._retry(post_id)
        return _Answer(404, {"error": f"no route {method} {path}"})

    def _next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            for (scripted_method, prefix), queue in self._scripts.items():
                if scripted_method == method and path.startswith(prefix) and queue:
                    return queue.popleft()
        return Reply()

    def _get_post(self, post_id: str) -> _Answer:
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                return _Answer(404, {"error": "Post not found"})
            return _Answer(200, {"post": json.loads(json.dumps(post))})

    def _retry(self, post_id: str) -> _Answer:
        """Publish the failed platforms of a failed or partial post again."""
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                return _Answer(404, {"error": "Post not found"})
            if post["status"] == "publishing":
                return _Answer(409, {"error": "Post is currently publishing"})
            if post["status"] not in ("failed", "partial"):
                return _Answer(400, {"error": "Post is not in a failed state"})
            for index, target in enumerate(post["platforms"]):
                if target["status"] == "failed":
                    target.pop("errorMessage", None)
                    self._publish_target(post_id, target, index)
            post["status"] = "published"
            post["publishedAt"] = _now_text()
            return _Answer(200, {"message": "Post published", "post": post})

    def _publish_target(self, post_id: str, target: dict[str, Any], index: int) -> None:
        """Mark a target published and record the publication. Holds the lock."""
        target["status"] = "published"
        target["platformPostId"] = f"{post_id}-{index}"
        target["platformPostUrl"] = _post_url(target["platform"], post_id)
        target["publishedAt"] = _now_text()
        account = target["accountId"]
        account_id = account["_id"] if isinstance(account, dict) else account
        self.publications.append((post_id, target["platform"], account_id))

    def _create(self, headers: dict[str, str], body: Any, reply: Reply) -> _Answer:
        problems = body_errors(body) + header_errors(headers)
        if problems:
            with self._lock:
                self.schema_errors.extend(problems)
            return _Answer(400, {"error": "; ".join(problems)})
        key = headers.get("idempotency-key", "")
        request_id = headers.get("x-request-id", "")
        with self._lock:
            # Deduplicating and storing in one step, as Late must.
            known = self._deduplicate(key, request_id, body)
            if known is not None:
                return known
            post = self._store(request_id, body, reply)
        try:
            _wait(reply)
        finally:
            with self._lock:
                if key and post is not None:
                    self._keys[key] = post["_id"]
                elif key:
                    self._keys.pop(key, None)
        if reply.drop:
            return _Answer(0, None, drop=True)
        if reply.status is not None:
            scripted = reply.body or {"error": "scripted answer"}
            return _Answer(reply.status, scripted, reply.headers)
        if post is None:
            return _Answer(503, {"error": "The post was not saved"})
        return _created_answer(post)

    def _deduplicate(
        self, key: str, request_id: str, body: dict[str, Any]
    ) -> _Answer | None:
        """Return the answer to a repeated request, or None after reserving the key.

        The caller holds the lock.
        """
        if key in self._keys:
            post_id = self._keys[key]
            if post_id == _IN_PROCESS:
                return _Answer(
                    409,
                    {
                        "error": "A request with this Idempotency-Key is still"
                        " being processed",
                        "code": "idempotency_conflict",
                    },
                    {"Retry-After": "1"},
                )
            return _Answer(
                200,
                {
                    "message": "Post already exists (idempotent retry)",
                    "post": self.posts[post_id],
                },
            )
        content = _content_hash(body)
        if not key and (request_id, content) in self._request_ids:
            post = self.posts[self._request_ids[(request_id, content)]]
            return _Answer(200, {"message": "Post already exists", "post": post})
        for fingerprint in _fingerprints(body):
            existing = self._fingerprints.get(fingerprint)
            if existing:
                return _Answer(
                    409,
                    {
                        "error": "This exact content is already scheduled,"
                        " publishing, or was posted to this account within the"
                        " last 24 hours.",
                        "details": {
                            "platform": fingerprint[0],
                            "accountId": fingerprint[1],
                            "existingPostId": existing,
                        },
                    },
                )
        if key:
            self._keys[key] = _IN_PROCESS
        return None

    def _store(
        self, request_id: str, body: dict[str, Any], reply: Reply
    ) -> dict[str, Any] | None:
        if not reply.store:
            return None
        post = _new_post(body, reply.post_status)
        self.posts[post["_id"]] = post
        for target in post["platforms"]:
            if target["status"] == "published":
                account_id = target["accountId"]["_id"]
                self.publications.append((post["_id"], target["platform"], account_id))
        self._request_ids[(request_id, _content_hash(body))] = post["_id"]
        for fingerprint in _fingerprints(body):
            self._fingerprints[fingerprint] = post["_id"]
        return post

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.rate_limit["limit"]),
            "X-RateLimit-Remaining": str(self.rate_limit["remaining"]),
            "X-RateLimit-Reset": str(int(time.time()) + 60),
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.fake.handle(self, "GET")  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        self.server.fake.handle(self, "POST")  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _read_json(handler: BaseHTTPRequestHandler) -> Any:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"unreadable": raw.decode("utf-8", "replace")}


def _write(
    handler: BaseHTTPRequestHandler, answer: _Answer, extra: dict[str, str]
) -> None:
    if answer.drop:
        handler.close_connection = True
        return
    data = json.dumps(answer.body if answer.body is not None else {}).encode()
    try:
        handler.send_response(answer.status)
        for name, value in {**extra, **answer.headers}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        # The client gave up (a timeout, or a killed process) before the answer.
        handler.close_connection = True


def _wait(reply: Reply) -> None:
    if reply.delay:
        time.sleep(reply.delay)
    if reply.hold is not None:
        reply.hold.wait(timeout=60)


def _new_post(body: dict[str, Any], status: str) -> dict[str, Any]:
    post_id = secrets.token_hex(12)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    targets = []
    for index, item in enumerate(body["platforms"]):
        target_status = _target_status(status, index)
        target: dict[str, Any] = {
            "platform": item["platform"],
            "accountId": {"_id": item["accountId"], "platform": item["platform"]},
            "status": target_status,
        }
        if target_status == "published":
            target["platformPostId"] = f"{post_id}-{index}"
            target["platformPostUrl"] = _post_url(item["platform"], post_id)
            target["publishedAt"] = now
        elif target_status == "failed":
            target["errorMessage"] = f"{item['platform']} refused the post"
        targets.append(target)
    post: dict[str, Any] = {
        "_id": post_id,
        "content": body.get("content", ""),
        "status": status,
        "platforms": targets,
        "createdAt": now,
    }
    if status == "published":
        post["publishedAt"] = now
    return post


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _target_status(post_status: str, index: int) -> str:
    if post_status == "partial":
        return "published" if index == 0 else "failed"
    if post_status == "scheduled":
        return "pending"
    return post_status


def _created_answer(post: dict[str, Any]) -> _Answer:
    if post["status"] == "published":
        return _Answer(201, {"message": "Post published successfully", "post": post})
    results = [
        {
            "platform": target["platform"],
            "status": target["status"],
            "error": target.get("errorMessage"),
        }
        for target in post["platforms"]
    ]
    return _Answer(
        207,
        {
            "message": "Post created but publishing did not fully succeed",
            "post": post,
            "platformResults": results,
        },
    )


def _post_url(platform: str, post_id: str) -> str:
    return f"https://{platform}.example/posts/{post_id}"


def _content_hash(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True)


def _fingerprints(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    media = " ".join(item.get("url", "") for item in body.get("mediaItems") or [])
    return [
        (
            item["platform"],
            item["accountId"],
            (item.get("customContent") or body.get("content", "")) + "|" + media,
        )
        for item in body.get("platforms") or []
    ]
