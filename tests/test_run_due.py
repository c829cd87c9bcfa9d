"""`rabb run-due` against respx: every Late response, backoff, claims and exit codes.

Each test runs the real command in-process on a real SQLite file, with the clock
frozen at NOW. Every createPost body is checked against Late's schema by the route.
"""

import json
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import time_machine

from rabb_cli.publish.due import DueCheck, check_due, format_time
from tests.conftest import Cli, Result
from tests.helpers import query, write_config
from tests.late_respx import (
    API_KEY,
    created,
    error,
    failed_target,
    late_post,
    mock_late,
    published_target,
    route_creates,
)
from tests.late_schema import assert_valid_create_post, body_errors

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def schedule(cli: Cli, text: str, *targets: str, due: datetime = NOW) -> int:
    """Schedule a post at `due` (composed an hour before) and return its id."""
    options = [option for target in targets for option in ("-p", target)]
    with time_machine.travel(due - timedelta(hours=1), tick=False):
        result = cli("schedule", text, *options, "--at", due.isoformat(), "--json")
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["id"])


def run_due(cli: Cli, *args: str, at: datetime = NOW) -> Result:
    with time_machine.travel(at, tick=False):
        return cli("run-due", *args)


def show(cli: Cli, post_id: int) -> dict[str, Any]:
    result = cli("show", str(post_id), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def column(home: Path, post_id: int, name: str) -> Any:
    rows = query(home / "rabb.db", f"SELECT {name} FROM post WHERE id = ?", (post_id,))
    return rows[0][0]


def runs(home: Path) -> list[tuple[Any, ...]]:
    sql = "SELECT status, due, published, failed, error FROM run ORDER BY id"
    return query(home / "rabb.db", sql)


def at_time(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_help_lists_publishing_commands(cli: Cli) -> None:
    result = cli("--help")
    for name in ("run-due", "accounts", "config"):
        assert f"  {name} " in result.stdout
    help_text = cli("run-due", "--help").stdout
    for option in ("--dry-run", "--json", "--verbose"):
        assert option in help_text


# Success


def test_publishes_due_post(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Launch day", "twitter")
    route = route_creates(late, created(late_post("late-1")))
    result = run_due(cli)
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == f"post {post_id}: PUBLISHED twitter https://twitter.example/me/1\n"
    )
    post = show(cli, post_id)
    assert post["status"] == "published"
    assert post["late_post_id"] == "late-1"
    assert post["published_at"] == "2026-06-01T12:00:05Z"
    assert post["attempts"] == 1
    assert post["targets"][0]["url"] == "https://twitter.example/me/1"
    assert post["targets"][0]["status"] == "published"
    assert post["targets"][0]["account_id"] == "acc-x"
    body = json.loads(route.calls.last.request.content)
    assert body["platforms"] == [{"platform": "twitter", "accountId": "acc-x"}]
    assert route.calls.last.request.headers["idempotency-key"].endswith("-r1")
    assert runs(home) == [("ok", 1, 1, 0, None)]


def test_future_post_untouched(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Later", "twitter", due=NOW + timedelta(minutes=1))
    route = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert route.call_count == 0
    assert show(cli, post_id)["status"] == "scheduled"
    assert runs(home) == [("ok", 0, 0, 0, None)]


def test_oldest_post_first(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, "[publish]\nconcurrency = 1\n")
    schedule(cli, "third", "twitter", due=NOW - timedelta(minutes=1))
    schedule(cli, "first", "twitter", due=NOW - timedelta(minutes=30))
    schedule(cli, "second", "twitter", due=NOW - timedelta(minutes=10))
    route = route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 0
    sent = [json.loads(call.request.content)["content"] for call in route.calls]
    assert sent == ["first", "second", "third"]


def test_custom_text_and_media_sent(cli: Cli, late: respx.MockRouter) -> None:
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        cli(
            "schedule", "Main text", "-p", "twitter", "-p", "linkedin",
            "--text-for", "twitter=Short", "--media", "https://example.com/a.png",
            "--at", NOW.isoformat(),
        )  # fmt: skip
    route = route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 0
    body = json.loads(route.calls.last.request.content)
    assert body == {
        "content": "Main text",
        "platforms": [
            {"platform": "twitter", "accountId": "acc-x", "customContent": "Short"},
            {"platform": "linkedin", "accountId": "acc-li"},
        ],
        "mediaItems": [{"type": "image", "url": "https://example.com/a.png"}],
        "publishNow": True,
    }


# Transient failures and backoff


def test_retry_after_seconds(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Busy", "twitter")
    route_creates(late, error(429, "Too many requests", headers={"Retry-After": "600"}))
    result = run_due(cli)
    assert result.exit_code == 0
    assert re.fullmatch(
        rf"post {post_id}: RETRY at 2026-06-01 12:10 UTC, costing no attempt:"
        r" HTTP 429 Too Many Requests: Too many requests\n",
        result.stdout,
    )
    post = show(cli, post_id)
    assert post["status"] == "scheduled"
    # A 429 proves Late created nothing, so it spends no attempt.
    assert post["attempts"] == 0
    assert at_time(post["next_attempt_at"]) >= NOW + timedelta(seconds=600)
    assert post["last_error"] == "HTTP 429 Too Many Requests: Too many requests"
    # A 429 proves Late stored nothing, so the outcome is known.
    assert post["outcome_unknown"] is False


def test_retry_after_http_date(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Maintenance", "twitter")
    moment = NOW + timedelta(minutes=45)
    headers = {"Retry-After": format_datetime(moment, usegmt=True)}
    route_creates(late, error(503, "Down for maintenance", headers=headers))
    assert run_due(cli).exit_code == 0
    post = show(cli, post_id)
    assert at_time(post["next_attempt_at"]) == moment
    assert post["outcome_unknown"] is True


def test_backoff_without_retry_after(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Flaky", "twitter")
    route_creates(late, error(500, "Internal error"))
    assert run_due(cli).exit_code == 0
    next_at = at_time(show(cli, post_id)["next_attempt_at"])
    # First retry: full jitter between 0 and the 30 s base.
    assert NOW <= next_at <= NOW + timedelta(seconds=30)


def test_not_retried_before_next_attempt(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Wait", "twitter")
    route = route_creates(
        late, error(429, "slow", headers={"Retry-After": "300"}), created(late_post())
    )
    run_due(cli)
    assert run_due(cli, at=NOW + timedelta(seconds=299)).exit_code == 0
    assert route.call_count == 1
    assert run_due(cli, at=NOW + timedelta(seconds=301)).exit_code == 0
    assert route.call_count == 2
    assert show(cli, post_id)["status"] == "published"


def test_retry_reuses_key_and_request_id(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Timeout", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"), created(late_post()))
    first = run_due(cli)
    assert first.exit_code == 0
    assert "RETRY" in first.stdout
    assert "no answer from Late within 300s" in first.stdout
    assert show(cli, post_id)["outcome_unknown"] is True
    run_due(cli, at=NOW + timedelta(minutes=5))
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    request_ids = {call.request.headers["x-request-id"] for call in route.calls}
    assert route.call_count == 2
    assert len(keys) == 1
    assert len(request_ids) == 1
    post = show(cli, post_id)
    assert post["status"] == "published"
    assert post["attempts"] == 2
    assert post["outcome_unknown"] is False


def test_gives_up_after_max_attempts(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Never", "twitter")
    route = route_creates(late, error(503, "Unavailable"))
    codes = [
        run_due(cli, at=NOW + timedelta(hours=hour)).exit_code for hour in range(5)
    ]
    assert codes == [0, 0, 0, 3, 0]
    assert route.call_count == 4
    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert post["attempts"] == 4
    assert post["failure_reason"].startswith(
        "gave up after 4 attempts: HTTP 503 Service Unavailable: Unavailable;"
    )
    # Late may have stored the post before its 503, so the reason warns to check first.
    assert "outcome of an attempt is unknown" in post["failure_reason"]
    assert post["targets"][0]["status"] == "failed"


def test_rescheduled_draft_gets_all_attempts(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Again later", "twitter")
    route_creates(late, error(408, "slow"))
    run_due(cli)
    assert show(cli, post_id)["attempts"] == 1
    assert cli("cancel", str(post_id)).exit_code == 0
    with time_machine.travel(NOW, tick=False):
        assert cli("schedule", str(post_id), "--at", "in 1h").exit_code == 0
    stored = show(cli, post_id)
    assert stored["attempts"] == 0
    assert stored["last_error"] is None
    assert stored["next_attempt_at"] is None


def test_max_attempts_from_config(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, "[publish]\nmax_attempts = 2\n")
    post_id = schedule(cli, "Twice", "twitter")
    route_creates(late, error(408, "Request Timeout"))
    assert run_due(cli).exit_code == 0
    result = run_due(cli, at=NOW + timedelta(hours=1))
    assert result.exit_code == 3
    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert "gave up after 2 attempts: HTTP 408" in post["failure_reason"]
    # Nothing ever reached Late, so there is no unknown outcome to warn about.
    assert "unknown" not in post["failure_reason"]
    assert post["outcome_unknown"] is False


# Permanent failures


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (error(400, "Content too long"), "HTTP 400 Bad Request: Content too long"),
        (
            error(403, "Account disconnected", code="ACCOUNT_DISCONNECTED"),
            "HTTP 403 Forbidden: Account disconnected (ACCOUNT_DISCONNECTED)",
        ),
        (error(404, "Account not found"), "HTTP 404 Not Found: Account not found"),
        (error(422, "Invalid media"), "HTTP 422 Unprocessable Entity: Invalid media"),
    ],
)
def test_permanent_failure_at_once(
    cli: Cli, late: respx.MockRouter, response: httpx.Response, message: str
) -> None:
    post_id = schedule(cli, "Rejected", "twitter")
    route = route_creates(late, response)
    result = run_due(cli)
    assert result.exit_code == 3
    assert result.stdout == (
        f"post {post_id}: FAILED Late rejected the post: {message}\n"
    )
    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert post["attempts"] == 1
    assert post["failure_reason"] == f"Late rejected the post: {message}"
    assert post["targets"][0]["status"] == "failed"
    run_due(cli, at=NOW + timedelta(hours=2))
    assert route.call_count == 1


# 401


def test_401_stops_run(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, "[publish]\nconcurrency = 1\n")
    ids = [
        schedule(cli, f"Post {n}", "twitter", due=NOW - timedelta(minutes=n))
        for n in range(3)
    ]
    before = [show(cli, post_id) for post_id in ids]
    route = route_creates(late, error(401, "Unauthorized"))
    result = run_due(cli)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "rabb: error: Late rejected the API key (HTTP 401 Unauthorized). Check"
        " LATE_API_KEY, or late_api_key in config.toml, and create a new key in Late"
        " if it was revoked.\n"
    )
    assert route.call_count == 1
    after = [show(cli, post_id) for post_id in ids]
    assert after == before
    assert runs(home)[-1][0] == "error"


def test_401_spends_no_attempt_in_pool(cli: Cli, late: respx.MockRouter) -> None:
    ids = [schedule(cli, f"Post {n}", "twitter") for n in range(5)]
    route_creates(late, error(401, "Unauthorized"))
    result = run_due(cli)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    for post_id in ids:
        post = show(cli, post_id)
        assert post["status"] == "scheduled"
        assert post["attempts"] == 0
        assert post["next_attempt_at"] is None


def test_401_on_accounts_touches_nothing(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Key", "twitter")
    late.get("/accounts").mock(return_value=error(401, "Unauthorized"))
    route = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr
    assert route.call_count == 0
    assert show(cli, post_id)["status"] == "scheduled"


# 207


def test_207_partial(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Both", "twitter", "linkedin")
    post = late_post(
        "late-2",
        status="partial",
        targets=[
            published_target("twitter", "acc-x"),
            failed_target("linkedin", "acc-li", "Token expired"),
        ],
    )
    route_creates(late, httpx.Response(207, json={"post": post}))
    result = run_due(cli)
    assert result.exit_code == 3
    assert result.stdout == (
        f"post {post_id}: PARTIAL published on twitter https://twitter.example/me/1;"
        " failed on linkedin: Token expired\n"
    )
    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    assert stored["failure_reason"] == "linkedin: Token expired"
    twitter, linkedin = stored["targets"]
    assert twitter["status"] == "published"
    assert linkedin["status"] == "failed"
    assert linkedin["error"] == "Token expired"


def test_207_failed(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "None", "twitter")
    post = late_post(
        status="failed", targets=[failed_target("twitter", "acc-x", "Spam")]
    )
    route_creates(late, httpx.Response(207, json={"post": post}))
    result = run_due(cli)
    assert result.exit_code == 3
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["failure_reason"] == "twitter: Spam"


def test_207_scheduled_followed_up(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Later on Late", "twitter")
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("late-3", status="scheduled", targets=[pending])
    create = route_creates(late, httpx.Response(207, json={"post": waiting}))
    check = late.get("/posts/late-3").mock(
        side_effect=[
            httpx.Response(200, json={"post": waiting}),
            httpx.Response(200, json={"post": late_post("late-3")}),
        ]
    )

    first = run_due(cli)
    assert first.exit_code == 0
    assert first.stdout.startswith(f"post {post_id}: WAITING Late is still publishing")
    stored = show(cli, post_id)
    assert stored["status"] == "publishing"
    assert stored["late_status"] == "scheduled"
    assert at_time(stored["next_attempt_at"]) == NOW + timedelta(seconds=30)
    assert cli("edit", str(post_id), "--text", "x").exit_code == 2
    detail = cli("show", str(post_id)).stdout
    assert "On Late       scheduled; Late keeps publishing it" in detail
    assert "Next check    2026-06-01 12:00 UTC (2026-06-01T12:00:30Z)" in detail

    assert run_due(cli, at=NOW + timedelta(seconds=20)).exit_code == 0
    assert check.call_count == 0
    assert run_due(cli, at=NOW + timedelta(seconds=31)).exit_code == 0
    checked = show(cli, post_id)
    assert checked["status"] == "publishing"
    # The interval between checks doubles: 30 s, then 60 s.
    assert at_time(checked["next_attempt_at"]) == NOW + timedelta(seconds=91)
    assert run_due(cli, at=NOW + timedelta(minutes=5)).exit_code == 0
    assert check.call_count == 2
    assert create.call_count == 1
    done = show(cli, post_id)
    assert done["status"] == "published"
    assert done["targets"][0]["url"] == "https://twitter.example/me/1"


def test_edit_waiting_on_late_explains(cli: Cli, late: respx.MockRouter) -> None:
    """An unclaimed post that Late is still publishing: edit explains what comes."""
    post_id = schedule(cli, "Later on Late", "twitter")
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("late-3", status="scheduled", targets=[pending])
    route_creates(late, httpx.Response(207, json={"post": waiting}))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["status"] == "publishing"

    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        result = cli("edit", str(post_id), "--text", "New words")
    assert result.exit_code == 2
    assert result.stderr == (
        f"rabb: error: post {post_id} is PUBLISHING, so it cannot be edited: Late is"
        f" still publishing it as Late post late-3. See 'rabb show {post_id}' for"
        " its state. The next check on Late is in 20s; checks stop in 47h 59m, and"
        " the post then ends FAILED or PARTIAL if Late has not finished. To publish"
        " other text, compose a new post.\n"
    )
    assert "wait for the run" not in result.stderr
    assert show(cli, post_id)["text"] == "Later on Late"


def test_follow_up_failed_on_late(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Doomed", "twitter")
    waiting = late_post("late-4", status="scheduled", targets=[])
    route_creates(late, httpx.Response(207, json={"post": waiting}))
    failed = late_post(
        "late-4", status="failed", targets=[failed_target("twitter", "acc-x", "Gone")]
    )
    late.get("/posts/late-4").mock(
        return_value=httpx.Response(200, json={"post": failed})
    )
    run_due(cli)
    result = run_due(cli, at=NOW + timedelta(minutes=1))
    assert result.exit_code == 3
    assert show(cli, post_id)["failure_reason"] == "twitter: Gone"


def test_checks_stop_after_max_wait(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A post Late never finishes is not checked for ever; it ends with the note."""
    post_id = schedule(cli, "Stuck on Late", "twitter")
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("late-3", status="scheduled", targets=[pending])
    create = route_creates(late, httpx.Response(207, json={"post": waiting}))
    check = late.get("/posts/late-3").mock(
        return_value=httpx.Response(200, json={"post": waiting})
    )
    assert run_due(cli).exit_code == 0
    for hours in (1, 24, 47):
        assert run_due(cli, at=NOW + timedelta(hours=hours)).exit_code == 0
        assert show(cli, post_id)["status"] == "publishing"

    result = run_due(cli, at=NOW + timedelta(hours=48))

    assert result.exit_code == 3
    assert check.call_count == 4
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["failure_reason"] == (
        "Late never finished publishing post late-3: rabb stopped checking 2d after"
        " Late first reported it unfinished, and Late still reports it as"
        " scheduled; the outcome of an attempt is unknown, so Late may have"
        " published it: check Late before sending it again"
    )
    assert stored["outcome_unknown"] is True
    assert stored["late_post_id"] == "late-3"
    assert stored["next_attempt_at"] is None
    database = home / "rabb.db"
    assert check_due(database, NOW + timedelta(hours=49), LEASE) is (
        DueCheck.NOTHING_DUE
    )
    assert cli("edit", str(post_id), "--text", "Other").exit_code == 2
    with time_machine.travel(NOW + timedelta(hours=49), tick=False):
        planned = cli("retry", str(post_id), "--json", "--dry-run")
    plan = json.loads(planned.stdout)["posts"][0]
    assert plan["method"] == "late_retry"
    assert plan["late_post_id"] == "late-3"
    assert create.call_count == 1


def test_check_4xx_checks_again(cli: Cli, late: respx.MockRouter) -> None:
    """A check that Late answers with a 4xx other than 404 says nothing final."""
    post_id = schedule(cli, "Unreadable for a while", "twitter")
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("late-5", status="scheduled", targets=[pending])
    route_creates(late, httpx.Response(207, json={"post": waiting}))
    check = late.get("/posts/late-5").mock(
        side_effect=[
            error(403, "Forbidden for now"),
            httpx.Response(200, json={"post": late_post("late-5")}),
        ]
    )
    run_due(cli)
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    stored = show(cli, post_id)
    assert stored["status"] == "publishing"
    assert stored["last_error"] == (
        "cannot read post late-5 from Late: HTTP 403 Forbidden: Forbidden for now"
    )
    assert stored["next_attempt_at"] is not None
    assert stored["failure_reason"] is None

    assert run_due(cli, at=NOW + timedelta(minutes=10)).exit_code == 0
    assert check.call_count == 2
    assert show(cli, post_id)["status"] == "published"


def test_check_4xx_ends_at_max_wait(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Never readable", "twitter")
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("late-6", status="scheduled", targets=[pending])
    route_creates(late, httpx.Response(207, json={"post": waiting}))
    late.get("/posts/late-6").mock(return_value=error(403, "Forbidden"))
    run_due(cli)
    assert run_due(cli, at=NOW + timedelta(hours=47)).exit_code == 0
    assert run_due(cli, at=NOW + timedelta(hours=48)).exit_code == 3
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert "the last check failed (cannot read post late-6" in stored["failure_reason"]
    assert stored["outcome_unknown"] is True


# 409


def test_409_duplicate_records_existing(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Again", "twitter")
    details = {"platform": "twitter", "accountId": "acc-x", "existingPostId": "old-9"}
    create = route_creates(
        late, error(409, "This exact content exists", details=details)
    )
    lookup = late.get("/posts/old-9").mock(
        return_value=httpx.Response(200, json={"post": late_post("old-9")})
    )
    result = run_due(cli)
    assert result.exit_code == 0
    assert "Late already has the same content as post old-9" in result.stdout
    assert create.call_count == 1
    assert lookup.call_count == 1
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["late_post_id"] == "old-9"
    assert stored["targets"][0]["url"] == "https://twitter.example/me/1"


def test_409_duplicate_unsent_target_partial(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A 409 for one platform rejects the whole request: the others were not sent.

    Only the results the original Late post has for this post's own targets apply,
    so linkedin, which the original never had, stays unpublished and retryable.
    """
    post_id = schedule(cli, "Good morning", "twitter", "linkedin")
    details = {
        "platform": "twitter",
        "accountId": "acc-x",
        "existingPostId": "late-old",
    }
    create = route_creates(
        late,
        error(
            409,
            "This exact content is already scheduled, publishing, or was posted to"
            " this account within the last 24 hours.",
            details=details,
        ),
    )
    # The earlier Late post went to twitter only.
    late.get("/posts/late-old").mock(
        return_value=httpx.Response(200, json={"post": late_post("late-old")})
    )
    result = run_due(cli)
    assert result.exit_code == 3
    stored = show(cli, post_id)
    twitter, linkedin = stored["targets"]
    assert linkedin["status"] != "published"
    assert linkedin["status"] == "failed"
    assert linkedin["error"] == (
        "not sent: Late rejected the whole request as a duplicate of its post"
        " late-old, which does not go to this account"
    )
    assert twitter["status"] == "published"
    assert twitter["url"] == "https://twitter.example/me/1"
    assert stored["status"] == "partial"
    assert stored["failure_reason"] == (
        "Late already has the same content as post late-old; not sent to linkedin:"
        " Late rejected the whole request"
    )
    assert column(home, post_id, "late_revision") is None

    with time_machine.travel(NOW, tick=False):
        retried = cli("retry", str(post_id), "--json")
    plan = json.loads(retried.stdout)["posts"][0]
    assert plan["method"] == "create_post"
    assert plan["retried"] == ["linkedin"]
    create.side_effect = None
    create.return_value = created(
        late_post("late-new", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli).exit_code == 0
    body = json.loads(create.calls.last.request.content)
    assert body["platforms"] == [{"platform": "linkedin", "accountId": "acc-li"}]
    key = create.calls.last.request.headers["idempotency-key"]
    assert key == f"rabb-{column(home, post_id, 'uid')}-r1-f1"
    assert show(cli, post_id)["status"] == "published"


def test_409_duplicate_other_account_unsent(
    cli: Cli, home: Path, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result for the same platform but another account is not this post's."""
    post_id = schedule(cli, "Same words", "twitter")
    details = {"platform": "twitter", "existingPostId": "late-other"}
    route_creates(late, error(409, "Duplicate", details=details))
    elsewhere = late_post("late-other", targets=[published_target("twitter", "acc-z")])
    late.get("/posts/late-other").mock(
        return_value=httpx.Response(200, json={"post": elsewhere})
    )
    assert run_due(cli).exit_code == 3
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["targets"][0]["status"] == "failed"
    assert stored["targets"][0]["url"] is None


def test_409_duplicate_waits_on_original(cli: Cli, late: respx.MockRouter) -> None:
    """While Late publishes the original, the post waits; its result then applies."""
    post_id = schedule(cli, "Soon", "twitter")
    details = {"platform": "twitter", "accountId": "acc-x", "existingPostId": "old-7"}
    route_creates(late, error(409, "Duplicate", details=details))
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    waiting = late_post("old-7", status="scheduled", targets=[pending])
    # The original also goes to bluesky, which failed there; this post does not.
    done = late_post(
        "old-7",
        status="partial",
        targets=[
            published_target("twitter", "acc-x"),
            failed_target("bluesky", "acc-bsky", "Down"),
        ],
    )
    late.get("/posts/old-7").mock(
        side_effect=[
            httpx.Response(200, json={"post": waiting}),
            httpx.Response(200, json={"post": done}),
        ]
    )
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["status"] == "publishing"
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["targets"][0]["url"] == "https://twitter.example/me/1"


def test_409_duplicate_lookup_fails_waits(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Again", "twitter")
    details = {"platform": "twitter", "accountId": "acc-x", "existingPostId": "old-8"}
    create = route_creates(late, error(409, "Duplicate", details=details))
    late.get("/posts/old-8").mock(
        side_effect=[
            error(503, "Busy"),
            httpx.Response(200, json={"post": late_post("old-8")}),
        ]
    )
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["status"] == "publishing"
    assert run_due(cli, at=NOW + timedelta(minutes=2)).exit_code == 0
    assert show(cli, post_id)["status"] == "published"
    assert create.call_count == 1


def test_409_conflict_costs_no_attempt(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "In process", "twitter")
    conflict = error(
        409,
        "Still processing",
        code="idempotency_conflict",
        headers={"Retry-After": "5"},
    )
    replay = httpx.Response(
        200, json={"message": "Post already exists", "post": late_post()}
    )
    route = route_creates(late, conflict, replay)
    first = run_due(cli, "-v")
    assert first.exit_code == 0
    assert "costing no attempt: " in first.stdout
    assert "attempt 0" not in first.stdout
    assert f"post {post_id}: sent, no attempt spent, next try at " in first.stderr
    assert "attempt 0" not in first.stderr
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["attempts"] == 0
    assert at_time(stored["next_attempt_at"]) >= NOW + timedelta(seconds=5)
    assert stored["outcome_unknown"] is True
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    assert show(cli, post_id)["status"] == "published"
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1


# Lateness and stopped runs


def test_too_late_after_unknown_outcome(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Timed out, then slept", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["outcome_unknown"] is True

    result = run_due(cli, at=NOW + timedelta(hours=25))

    reason = show(cli, post_id)["failure_reason"]
    assert result.exit_code == 3
    assert route.call_count == 1
    assert reason.startswith("not sent again: it was due ")
    assert "Late may have published it" in reason
    assert "not published" not in reason


def test_expired_key_not_sent_again(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A run a day after an unanswered attempt does not send its key again."""
    write_config(home, '[publish]\nmax_lateness = "30d"\n')
    post_id = schedule(cli, "Timed out, then asleep", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"))
    assert run_due(cli).exit_code == 0
    key = route.calls.last.request.headers["idempotency-key"]
    later = NOW + timedelta(days=2)

    plan = run_due(cli, "--dry-run", at=later)
    assert f"post {post_id} (due 2026-06-01 12:00 UTC): would fail:" in plan.stdout
    result = run_due(cli, at=later)

    assert result.exit_code == 3
    assert route.call_count == 1
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["outcome_unknown"] is True
    assert stored["failure_reason"] == (
        f"not sent again: an attempt with idempotency key {key} got no answer 2d"
        " ago, and Late recognizes a key for 24 hours only, so sending it again"
        " could publish it twice: check Late, and if the post is not there, run"
        f" 'rabb retry {post_id} --confirm-unpublished'"
    )


def test_key_reused_within_window(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    """22 hours after the first send, the same key still goes out."""
    write_config(home, '[publish]\nmax_lateness = "30d"\n')
    post_id = schedule(cli, "Timed out, short nap", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"), created(late_post()))
    run_due(cli)
    assert run_due(cli, at=NOW + timedelta(hours=22)).exit_code == 0
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 2
    assert len(keys) == 1
    assert show(cli, post_id)["status"] == "published"


def test_too_late_fails_without_request(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Slept", "twitter", due=NOW - timedelta(hours=25))
    route = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 3
    assert route.call_count == 0
    reason = show(cli, post_id)["failure_reason"]
    assert reason.startswith(
        "not published: it was due 25h ago, more than max_lateness (24h)"
    )
    assert show(cli, post_id)["attempts"] == 0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (
            "3620",
            "wait until 2026-06-01 13:00:20 UTC, after the last time the post may"
            " go out (2026-06-01 13:00:00 UTC, max_lateness 1h after it was due)",
        ),
        (
            "3600.4",
            "wait until 2026-06-01 13:00:00 UTC, just after the last time the post"
            " may go out (max_lateness 1h after it was due)",
        ),
    ],
    ids=["same-minute", "same-second"],
)
def test_wait_just_past_lateness_distinct(
    cli: Cli, home: Path, late: respx.MockRouter, retry_after: str, expected: str
) -> None:
    """Two times that print alike to the minute get seconds, or no second time."""
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Rate limited", "twitter")
    route_creates(
        late, error(429, "Too many requests", headers={"Retry-After": retry_after})
    )
    assert run_due(cli).exit_code == 3
    reason = show(cli, post_id)["failure_reason"]
    assert f"not published: Late asked rabb to {expected};" in reason


def test_wait_past_lateness_fails_now(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A Retry-After that ends after max_lateness ends the post with Late's reason."""
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Rate limited", "twitter")
    route = route_creates(
        late, error(429, "Too many requests", headers={"Retry-After": "7200"})
    )
    result = run_due(cli)
    assert result.exit_code == 3
    reason = (
        "not published: Late asked rabb to wait until 2026-06-01 14:00 UTC, after"
        " the last time the post may go out (2026-06-01 13:00 UTC, max_lateness 1h"
        " after it was due); HTTP 429 Too Many Requests: Too many requests"
    )
    assert result.stdout == f"post {post_id}: FAILED {reason}\n"
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["failure_reason"] == reason
    assert stored["next_attempt_at"] is None
    assert "asleep" not in reason
    run_due(cli, at=NOW + timedelta(hours=3))
    assert route.call_count == 1


def test_capped_retry_after_fails_now(cli: Cli, late: respx.MockRouter) -> None:
    """With the default lateness, a Retry-After cut to 24 hours ends the post too."""
    post_id = schedule(cli, "Daily cap", "twitter", due=NOW - timedelta(minutes=1))
    headers = {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    route_creates(late, error(429, "Daily limit reached", headers=headers))
    assert run_due(cli).exit_code == 3
    reason = show(cli, post_id)["failure_reason"]
    assert reason.startswith(
        "not published: Late asked rabb to wait until 2026-06-02 12:00 UTC, after"
        " the last time the post may go out (2026-06-02 11:59 UTC"
    )
    assert "Daily limit reached" in reason


def test_rate_limit_reset_past_lateness(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A post held back by a used-up rate limit that resets too late ends at once."""
    write_config(home, '[publish]\nconcurrency = 1\nmax_lateness = "1h"\n')
    first = schedule(cli, "First", "twitter", due=NOW - timedelta(minutes=2))
    second = schedule(cli, "Second", "twitter", due=NOW - timedelta(minutes=1))
    reset = NOW + timedelta(hours=2)
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(reset.timestamp())),
    }
    route = route_creates(
        late, httpx.Response(201, json={"post": late_post()}, headers=headers)
    )
    assert run_due(cli).exit_code == 3
    assert route.call_count == 1
    assert show(cli, first)["status"] == "published"
    stored = show(cli, second)
    assert stored["status"] == "failed"
    assert stored["attempts"] == 0
    assert stored["failure_reason"] == (
        "not published: Late asked rabb to wait until 2026-06-01 14:00 UTC, after"
        " the last time the post may go out (2026-06-01 12:59 UTC, max_lateness 1h"
        " after it was due); Late's rate limit is used up"
    )
    assert column(home, second, "claimed_by") is None


def test_backoff_ends_before_lateness(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """rabb never plans its own next attempt after the time it would give up."""
    write_config(
        home,
        '[publish]\nmax_lateness = "2m"\nbackoff_base = "1h"\nbackoff_max = "1h"\n',
    )
    post_id = schedule(cli, "Flaky", "twitter")
    route_creates(late, error(429, "Slow down"))
    assert run_due(cli).exit_code == 0
    next_at = at_time(show(cli, post_id)["next_attempt_at"])
    assert NOW <= next_at <= NOW + timedelta(minutes=2)


def test_too_late_after_error_names_it(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A post that runs out of time between attempts names the error, not sleep."""
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Unlucky", "twitter")
    route = route_creates(late, error(408, "Slow down"))
    assert run_due(cli).exit_code == 0

    plan = run_due(cli, "--dry-run", at=NOW + timedelta(hours=2))
    assert "; attempt 1 had failed: HTTP 408 Request Timeout: Slow down" in (
        plan.stdout
    )
    result = run_due(cli, at=NOW + timedelta(hours=2))
    assert result.exit_code == 3
    assert route.call_count == 1
    assert show(cli, post_id)["failure_reason"] == (
        "not published in time: it was due 2h ago, more than max_lateness (1h), and"
        " attempt 1 of 4 had failed: HTTP 408 Request Timeout: Slow down"
    )


def test_too_late_after_429_names_it(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A post held back by 429s until too late names the 429, with no attempt."""
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Rate limited", "twitter")
    route = route_creates(late, error(429, "Slow down"))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["attempts"] == 0

    plan = run_due(cli, "--dry-run", at=NOW + timedelta(hours=2))
    assert "; the last try had failed before reaching Late: HTTP 429" in plan.stdout
    result = run_due(cli, at=NOW + timedelta(hours=2))
    assert result.exit_code == 3
    assert route.call_count == 1
    assert show(cli, post_id)["failure_reason"] == (
        "not published in time: it was due 2h ago, more than max_lateness (1h), and"
        " the last try had failed before reaching Late: HTTP 429 Too Many Requests:"
        " Slow down"
    )


def test_max_lateness_from_config(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, '[publish]\nmax_lateness = "10m"\n')
    late_id = schedule(cli, "Eleven", "twitter", due=NOW - timedelta(minutes=11))
    fresh_id = schedule(cli, "Nine", "twitter", due=NOW - timedelta(minutes=9))
    route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 3
    assert show(cli, late_id)["status"] == "failed"
    assert show(cli, fresh_id)["status"] == "published"


def stop_run_while_publishing(home: Path, post_id: int, claimed_at: datetime) -> str:
    """Leave the post as a killed run does: PUBLISHING, claimed, outcome unknown."""
    key = f"rabb-{column(home, post_id, 'uid')}-r1"
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "UPDATE post SET status = 'publishing', claimed_by = 'run-99', attempts = 1,"
        " claimed_at = ?, claim_kind = 'create', attempt_key = ?,"
        " attempt_sent_at = ? WHERE id = ?",
        (format_time(claimed_at), key, format_time(claimed_at), post_id),
    )
    connection.commit()
    connection.close()
    return key


def test_stopped_run_resent_after_lease(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Killed", "twitter")
    run_due(cli, "--dry-run")  # Creates the schema without publishing.
    key = stop_run_while_publishing(home, post_id, NOW - timedelta(minutes=10))
    route = route_creates(late, created(late_post()))

    assert run_due(cli).exit_code == 0
    assert route.call_count == 0
    assert show(cli, post_id)["status"] == "publishing"

    assert run_due(cli, at=NOW + timedelta(minutes=6)).exit_code == 0
    assert route.call_count == 1
    assert route.calls.last.request.headers["idempotency-key"] == key
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["attempts"] == 2


def test_lease_from_config(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, '[publish]\nlease = "1m"\n')
    post_id = schedule(cli, "Short lease", "twitter")
    run_due(cli, "--dry-run")
    stop_run_while_publishing(home, post_id, NOW - timedelta(seconds=61))
    route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["status"] == "published"


def test_stopped_last_attempt_fails(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Last", "twitter")
    run_due(cli, "--dry-run")
    stop_run_while_publishing(home, post_id, NOW - timedelta(hours=1))
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET attempts = 4 WHERE id = ?", (post_id,))
    connection.commit()
    connection.close()
    route = route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 3
    assert route.call_count == 0
    assert "stopped before Late answered" in show(cli, post_id)["failure_reason"]


# Accounts at publish time


def test_accounts_fetched_once(cli: Cli, late: respx.MockRouter) -> None:
    for n in range(3):
        schedule(cli, f"Post {n}", "twitter", "bluesky")
    route_creates(late, created(late_post()))
    run_due(cli)
    schedule(cli, "Next", "twitter", due=NOW + timedelta(hours=1))
    run_due(cli, at=NOW + timedelta(hours=1))
    assert late.routes[0].call_count == 1


def test_unknown_account_fails_at_publish(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Who", "twitter:@nobody")
    route = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 3
    assert route.call_count == 0
    reason = show(cli, post_id)["failure_reason"]
    assert reason == (
        "cannot publish to -p twitter:@nobody: no X account '@nobody' is connected"
        " in Late. Choose one: -p twitter; run 'rabb accounts' to refresh the list."
    )


def test_missing_platform_account_fails(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Threads", "threads")
    route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 3
    reason = show(cli, post_id)["failure_reason"]
    assert "no Threads account is connected in Late" in reason
    assert "twitter:@me" in reason


def test_accounts_error_retries_post(cli: Cli, late: respx.MockRouter) -> None:
    """An error that may not pass spends attempts, so the post fails in time."""
    post_id = schedule(cli, "Offline", "twitter")
    late.get("/accounts").mock(return_value=error(404, "Not found"))
    route = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 0
    assert route.call_count == 0
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["attempts"] == 1
    assert "cannot fetch the accounts from Late: HTTP 404" in stored["last_error"]


def test_accounts_unreachable_spends_no_attempt(
    cli: Cli, late: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Offline", "twitter")
    late.get("/accounts").mock(side_effect=httpx.ConnectError("refused"))
    route = route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 0
    assert route.call_count == 0
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["attempts"] == 0
    assert "cannot fetch the accounts from Late: ConnectError" in stored["last_error"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(429, headers={"Retry-After": "600"}, json={"error": "Slow"}),
        httpx.Response(503, json={"error": "Down"}),
        httpx.ReadTimeout("no answer"),
    ],
    ids=["429", "503", "read-timeout"],
)
def test_accounts_busy_spends_no_attempt(
    cli: Cli, late: respx.MockRouter, answer: httpx.Response | Exception
) -> None:
    """A GET of the accounts creates no post, so a passing failure costs nothing."""
    post_id = schedule(cli, "Accounts busy", "twitter")
    accounts = late.get("/accounts")
    if isinstance(answer, Exception):
        accounts.mock(side_effect=answer)
    else:
        accounts.mock(return_value=answer)
    route = route_creates(late, created(late_post()))

    for minutes in range(0, 60, 11):
        assert run_due(cli, at=NOW + timedelta(minutes=minutes)).exit_code == 0

    assert route.call_count == 0
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["attempts"] == 0
    assert "cannot fetch the accounts from Late" in stored["last_error"]


def test_accounts_retry_after_honoured(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Wait for Late", "twitter")
    late.get("/accounts").mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "600"}, json={"error": "Slow"}
        )
    )

    assert run_due(cli).exit_code == 0

    waited = at_time(show(cli, post_id)["next_attempt_at"]) - NOW
    assert waited >= timedelta(minutes=10)


def run_like_cron(cli: Cli, post_id: int, step: timedelta) -> list[Result]:
    """Run run-due every `step` from NOW, as a timer does, until the post settles."""
    results = []
    at = NOW
    for _ in range(100):
        results.append(run_due(cli, at=at))
        post = show(cli, post_id)
        if post["status"] != "scheduled":
            return results
        # The JSON time has whole seconds, so a second more makes the post due.
        at = max(at_time(post["next_attempt_at"]) + timedelta(seconds=1), at + step)
    raise AssertionError("the post never settled")


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("Connection refused"), httpx.ConnectTimeout("timed out")],
    ids=["refused", "connect-timeout"],
)
def test_unreachable_late_retries_until_lateness(
    cli: Cli, home: Path, late: respx.MockRouter, failure: Exception
) -> None:
    """A failure before reaching Late spends no attempt, up to the deadline."""
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Offline a while", "twitter")
    route = route_creates(late, failure)

    results = run_like_cron(cli, post_id, timedelta(minutes=5))
    # More tries than max_attempts (4), each costing no attempt. The backoff is
    # random, so the count of runs is not fixed.
    assert len(results) > 4
    # The last run may come after the deadline and fail the post without a try.
    assert route.call_count >= len(results) - 1
    for result in results[:-1]:
        assert result.exit_code == 0
        assert ", costing no attempt: cannot connect to Late:" in result.stdout
    assert results[-1].exit_code == 3

    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert post["attempts"] == 0
    assert post["outcome_unknown"] is False
    reason = post["failure_reason"]
    assert reason.startswith("not published")
    name = type(failure).__name__
    assert reason.endswith(
        f" before reaching Late: cannot connect to Late: {name}: {failure}"
    )
    assert "max_lateness" in reason


def test_unreachable_at_deadline_names_error(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    write_config(home, '[publish]\nmax_lateness = "1h"\n')
    post_id = schedule(cli, "Offline at the end", "twitter")
    route_creates(late, httpx.ConnectError("Connection refused"))
    result = run_due(cli, at=NOW + timedelta(hours=1))
    assert result.exit_code == 3
    post = show(cli, post_id)
    assert post["attempts"] == 0
    assert post["failure_reason"] == (
        "not published: every try until 2026-06-01 13:00 UTC, max_lateness (1h)"
        " after it was due, failed before reaching Late: cannot connect to Late:"
        " ConnectError: Connection refused"
    )


def test_unreachable_then_back_publishes(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Back online", "twitter")
    refused = httpx.ConnectError("Connection refused")
    route = route_creates(late, *[refused] * 6, created(late_post()))
    results = run_like_cron(cli, post_id, timedelta(minutes=1))
    assert len(results) == 7
    assert route.call_count == 7
    assert results[-1].stdout.startswith(f"post {post_id}: PUBLISHED")
    post = show(cli, post_id)
    assert post["status"] == "published"
    assert post["attempts"] == 1
    # Each create reused no key of an unsent try, so all carry the same key.
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1


def test_read_timeout_still_spends_attempts(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A failure after the request may have reached Late counts, as before."""
    write_config(home, "[publish]\nmax_attempts = 2\n")
    post_id = schedule(cli, "Slow Late", "twitter")
    route_creates(late, httpx.ReadTimeout("no answer"))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["attempts"] == 1
    assert run_due(cli, at=NOW + timedelta(hours=1)).exit_code == 3
    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert post["attempts"] == 2
    assert post["failure_reason"].startswith("gave up after 2 attempts: no answer")


# Output, dry run, keys


def test_dry_run_changes_nothing(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    due_id = schedule(cli, "Due", "twitter")
    schedule(cli, "Not yet", "twitter", due=NOW + timedelta(hours=1))
    late_id = schedule(cli, "Too late", "bluesky", due=NOW - timedelta(days=2))
    database = home / "rabb.db"
    before = database.read_bytes()
    with mock_late() as router:
        result = run_due(cli, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Dry run with the late publisher: 2 posts are due; nothing is sent or changed.",
        f"post {late_id} (due 2026-05-30 12:00 UTC): would fail: due 2d ago, more"
        " than max_lateness (24h)",
        f"post {due_id} (due 2026-06-01 12:00 UTC): would publish to twitter"
        " (attempt 1 of 4)",
    ]
    assert len(router.calls) == 0
    assert database.read_bytes() == before


def test_json_output(cli: Cli, late: respx.MockRouter) -> None:
    ok_id = schedule(cli, "Fine", "twitter", due=NOW - timedelta(minutes=2))
    bad_id = schedule(cli, "Bad", "bluesky", due=NOW - timedelta(minutes=1))

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_valid_create_post(body, request.headers)
        if body["content"] == "Bad":
            return error(400, "Nope")
        return created(late_post("late-ok"))

    late.post("/posts").mock(side_effect=answer)
    result = run_due(cli, "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["due"] == 2
    assert data["failed"] == [bad_id]
    assert data["error"] is None
    by_id = {post["id"]: post for post in data["posts"]}
    assert by_id[ok_id]["action"] == "published"
    assert by_id[ok_id]["urls"] == [
        {"target": "twitter", "url": "https://twitter.example/me/1"}
    ]
    assert by_id[bad_id]["status"] == "failed"
    assert (
        by_id[bad_id]["reason"] == "Late rejected the post: HTTP 400 Bad Request: Nope"
    )


def test_json_when_nothing_due(cli: Cli, late: respx.MockRouter) -> None:
    schedule(cli, "Later", "twitter", due=NOW + timedelta(hours=1))
    data = json.loads(run_due(cli, "--json").stdout)
    assert data["posts"] == []
    assert data["due"] == 0
    assert isinstance(data["run_id"], int)


def test_missing_key_one_line(cli: Cli) -> None:
    result = run_due(cli)
    assert result.exit_code == 1
    assert result.stderr == (
        "rabb: error: no Late API key is set. Set LATE_API_KEY (or ZERNIO_API_KEY),"
        " or late_api_key in config.toml with mode 0600; to publish to JSON files"
        ' instead, set RABB_PUBLISHER=outbox or publisher = "outbox" under [publish].\n'
    )


def test_missing_key_run_recorded(cli: Cli, home: Path) -> None:
    schedule(cli, "Needs a key", "twitter")
    result = run_due(cli)
    rows = query(home / "rabb.db", "SELECT status, error FROM run")
    timer = json.loads(cli("timer", "status", "--json").stdout)
    assert result.exit_code == 1
    assert rows == [("error", "no Late API key is set")]
    assert timer["last_run"]["status"] == "error"


def test_missing_key_creates_no_database(cli: Cli, home: Path) -> None:
    assert run_due(cli).exit_code == 1
    assert not (home / "rabb.db").exists()


def test_verbose_logs_with_timestamps(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Logged", "twitter")
    route_creates(late, created(late_post()))
    result = run_due(cli, "-v")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines
    stamp = r"^2026-06-01T12:00:00Z rabb\[\d+\] (INFO|WARNING) "
    assert all(re.match(stamp, line) for line in lines), lines
    assert any(line.endswith(f"post {post_id}: attempt 1 of 4") for line in lines)
    assert any(line.endswith(f"post {post_id}: published") for line in lines)


def test_log_lines_escape_late_reply(cli: Cli, late: respx.MockRouter) -> None:
    schedule(cli, "Escaped", "twitter")
    route_creates(late, error(500, "<b>\x1b[31mred\x1b]0;title\x07\nforged line</b>"))
    result = run_due(cli, "-v")
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    stamp = r"^2026-06-01T12:00:00Z rabb\[\d+\] [A-Z]+ "
    lines = result.stderr.splitlines()
    assert all(re.match(stamp, line) for line in lines), lines
    assert any("\\x1b[31mred\\x1b]0;title\\x07 forged line" in x for x in lines)


def test_key_never_leaks(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    schedule(cli, "Leak", "twitter")
    route_creates(late, error(500, f"echo: Authorization: Bearer {API_KEY} {API_KEY}"))
    with time_machine.travel(NOW, tick=False):
        result = cli("--debug", "run-due", "-v")
    assert API_KEY not in result.stdout + result.stderr
    assert "***" in result.stdout
    for path in home.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_stored_errors_redacted(
    cli: Cli, home: Path, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exception texts are stored only with every key masked."""
    write_config(home, "[publish]\nconcurrency = 1\n")
    echoed = schedule(cli, "Reset", "twitter", due=NOW - timedelta(minutes=1))
    crashed = schedule(cli, "Crash", "twitter")

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["content"] == "Reset":
            raise httpx.ReadError(f"reset after Authorization: Bearer {API_KEY}")
        raise RuntimeError(f"bug while sending with {API_KEY}")

    late.post("/posts").mock(side_effect=answer)
    assert run_due(cli).exit_code == 0
    assert show(cli, echoed)["last_error"] == (
        "the connection to Late failed: ReadError: reset after Authorization:"
        " Bearer ***"
    )
    assert (
        show(cli, crashed)["last_error"] == "sending failed: bug while sending with ***"
    )

    def broken(self: object, due: object) -> None:
        raise RuntimeError(f"accounts broke with {API_KEY}")

    monkeypatch.setattr("rabb_cli.publish.engine.Engine._prepare_accounts", broken)
    result = run_due(cli, at=NOW + timedelta(hours=1))
    assert result.exit_code == 1
    assert API_KEY not in result.stderr
    [(error,)] = query(
        home / "rabb.db", "SELECT error FROM run WHERE error IS NOT NULL"
    )
    assert error == "RuntimeError: accounts broke with ***"
    for path in home.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_concurrency_bounded(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, "[publish]\nconcurrency = 2\n")
    for n in range(6):
        schedule(cli, f"Parallel {n}", "twitter")
    lock = threading.Lock()
    in_flight = [0]
    peak = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        assert_valid_create_post(json.loads(request.content), request.headers)
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.15)
        with lock:
            in_flight[0] -= 1
        return created(late_post())

    late.post("/posts").mock(side_effect=answer)
    assert run_due(cli).exit_code == 0
    assert peak[0] == 2


# Edits while an outcome is unknown


def test_edit_refused_while_outcome_unknown(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Original", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"), created(late_post()))
    run_due(cli)
    result = cli("edit", str(post_id), "--text", "Changed")
    assert result.exit_code == 2
    assert result.stderr == (
        f"rabb: error: the text, platforms and media of post {post_id} cannot change"
        " now: Late may already have published it, since the outcome of an attempt"
        " is unknown. 'rabb run-due' sends the same content again, which Late"
        " recognizes; to publish other text, compose a new post.\n"
    )
    assert show(cli, post_id)["text"] == "Original"
    # Moving the time changes no content, so it is allowed.
    with time_machine.travel(NOW, tick=False):
        assert cli("edit", str(post_id), "--at", "2026-06-01 12:30").exit_code == 0
    # Cancelling keeps the key, so the draft is still locked.
    assert cli("cancel", str(post_id)).exit_code == 0
    assert cli("edit", str(post_id), "-p", "bluesky").exit_code == 2

    with time_machine.travel(NOW, tick=False):
        assert cli("schedule", str(post_id), "--at", "2026-06-01 12:40").exit_code == 0
    run_due(cli, at=NOW + timedelta(minutes=41))
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1
    assert show(cli, post_id)["status"] == "published"


def test_edit_after_known_failure_gets_new_key(
    cli: Cli, late: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Original", "twitter")
    route = route_creates(
        late, error(429, "slow", headers={"Retry-After": "60"}), created(late_post())
    )
    run_due(cli)
    assert cli("edit", str(post_id), "--text", "Changed").exit_code == 0
    run_due(cli, at=NOW + timedelta(minutes=5))
    first, second = (call.request.headers["idempotency-key"] for call in route.calls)
    assert first.endswith("-r1")
    assert second.endswith("-r2")
    assert json.loads(route.calls.last.request.content)["content"] == "Changed"


# The outbox publisher


def test_outbox_publishes_files(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RABB_PUBLISHER", "outbox")
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        cli(
            "schedule", "To the outbox", "-p", "twitter", "-p", "linkedin:@work",
            "--media", "https://example.com/v.mp4", "--at", NOW.isoformat(),
        )  # fmt: skip

    with mock_late() as router:
        result = run_due(cli)
    assert result.exit_code == 0, result.stderr
    assert len(router.calls) == 0

    files = list((home / "state" / "outbox").glob("*.json"))
    assert len(files) == 1
    assert files[0].name == f"post-1-rabb-{column(home, 1, 'uid')}-r1.json"
    body = json.loads(files[0].read_text())
    assert body_errors(body) == []
    # Without cached accounts, each target is named as it was written.
    assert body["platforms"] == [
        {"platform": "twitter", "accountId": "twitter"},
        {"platform": "linkedin", "accountId": "linkedin:@work"},
    ]

    stored = show(cli, 1)
    url = files[0].as_uri()
    assert stored["status"] == "published"
    assert stored["targets"][0]["url"] == url
    assert result.stdout == f"post 1: PUBLISHED twitter, linkedin:@work {url}\n"


def test_outbox_config_file(cli: Cli, home: Path) -> None:
    write_config(home, '[publish]\npublisher = "outbox"\n')
    schedule(cli, "From config", "bluesky")
    assert run_due(cli).exit_code == 0
    assert show(cli, 1)["status"] == "published"


def test_outbox_folder_blocked_retries(cli: Cli, home: Path) -> None:
    write_config(home, '[publish]\npublisher = "outbox"\n')
    schedule(cli, "Blocked outbox", "bluesky")
    (home / "state").mkdir(parents=True)
    (home / "state" / "outbox").write_text("a file where the folder belongs")

    result = run_due(cli)

    post = show(cli, 1)
    assert result.exit_code == 0, result.stderr
    assert post["status"] == "scheduled"
    assert post["attempts"] == 1
    assert post["next_attempt_at"] is not None
    assert "cannot create the folder" in result.stdout
    assert "internal error" not in result.stderr


# Pacing and claims


def test_used_up_rate_limit_defers_rest(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    write_config(home, "[publish]\nconcurrency = 1\n")
    first = schedule(cli, "First", "twitter", due=NOW - timedelta(minutes=2))
    second = schedule(cli, "Second", "twitter", due=NOW - timedelta(minutes=1))
    reset = NOW + timedelta(minutes=10)
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(reset.timestamp())),
    }
    route = route_creates(
        late, httpx.Response(201, json={"post": late_post()}, headers=headers)
    )
    result = run_due(cli)
    assert result.exit_code == 0
    assert route.call_count == 1
    assert show(cli, first)["status"] == "published"
    deferred = show(cli, second)
    assert deferred["status"] == "scheduled"
    assert deferred["attempts"] == 0
    assert at_time(deferred["next_attempt_at"]) == reset
    assert f"post {second}: DEFERRED until 2026-06-01 12:10 UTC" in result.stdout


def test_claim_taken_once(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    from rabb_cli.config import load_config
    from rabb_cli.paths import resolve_paths
    from rabb_cli.publish.engine import Engine, make_publisher
    from rabb_cli.publish.settings import PublishSettings
    from rabb_cli.store import open_store

    post_id = schedule(cli, "Claim me", "twitter")
    settings = PublishSettings.from_config(load_config(resolve_paths()))
    store = open_store(home / "rabb.db")
    publisher = make_publisher(settings, resolve_paths())
    engines = [Engine(store, publisher, settings, clock=lambda: NOW) for _ in range(2)]
    engines[0].token, engines[1].token = "run-a", "run-b"
    try:
        claims = [engine._claim(post_id) for engine in engines]
    finally:
        publisher.close()
        store.close()
    assert claims[0] is not None
    assert claims[1] is None
    assert column(home, post_id, "claimed_by") == "run-a"
    assert column(home, post_id, "status") == "publishing"


def test_short_lease_warns(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    write_config(home, '[publish]\nlease = "1m"\n')
    schedule(cli, "Warn", "twitter")
    route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 0
    assert "publish.lease (1m) is not longer than publish.timeout (5m)" in result.stderr


def test_list_shows_last_run_on_terminal(
    cli: Cli, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule(cli, "Soon", "twitter", due=NOW + timedelta(hours=1))
    run_due(cli)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        result = cli("list")
    assert result.stdout.splitlines()[-1] == (
        "run-due last ran 2026-06-01 12:00 UTC (2m ago): nothing was due"
    )


def test_dry_run_without_database(cli: Cli, home: Path) -> None:
    result = run_due(cli, "--dry-run", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["posts"] == []
    assert not (home / "rabb.db").exists()
