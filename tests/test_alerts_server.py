"""Failure alerts and `rabb retry` end to end: rabb in real processes, with the fake
Late and the fake Resend servers on 127.0.0.1.
"""

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rabb_cli import posts
from rabb_cli.publish.due import format_time
from rabb_cli.store import open_store
from tests.conftest import subprocess_env
from tests.fake_late import API_KEY, FakeLate, Reply
from tests.fake_resend import API_KEY as RESEND_KEY
from tests.fake_resend import FakeResend
from tests.helpers import query, run_rabb, write_config
from tests.resend_respx import ALERTS_CONFIG
from tests.test_run_due_server import HEAVY_MODULES, imported_modules

pytestmark = pytest.mark.slow


@pytest.fixture
def fake_resend() -> Iterator[FakeResend]:
    """A fake Resend API on 127.0.0.1; the test fails if rabb sent a bad request."""
    with FakeResend() as server:
        yield server
    assert not server.errors, server.errors


def servers_env(late: FakeLate, mail: FakeResend) -> dict[str, str]:
    return subprocess_env(
        LATE_API_KEY=API_KEY,
        LATE_BASE_URL=late.base_url,
        RESEND_API_KEY=RESEND_KEY,
        RESEND_API_URL=mail.base_url,
    )


def add_post(home: Path, *platforms: str) -> int:
    """Store a scheduled post due a minute ago, with distinct text."""
    store = open_store(home / "rabb.db")
    try:
        text = f"Announcement {uuid.uuid4().hex[:8]}"
        content = posts.build_content(text, list(platforms))
        due = datetime.now(UTC) - timedelta(minutes=1)
        post = posts.create_post(store, content, due)
    finally:
        store.close()
    assert post.id is not None
    return post.id


def show(post_id: int, env: dict[str, str]) -> dict[str, Any]:
    result = run_rabb("show", str(post_id), "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_rejected_post_alerted_then_retried(
    home: Path, fake_late: FakeLate, fake_resend: FakeResend
) -> None:
    write_config(home, ALERTS_CONFIG)
    post_id = add_post(home, "twitter")
    rejection = {"error": "Text contains a banned link"}
    fake_late.script(
        "POST", "/v1/posts", Reply(status=400, body=rejection, store=False)
    )
    env = servers_env(fake_late, fake_resend)

    first = run_rabb("run-due", env=env)
    assert first.returncode == 3, first.stderr
    assert first.stdout.decode() == (
        f"post {post_id}: FAILED Late rejected the post: HTTP 400 Bad Request: Text"
        " contains a banned link\n"
    )
    assert show(post_id, env)["status"] == "failed"
    assert len(fake_resend.requests) == 1
    [(key, email)] = fake_resend.sent.items()
    uid = query(home / "rabb.db", "SELECT uid FROM post")[0][0]
    assert key == f"rabb-alert-{uid}-1"
    assert email["subject"].startswith(f'rabb: post {post_id} failed: "Announcement')
    assert email["to"] == ["me@example.com"]
    assert f"rabb retry {post_id}" in email["text"]

    again = run_rabb("run-due", env=env)
    assert again.returncode == 0
    assert len(fake_resend.requests) == 1

    retried = run_rabb("retry", str(post_id), env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"twitter with idempotency key rabb-{uid}-r1-f1" in retried.stdout.decode()
    published = run_rabb("run-due", env=env)
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith(f"post {post_id}: PUBLISHED".encode())

    creates = fake_late.creates()
    assert [request.headers["idempotency-key"] for request in creates] == [
        f"rabb-{uid}-r1",
        f"rabb-{uid}-r1-f1",
    ]
    [late_id] = fake_late.posts
    assert fake_late.publications == [(late_id, "twitter", "acc-twitter-1")]
    stored = show(post_id, env)
    assert stored["status"] == "published"
    assert stored["alerts"] == [
        {
            "failure": 1,
            "status": "sent",
            "digest": False,
            "recipient": "me@example.com",
            "resend_id": fake_resend_id(fake_resend, key),
            "error": None,
            "attempts": 1,
            "sent_at": stored["alerts"][0]["sent_at"],
            "next_attempt_at": None,
            "idempotency_key": key,
        }
    ]
    assert len(fake_resend.requests) == 1


def fake_resend_id(server: FakeResend, key: str) -> str:
    return server._ids[key]


def test_partial_retried_on_late_publishes_once(
    home: Path, fake_late: FakeLate, fake_resend: FakeResend
) -> None:
    write_config(home, ALERTS_CONFIG)
    post_id = add_post(home, "twitter", "bluesky")
    fake_late.script("POST", "/v1/posts", Reply(post_status="partial"))
    env = servers_env(fake_late, fake_resend)

    first = run_rabb("run-due", env=env)
    assert first.returncode == 3, first.stderr
    assert first.stdout.startswith(f"post {post_id}: PARTIAL published on".encode())
    [email] = fake_resend.sent.values()
    assert "failed on some platforms" in email["subject"]
    [late_id] = fake_late.posts

    retried = run_rabb("retry", str(post_id), env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"Late retries its post {late_id} on bluesky" in retried.stdout.decode()
    second = run_rabb("run-due", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"post {post_id}: PUBLISHED".encode())

    assert len(fake_late.creates()) == 1
    assert len(fake_late.recorded("POST", f"/v1/posts/{late_id}/retry")) == 1
    assert sorted(fake_late.publications) == [
        (late_id, "bluesky", "acc-bluesky-1"),
        (late_id, "twitter", "acc-twitter-1"),
    ]
    stored = show(post_id, env)
    assert stored["status"] == "published"
    assert [target["status"] for target in stored["targets"]] == [
        "published",
        "published",
    ]
    assert len(fake_resend.requests) == 1


def test_pending_alert_alone_is_due_work(
    home: Path, fake_late: FakeLate, fake_resend: FakeResend
) -> None:
    write_config(home, ALERTS_CONFIG)
    post_id = add_post(home, "twitter")
    fake_late.script("POST", "/v1/posts", Reply(status=400, store=False))
    fake_resend.script(503, "application_error", "Service unavailable")
    env = servers_env(fake_late, fake_resend)
    database = home / "rabb.db"

    assert run_rabb("run-due", env=env).returncode == 3
    assert query(database, "SELECT status, attempts FROM alert_email") == [
        ("pending", 1)
    ]
    # The next attempt is a minute away, so this run has nothing to do.
    modules, waiting = imported_modules("run-due", env=env)
    assert waiting.returncode == 0, waiting.stderr
    assert not set(HEAVY_MODULES) & modules
    assert len(fake_resend.requests) == 1

    past = format_time(datetime.now(UTC) - timedelta(seconds=1))
    connection = sqlite3.connect(database)
    connection.execute("UPDATE alert_email SET next_attempt_at = ?", (past,))
    connection.commit()
    connection.close()
    modules, sending = imported_modules("run-due", env=env)
    assert sending.returncode == 0, sending.stderr
    assert sending.stdout == b""
    assert {"resend", "httpx"} <= modules
    assert len(fake_resend.requests) == 2
    assert query(database, "SELECT status, attempts FROM alert_email") == [("sent", 2)]
    keys = {request.headers["idempotency-key"] for request in fake_resend.requests}
    assert len(keys) == 1
    assert show(post_id, env)["status"] == "failed"

    modules, after = imported_modules("run-due", env=env)
    assert after.returncode == 0
    assert not set(HEAVY_MODULES) & modules
    assert len(fake_resend.requests) == 2


def test_notify_test_against_server(home: Path, fake_resend: FakeResend) -> None:
    write_config(home, ALERTS_CONFIG)
    env = subprocess_env(RESEND_API_KEY=RESEND_KEY, RESEND_API_URL=fake_resend.base_url)
    result = run_rabb("notify", "test", env=env)
    assert result.returncode == 0, result.stderr
    [(key, email)] = fake_resend.sent.items()
    assert result.stdout.decode() == (
        "Resend accepted the test email to me@example.com (Resend email id"
        f" {fake_resend._ids[key]}).\n"
    )
    assert email["subject"] == "rabb: test alert"
    assert key.startswith("rabb-test-")

    wrong = subprocess_env(
        RESEND_API_KEY="re_wrong_key_1234", RESEND_API_URL=fake_resend.base_url
    )
    refused = run_rabb("notify", "test", env=wrong)
    assert refused.returncode == 1
    assert refused.stderr.decode() == (
        "rabb: error: Resend did not send the test email: HTTP 403 invalid_api_key:"
        " API key is invalid. Check RESEND_API_KEY, and that the sender is on a"
        " domain verified in Resend.\n"
    )
    assert b"re_wrong_key_1234" not in refused.stdout + refused.stderr
