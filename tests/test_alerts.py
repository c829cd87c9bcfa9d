"""Failure alerts in `rabb run-due` against respx: one email per failure, digests,
idempotency keys, Resend errors across runs, and what `rabb show` reports.

Each test runs the real command in-process on a real SQLite file with the clock
frozen. Late and Resend are respx routes that check every request they get.
"""

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import resend
import respx
import time_machine

from rabb_cli.publish.due import DueCheck, check_due, format_time
from tests.conftest import Cli
from tests.helpers import query, write_config
from tests.late_respx import (
    created,
    error,
    failed_target,
    late_post,
    published_target,
)
from tests.late_schema import assert_valid_create_post
from tests.resend_respx import (
    ALERTS_CONFIG,
    RESEND_KEY,
    accepted,
    mock_resend,
    rejected,
    route_emails,
    sent_emails,
    sent_keys,
)
from tests.test_run_due import NOW, run_due, schedule, show

LEASE = timedelta(minutes=15)


@pytest.fixture
def mailer(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """Resend behind respx, with a key, a sender and an alert address set."""
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    write_config(home, ALERTS_CONFIG)
    with mock_resend() as router:
        yield router


def reject_texts(router: respx.MockRouter, *texts: str) -> respx.Route:
    """Reject createPost with a 400 for posts with one of `texts`, else publish."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_valid_create_post(body, request.headers)
        if body["content"] in texts:
            return error(400, "Content rejected")
        return created(late_post())

    return router.post("/posts").mock(side_effect=answer)


def uid(home: Path, post_id: int) -> str:
    rows = query(home / "rabb.db", "SELECT uid FROM post WHERE id = ?", (post_id,))
    return str(rows[0][0])


def email_rows(home: Path) -> list[tuple[Any, ...]]:
    sql = "SELECT status, attempts, resend_id, last_error FROM alert_email ORDER BY id"
    return query(home / "rabb.db", sql)


# One alert per failure


def test_one_email_per_failed_post(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    first = schedule(cli, "First fails", "twitter")
    second = schedule(cli, "Second fails", "twitter", due=NOW + timedelta(hours=1))
    schedule(cli, "Third works", "twitter", due=NOW + timedelta(hours=2))
    reject_texts(late, "First fails", "Second fails")
    route = route_emails(mailer, accepted("email-1"), accepted("email-2"))

    assert run_due(cli).exit_code == 3
    assert route.call_count == 1
    assert run_due(cli, at=NOW + timedelta(hours=1)).exit_code == 3
    assert route.call_count == 2
    assert run_due(cli, at=NOW + timedelta(hours=2)).exit_code == 0
    assert run_due(cli, at=NOW + timedelta(hours=3)).exit_code == 0
    assert route.call_count == 2

    subjects = [email["subject"] for email in sent_emails(route)]
    assert subjects == [
        f'rabb: post {first} failed: "First fails"',
        f'rabb: post {second} failed: "Second fails"',
    ]
    assert sent_keys(route) == [
        f"rabb-alert-{uid(home, first)}-1",
        f"rabb-alert-{uid(home, second)}-1",
    ]
    for email in sent_emails(route):
        assert email["to"] == ["me@example.com"]
        assert email["from"] == "rabb <alerts@example.com>"
    assert email_rows(home) == [
        ("sent", 1, "email-1", None),
        ("sent", 1, "email-2", None),
    ]


def test_idempotency_key_on_request(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Keyed", "twitter")
    reject_texts(late, "Keyed")
    route = route_emails(mailer, accepted())
    run_due(cli)
    key = f"rabb-alert-{uid(home, post_id)}-1"
    assert route.calls.last.request.headers["idempotency-key"] == key
    assert route.calls.last.request.headers["authorization"] == f"Bearer {RESEND_KEY}"
    [alert] = show(cli, post_id)["alerts"]
    assert alert["idempotency_key"] == key
    assert alert["status"] == "sent"
    assert alert["failure"] == 1


def test_digest_for_three_failures(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    texts = ["Alpha post", "Beta post", "Gamma post"]
    ids = [schedule(cli, text, "twitter") for text in texts]
    reject_texts(late, *texts)
    route = route_emails(mailer, accepted("digest-1"))
    result = run_due(cli)
    assert result.exit_code == 3
    assert route.call_count == 1
    [email] = sent_emails(route)
    assert email["subject"] == f"rabb: 3 posts failed ({ids[0]}, {ids[1]} and {ids[2]})"
    for post_id, text in zip(ids, texts, strict=True):
        assert text in email["text"]
        assert f"rabb show {post_id}" in email["text"]
        assert f"rabb retry {post_id}" in email["text"]
        assert text in email["html"]
    assert f"rabb retry {ids[0]} {ids[1]} {ids[2]}" in email["text"]
    assert sent_keys(route)[0].startswith("rabb-alert-digest-")
    for post_id in ids:
        [alert] = show(cli, post_id)["alerts"]
        assert alert["digest"] is True
        assert alert["status"] == "sent"
        assert alert["resend_id"] == "digest-1"
    assert run_due(cli, at=NOW + timedelta(hours=1)).exit_code == 0
    assert route.call_count == 1


def test_two_failures_two_emails(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    schedule(cli, "One", "twitter")
    schedule(cli, "Two", "twitter")
    reject_texts(late, "One", "Two")
    route = route_emails(mailer, accepted())
    run_due(cli)
    assert route.call_count == 2
    assert all("digest" not in key for key in sent_keys(route))


def test_partial_post_gets_alert(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Half way", "twitter", "bluesky")
    post = late_post(
        "late-p",
        status="partial",
        targets=[
            published_target("twitter", "acc-x"),
            failed_target("bluesky", "acc-bsky", "Session expired, please log in"),
        ],
    )
    late.post("/posts").mock(return_value=httpx.Response(207, json={"post": post}))
    route = route_emails(mailer, accepted())
    assert run_due(cli).exit_code == 3
    [email] = sent_emails(route)
    assert email["subject"] == (
        f'rabb: post {post_id} failed on some platforms: "Half way"'
    )
    assert "Reconnect the Bluesky account in Late" in email["text"]
    assert "X: published https://twitter.example/me/1" in email["text"]


# The email


def test_unsent_duplicate_target_alerted(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A post left PARTIAL by a 409 duplicate gets its alert, with the right advice."""
    post_id = schedule(cli, "Good morning", "twitter", "linkedin")
    details = {"platform": "twitter", "accountId": "acc-x", "existingPostId": "old"}
    late.post("/posts").mock(return_value=error(409, "Duplicate", details=details))
    late.get("/posts/old").mock(
        return_value=httpx.Response(200, json={"post": late_post("old")})
    )
    route = route_emails(mailer, accepted())
    assert run_due(cli).exit_code == 3
    [email] = sent_emails(route)
    assert email["subject"] == (
        f'rabb: post {post_id} failed on some platforms: "Good morning"'
    )
    assert (
        "- LinkedIn: LinkedIn was not sent, because Late rejected the whole post when"
        " another platform already had the same text. Retry the post to send it."
        in email["text"]
    )
    assert f"Send it again:   rabb retry {post_id}" in email["text"]


def test_html_escapes_script(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    text = '<script>alert("x")</script> & <b>bold</b>'
    post_id = schedule(cli, text, "twitter")
    reject_texts(late, text)
    route = route_emails(mailer, accepted())
    run_due(cli)
    [email] = sent_emails(route)
    assert "<script>" not in email["html"]
    assert "<b>bold" not in email["html"]
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold"
        in email["html"]
    )
    # The plain-text part is not HTML, so it shows the text as written.
    assert text in email["text"]
    assert f"rabb retry {post_id}" in email["html"]


def test_email_text_time_reason_commands(
    cli: Cli,
    home: Path,
    late: respx.MockRouter,
    mailer: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "Europe/Berlin")
    text = "A long announcement " + "word " * 40
    post_id = schedule(cli, text, "bluesky")
    error_body = {
        "_id": "late-e",
        "status": "failed",
        "platforms": [
            {
                "platform": "bluesky",
                "accountId": "acc-bsky",
                "status": "failed",
                "errorMessage": "The session is no longer valid",
                "errorCategory": "auth_expired",
            }
        ],
    }
    late.post("/posts").mock(
        return_value=httpx.Response(207, json={"post": error_body})
    )
    route = route_emails(mailer, accepted())
    assert run_due(cli).exit_code == 3
    [email] = sent_emails(route)
    body = email["text"]

    assert email["subject"] == (
        f'rabb: post {post_id} failed: "A long announcement word word word word…"'
    )
    # NOW is 12:00 UTC, 14:00 summer time in Berlin.
    assert "Scheduled: 2026-06-01 14:00 CEST (Europe/Berlin)" in body
    assert "Platforms: Bluesky: failed" in body
    assert (
        "- Bluesky: the connection to the Bluesky account has expired. Reconnect the"
        " Bluesky account in Late, then retry the post." in body
    )
    assert "Details: bluesky: The session is no longer valid" in body
    assert f"See the details: rabb show {post_id}" in body
    assert f"Send it again:   rabb retry {post_id}" in body

    shown = body.split("Text:      ")[1].split("\n")[0]
    assert shown == text[:100].rstrip() + "…"
    stored = query(
        home / "rabb.db",
        "SELECT error_category FROM target WHERE post_id = ?",
        (post_id,),
    )
    assert stored == [("auth_expired",)]


# Resend errors


def test_resend_500_then_200_one_email(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Unlucky", "twitter")
    reject_texts(late, "Unlucky")
    route = route_emails(
        mailer,
        rejected(500, "application_error", "Something went wrong"),
        accepted("email-after-500"),
    )
    first = run_due(cli)
    assert first.exit_code == 3
    assert "alert for post 1 not sent: HTTP 500 application_error" in first.stderr
    pending = show(cli, post_id)
    assert pending["status"] == "failed"
    [alert] = pending["alerts"]
    assert alert["status"] == "pending"
    assert alert["attempts"] == 1
    assert alert["error"] == "HTTP 500 application_error: Something went wrong"
    assert re.search(
        r"^Alert +not sent yet: attempt 1 failed \(HTTP 500 application_error:",
        cli("show", str(post_id)).stdout,
        re.M,
    )

    # The next attempt waits one minute; a run before that sends nothing.
    assert run_due(cli, at=NOW + timedelta(seconds=30)).exit_code == 0
    assert route.call_count == 1
    second = run_due(cli, at=NOW + timedelta(minutes=2))
    assert second.exit_code == 0
    assert route.call_count == 2
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 2

    first_email, second_email = sent_emails(route)
    assert first_email == second_email
    assert len(set(sent_keys(route))) == 1
    assert email_rows(home) == [("sent", 2, "email-after-500", None)]
    after = show(cli, post_id)
    assert after["status"] == "failed"
    assert after["failure_reason"] == pending["failure_reason"]
    assert after["alerts"][0]["status"] == "sent"
    assert re.search(
        r"^Alert +sent 2026-06-01 12:02 UTC to me@example.com \(Resend email id"
        r" email-after-500\)",
        cli("show", str(post_id)).stdout,
        re.M,
    )


@pytest.mark.parametrize(
    ("response", "shown"),
    [
        (
            rejected(422, "validation_error", "Invalid `from` field"),
            "HTTP 422 validation_error: Invalid `from` field",
        ),
        (
            rejected(403, "invalid_api_key", "API key is invalid"),
            "HTTP 403 invalid_api_key: API key is invalid",
        ),
        (
            rejected(400, "validation_error", "Bad to"),
            "HTTP 400 validation_error: Bad to",
        ),
        (
            rejected(401, "missing_api_key", "Missing API key"),
            "HTTP 401 missing_api_key: Missing API key in the authorization header.",
        ),
    ],
)
def test_permanent_resend_error_not_retried(
    cli: Cli,
    late: respx.MockRouter,
    mailer: respx.MockRouter,
    response: httpx.Response,
    shown: str,
) -> None:
    post_id = schedule(cli, "Doomed", "twitter")
    reject_texts(late, "Doomed")
    route = route_emails(mailer, response)
    result = run_due(cli)
    assert result.exit_code == 3
    assert f"alert for post 1 failed and is not retried: {shown}" in result.stderr
    for hours in (1, 5, 30):
        run_due(cli, at=NOW + timedelta(hours=hours))
    assert route.call_count == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == shown
    detail = cli("show", str(post_id)).stdout
    # The start of the line: a narrow terminal wraps the rest.
    start = re.escape(shown[:30])
    assert re.search(rf"^Alert +failed, not retried: {start}", detail, re.M)


def test_429_waits_for_retry_after(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Throttled", "twitter")
    reject_texts(late, "Throttled")
    route = route_emails(
        mailer,
        rejected(429, "rate_limit_exceeded", "Too many", {"retry-after": "600"}),
        accepted(),
    )
    run_due(cli)
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "pending"
    assert alert["next_attempt_at"] == "2026-06-01T12:10:00Z"
    run_due(cli, at=NOW + timedelta(minutes=9))
    assert route.call_count == 1
    run_due(cli, at=NOW + timedelta(minutes=11))
    assert route.call_count == 2
    assert show(cli, post_id)["alerts"][0]["status"] == "sent"


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (httpx.ConnectError("refused"), "cannot reach Resend: ConnectError: refused"),
        (httpx.ReadTimeout("slow"), "no answer from Resend within 30s (ReadTimeout)"),
    ],
)
def test_transport_error_retried(
    cli: Cli,
    late: respx.MockRouter,
    mailer: respx.MockRouter,
    failure: Exception,
    shown: str,
) -> None:
    post_id = schedule(cli, "Offline", "twitter")
    reject_texts(late, "Offline")
    route = route_emails(mailer, failure, accepted())
    run_due(cli)
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "pending"
    assert alert["error"] == shown
    run_due(cli, at=NOW + timedelta(minutes=5))
    assert route.call_count == 2
    assert len(set(sent_keys(route))) == 1
    assert show(cli, post_id)["alerts"][0]["status"] == "sent"


def test_transient_error_gives_up_later(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A 5xx may come after Resend sent the email, so the key window ends it."""
    post_id = schedule(cli, "Never mailed", "twitter")
    reject_texts(late, "Never mailed")
    route = route_emails(mailer, rejected(503, "application_error", "Down"))
    run_due(cli)
    for hours in (2, 12, 23):
        run_due(cli, at=NOW + timedelta(hours=hours))
    assert show(cli, post_id)["alerts"][0]["status"] == "pending"
    result = run_due(cli, at=NOW + timedelta(hours=25))
    note = (
        "not sent again: an earlier attempt got no clear answer, so Resend may have"
        " sent it, and Resend recognizes the email's idempotency key for 24h only,"
        " so another attempt could deliver a second copy (last error: HTTP 503"
        " application_error: Down)"
    )
    assert f"failed and is not retried: {note}" in result.stderr
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == note
    run_due(cli, at=NOW + timedelta(hours=30))
    assert route.call_count == 4
    assert check_due(home / "rabb.db", NOW + timedelta(days=3), LEASE) is (
        DueCheck.NOTHING_DUE
    )


def test_unknown_alert_not_resent_after_window(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """An email whose first attempt timed out may have been delivered.

    Once Resend has forgotten the key (24 h), another attempt could deliver a
    second copy, so the email is marked failed instead.
    """
    post_id = schedule(cli, "Timed out alert", "twitter")
    reject_texts(late, "Timed out alert")
    route = route_emails(mailer, httpx.ReadTimeout("slow"), accepted())
    run_due(cli)
    assert route.call_count == 1
    database = home / "rabb.db"
    # The machine sleeps for two days; the next run finds the email pending.
    dry_run = run_due(cli, "--dry-run", at=NOW + timedelta(hours=48))
    assert "would be sent" not in dry_run.stdout
    result = run_due(cli, at=NOW + timedelta(hours=48))
    assert route.call_count == 1
    assert "alert for post 1 failed and is not retried: not sent again" in (
        result.stderr
    )
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"].startswith(
        "not sent again: an earlier attempt got no clear answer"
    )
    assert alert["error"].endswith(
        "(last error: no answer from Resend within 30s (ReadTimeout))"
    )
    detail = cli("show", str(post_id)).stdout
    assert re.search(r"^Alert +failed, not retried: not sent again", detail, re.M)
    assert check_due(database, NOW + timedelta(hours=49), LEASE) is (
        DueCheck.NOTHING_DUE
    )


def stop_while_sending(home: Path, claimed_at: datetime) -> None:
    """Leave the email as a run does that stopped while sending it."""
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "UPDATE alert_email SET claimed_by = 'run-9', claimed_at = ?,"
        " attempts = attempts + 1",
        (format_time(claimed_at),),
    )
    connection.commit()
    connection.close()


def test_stopped_send_not_resent_after_window(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A run stopped while sending may have sent it: no takeover after 24 h."""
    post_id = schedule(cli, "Stopped mid-send", "twitter")
    reject_texts(late, "Stopped mid-send")
    route = route_emails(mailer, rejected(429, "rate_limit_exceeded", "Slow"))
    run_due(cli)
    stop_while_sending(home, NOW + timedelta(minutes=5))
    run_due(cli, at=NOW + timedelta(hours=48))
    assert route.call_count == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"].startswith("not sent again: an earlier attempt")


def test_taken_over_claim_marks_unknown(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """Within the window a stale claim is taken over, and counts as maybe sent."""
    schedule(cli, "Taken over", "twitter")
    reject_texts(late, "Taken over")
    route = route_emails(
        mailer,
        rejected(429, "rate_limit_exceeded", "Slow"),
        rejected(429, "rate_limit_exceeded", "Slow"),
        accepted(),
    )
    run_due(cli)
    stop_while_sending(home, NOW + timedelta(minutes=5))
    run_due(cli, at=NOW + timedelta(minutes=21))
    assert route.call_count == 2
    rows = query(home / "rabb.db", "SELECT status, outcome_unknown FROM alert_email")
    assert rows == [("pending", 1)]
    # Now a run after the window must not send it.
    run_due(cli, at=NOW + timedelta(hours=25))
    assert route.call_count == 2
    [(status,)] = query(home / "rabb.db", "SELECT status FROM alert_email")
    assert status == "failed"


def test_unsent_alert_sent_late(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """An email that no attempt can have sent (a 429) still goes out late."""
    post_id = schedule(cli, "Throttled, then asleep", "twitter")
    reject_texts(late, "Throttled, then asleep")
    route = route_emails(
        mailer, rejected(429, "rate_limit_exceeded", "Slow"), accepted("late-one")
    )
    run_due(cli)
    [(unknown,)] = query(home / "rabb.db", "SELECT outcome_unknown FROM alert_email")
    assert unknown == 0
    assert run_due(cli, "--dry-run", at=NOW + timedelta(hours=48)).stdout == (
        "1 failure alert would be sent by email.\n"
    )
    run_due(cli, at=NOW + timedelta(hours=48))
    assert route.call_count == 2
    assert len(set(sent_keys(route))) == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "sent"
    assert alert["resend_id"] == "late-one"


def test_unsent_alert_tried_once_late(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Always throttled", "twitter")
    reject_texts(late, "Always throttled")
    route = route_emails(mailer, rejected(429, "rate_limit_exceeded", "Slow"))
    run_due(cli)
    for hours in (2, 12, 23):
        run_due(cli, at=NOW + timedelta(hours=hours))
    result = run_due(cli, at=NOW + timedelta(hours=25))
    assert route.call_count == 5
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == (
        "gave up after 5 attempts in 25h: HTTP 429 rate_limit_exceeded: Slow"
    )
    assert "failed and is not retried: gave up after 5 attempts" in result.stderr
    run_due(cli, at=NOW + timedelta(hours=30))
    assert route.call_count == 5


def test_resend_failure_keeps_exit_code(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    published = schedule(cli, "Fine", "twitter")
    failed = schedule(cli, "Broken", "twitter")
    reject_texts(late, "Broken")
    route_emails(mailer, httpx.ConnectError("refused"))
    result = run_due(cli, "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["failed"] == [failed]
    assert data["alerts"] == [
        {
            "email_id": 1,
            "posts": [failed],
            "digest": False,
            "status": "pending",
            "resend_id": None,
            "error": "cannot reach Resend: ConnectError: refused",
            "next_attempt_at": "2026-06-01T12:01:00Z",
        }
    ]
    assert show(cli, published)["status"] == "published"
    assert show(cli, failed)["status"] == "failed"


# Retried posts, stopped runs, turned-off alerts


def test_retried_post_failing_again_new_alert(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Twice unlucky", "twitter")
    reject_texts(late, "Twice unlucky")
    route = route_emails(mailer, accepted())
    run_due(cli)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert cli("retry", str(post_id)).exit_code == 0
    run_due(cli, at=NOW + timedelta(hours=1))
    run_due(cli, at=NOW + timedelta(hours=2))
    assert route.call_count == 2
    prefix = f"rabb-alert-{uid(home, post_id)}"
    assert sent_keys(route) == [f"{prefix}-1", f"{prefix}-2"]
    alerts = show(cli, post_id)["alerts"]
    assert [alert["failure"] for alert in alerts] == [1, 2]
    assert show(cli, post_id)["failures"] == 2


def test_alert_left_by_stopped_run_sent(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Orphan", "twitter")
    reject_texts(late, "Orphan")
    route = route_emails(mailer, accepted())
    run_due(cli)
    # Leave the database as a run that stopped after recording the failure does.
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("DELETE FROM alert_email")
    connection.execute("UPDATE alert SET alert_email_id = NULL, run_id = 99")
    connection.commit()
    connection.close()
    database = home / "rabb.db"

    assert (
        check_due(database, NOW + timedelta(minutes=5), LEASE) is DueCheck.NOTHING_DUE
    )
    run_due(cli, at=NOW + timedelta(minutes=5))
    assert route.call_count == 1
    assert check_due(database, NOW + timedelta(minutes=16), LEASE) is DueCheck.DUE
    run_due(cli, at=NOW + timedelta(minutes=16))
    assert route.call_count == 2
    assert len(set(sent_keys(route))) == 1
    assert show(cli, post_id)["alerts"][0]["status"] == "sent"
    assert check_due(database, NOW + timedelta(hours=1), LEASE) is DueCheck.NOTHING_DUE


def test_superseded_orphan_not_sent(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Moved on", "twitter")
    reject_texts(late, "Moved on")
    route = route_emails(mailer, accepted())
    run_due(cli)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("DELETE FROM alert_email")
    connection.execute("UPDATE alert SET alert_email_id = NULL, run_id = 99")
    connection.execute("UPDATE post SET status = 'published'")
    connection.commit()
    connection.close()
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == (
        "not sent: the post was retried or deleted before the alert went out"
    )


def fail_then_publish(
    cli: Cli, late: respx.MockRouter, texts: list[str], published: list[int]
) -> list[int]:
    """Fail one post per text in one run, then retry and publish `published`.

    The retries and their run happen within the minute before a pending alert
    email is due again.
    """
    ids = [schedule(cli, text, "twitter") for text in texts]
    route = reject_texts(late, *texts)
    assert run_due(cli).exit_code == 3
    if published:
        with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
            assert cli("retry", *map(str, published)).exit_code == 0
        route.side_effect = None
        route.return_value = created(late_post())
        assert run_due(cli, at=NOW + timedelta(seconds=20)).exit_code == 0
    return ids


def test_pending_alert_dropped_after_publish(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """An alert waiting after a Resend error never goes out for a published post."""
    route = route_emails(mailer, rejected(500, "application_error", "Down"))
    [post_id] = fail_then_publish(cli, late, ["Stale alert"], [1])
    assert show(cli, post_id)["status"] == "published"
    assert route.call_count == 1
    route.side_effect = None
    route.return_value = accepted()

    assert check_due(home / "rabb.db", NOW + timedelta(minutes=3), LEASE) is (
        DueCheck.DUE
    )
    result = run_due(cli, "-v", at=NOW + timedelta(minutes=3))
    assert result.exit_code == 0
    assert route.call_count == 1
    note = "not sent: post 1 was published before the alert went out"
    assert f"alert for post 1 {note}" in result.stderr
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == note
    assert re.search(rf"^Alert +{note}$", cli("show", str(post_id)).stdout, re.M)
    database = home / "rabb.db"
    assert check_due(database, NOW + timedelta(hours=1), LEASE) is DueCheck.NOTHING_DUE
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 1


def test_pending_alert_dropped_after_delete(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    route = route_emails(mailer, rejected(500, "application_error", "Down"), accepted())
    [post_id] = fail_then_publish(cli, late, ["Deleted soon"], [])
    assert cli("delete", str(post_id), "--yes").exit_code == 0
    assert run_due(cli, at=NOW + timedelta(minutes=3)).exit_code == 0
    assert route.call_count == 1
    assert email_rows(home) == [
        ("failed", 1, None, "not sent: the post was deleted before the alert went out")
    ]


def test_retried_post_alert_dropped(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A post retried for later is no longer failed, so its old alert is moot."""
    route = route_emails(mailer, rejected(500, "application_error", "Down"), accepted())
    [post_id] = fail_then_publish(cli, late, ["Later"], [])
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        assert cli("retry", str(post_id), "--at", "in 2h").exit_code == 0
    assert run_due(cli, at=NOW + timedelta(minutes=3)).exit_code == 0
    assert route.call_count == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["error"] == "not sent: post 1 was retried before the alert went out"


def test_digest_requeued_without_published(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A digest that Resend certainly never sent is rebuilt for the posts still
    failed, under new keys, because its own key must keep its content."""
    route = route_emails(
        mailer, rejected(429, "rate_limit_exceeded", "Too many"), accepted()
    )
    texts = ["Alpha post", "Beta post", "Gamma post"]
    first, second, third = fail_then_publish(cli, late, texts, [1])
    assert route.call_count == 1
    [digest] = sent_emails(route)
    assert "Alpha post" in digest["text"]

    assert run_due(cli, at=NOW + timedelta(minutes=3)).exit_code == 0
    assert route.call_count == 3
    later = sent_emails(route)[1:]
    assert [email["subject"] for email in later] == [
        f'rabb: post {second} failed: "Beta post"',
        f'rabb: post {third} failed: "Gamma post"',
    ]
    assert all("Alpha post" not in email["text"] for email in later)
    assert sent_keys(route)[1:] == [
        f"rabb-alert-{uid(home, second)}-1",
        f"rabb-alert-{uid(home, third)}-1",
    ]
    [dropped] = show(cli, first)["alerts"]
    assert dropped["status"] == "failed"
    assert dropped["error"] == (
        f"not sent: post {first} was published before the alert went out, so the"
        f" alert for posts {second}, {third} went into a new email"
    )
    for post_id in (second, third):
        [alert] = show(cli, post_id)["alerts"]
        assert alert["status"] == "sent"
        assert alert["digest"] is False
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 3


def test_possibly_sent_digest_not_rebuilt(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    """A digest that a 5xx may have delivered is not sent again in any form."""
    route = route_emails(mailer, rejected(500, "application_error", "Down"), accepted())
    texts = ["Alpha post", "Beta post", "Gamma post"]
    first, second, third = fail_then_publish(cli, late, texts, [1])
    assert run_due(cli, at=NOW + timedelta(minutes=3)).exit_code == 0
    assert route.call_count == 1
    note = (
        f"not sent again: post {first} was published before the alert went out, and"
        " an earlier attempt may have delivered this email already, so no new email"
        f" goes out for posts {second}, {third}"
    )
    for post_id in (first, second, third):
        [alert] = show(cli, post_id)["alerts"]
        assert alert["status"] == "failed"
        assert alert["error"] == note
    assert len(email_rows(home)) == 1


def test_digest_requeued_after_delete(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    route = route_emails(
        mailer, rejected(429, "rate_limit_exceeded", "Too many"), accepted()
    )
    texts = ["Alpha post", "Beta post", "Gamma post"]
    first, second, third = fail_then_publish(cli, late, texts, [])
    assert cli("delete", str(third), "--yes").exit_code == 0
    assert run_due(cli, at=NOW + timedelta(minutes=3)).exit_code == 0
    subjects = [email["subject"] for email in sent_emails(route)[1:]]
    assert subjects == [
        f'rabb: post {first} failed: "Alpha post"',
        f'rabb: post {second} failed: "Beta post"',
    ]
    assert email_rows(home)[0][3] == (
        f"not sent: 1 post was deleted before the alert went out, so the alert for"
        f" posts {first}, {second} went into a new email"
    )


def test_wait_past_lateness_alert_reason(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    write_config(home, ALERTS_CONFIG + '[publish]\nmax_lateness = "1h"\n')
    schedule(cli, "Rate limited", "twitter")
    late.post("/posts").mock(
        return_value=error(429, "Too many requests", headers={"Retry-After": "7200"})
    )
    route = route_emails(mailer, accepted())
    assert run_due(cli).exit_code == 3
    [email] = sent_emails(route)
    assert (
        "- Late asked rabb to wait before sending again (a rate limit, or a"
        " publishing cap of the account), and the wait ends after max_lateness has"
        " passed." in email["text"]
    )
    assert "Late asked rabb to wait until 2026-06-01 14:00 UTC" in email["text"]
    assert "asleep" not in email["text"]


def test_turning_alerts_off_closes_pending(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Quiet now", "twitter")
    reject_texts(late, "Quiet now")
    route = route_emails(mailer, rejected(502, "application_error", "Bad gateway"))
    run_due(cli)
    write_config(home, ALERTS_CONFIG + "on_failure = false\n")
    database = home / "rabb.db"
    assert check_due(database, NOW + timedelta(minutes=2), LEASE) is DueCheck.DUE
    run_due(cli, at=NOW + timedelta(minutes=2))
    assert route.call_count == 1
    [alert] = show(cli, post_id)["alerts"]
    assert alert["status"] == "failed"
    assert alert["error"] == "not sent: failure alerts were turned off"
    assert check_due(database, NOW + timedelta(minutes=3), LEASE) is (
        DueCheck.NOTHING_DUE
    )


def test_two_runs_claim_an_email_once(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    from rabb_cli.publish.alerts import _claim
    from rabb_cli.publish.settings import AlertSettings
    from rabb_cli.store import open_store

    settings = AlertSettings("me@example.com", "rabb <a@example.com>", None, None, "")
    schedule(cli, "Claimed", "twitter")
    reject_texts(late, "Claimed")
    route_emails(mailer, rejected(500, "application_error", "Down"))
    run_due(cli)
    store = open_store(home / "rabb.db")
    later = NOW + timedelta(minutes=5)
    try:
        claims = [
            _claim(store, 1, token, later, LEASE, settings) for token in ("a", "b")
        ]
    finally:
        store.close()
    assert claims[0] is not None
    assert claims[1] is None
    assert query(home / "rabb.db", "SELECT claimed_by, attempts FROM alert_email") == [
        ("a", 2)
    ]


# No alert settings


def test_alerts_off_one_line_a_run(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Silent", "twitter")
    schedule(cli, "Later fine", "twitter", due=NOW + timedelta(hours=1))
    reject_texts(late, "Silent")
    with mock_resend() as router:
        result = run_due(cli)
        published = run_due(cli, at=NOW + timedelta(hours=1))
        quiet = run_due(cli, at=NOW + timedelta(hours=2))
    assert len(router.calls) == 0
    assert result.exit_code == 3
    assert result.stdout.startswith(f"post {post_id}: FAILED")
    assert "alert" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if "alerts" in line]
    assert len(lines) == 1
    assert lines[0].endswith(
        f"WARNING failure alerts are off, so no email was sent for post {post_id};"
        " set an address with 'rabb notify --email ADDRESS'"
    )
    # A run that published a post prints the note once too, in general terms.
    assert published.exit_code == 0
    [note] = published.stderr.splitlines()
    assert note.endswith(
        "WARNING failure alerts are off, so a post that fails sends no email;"
        " set an address with 'rabb notify --email ADDRESS'"
    )
    # A run with nothing due prints nothing, so cron sends no mail for it.
    assert quiet.exit_code == 0
    assert quiet.stdout == ""
    assert quiet.stderr == ""
    assert show(cli, post_id)["alerts"] == []
    detail = cli("show", str(post_id)).stdout
    assert re.search(
        r"^Alert +none: failure alerts are off \(no alerts.email address is set\)",
        detail,
        re.M,
    )


def test_on_failure_false_sends_nothing(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    write_config(home, ALERTS_CONFIG + "on_failure = false\n")
    post_id = schedule(cli, "Off on purpose", "twitter")
    reject_texts(late, "Off on purpose")
    result = run_due(cli)
    assert result.exit_code == 3
    assert "alerts" not in result.stderr
    assert len(mailer.calls) == 0
    # With -v, the run logs why no email went out.
    with time_machine.travel(NOW, tick=False):
        assert (
            cli("schedule", "Off again", "-p", "twitter", "--at", "now").exit_code == 0
        )
    reject_texts(late, "Off again")
    verbose = run_due(cli, "-v")
    assert (
        "failure alerts are off (alerts.on_failure is false), so no email was sent"
        " for post 2" in verbose.stderr
    )
    detail = cli("show", str(post_id)).stdout
    assert "none: failure alerts are off (alerts.on_failure is false)" in detail


def test_missing_key_alert_failed(
    cli: Cli, home: Path, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(home, ALERTS_CONFIG)
    post_id = schedule(cli, "No key", "twitter")
    reject_texts(late, "No key")
    with mock_resend() as router:
        result = run_due(cli)
        run_due(cli, at=NOW + timedelta(hours=1))
    assert len(router.calls) == 0
    assert result.exit_code == 3
    message = (
        "no Resend API key is set: set RESEND_API_KEY, or resend_api_key in"
        " config.toml with mode 0600"
    )
    assert f"alert for post {post_id} failed and is not retried: {message}" in (
        result.stderr
    )
    assert show(cli, post_id)["alerts"][0]["error"] == message


# Secrets and module state


def test_resend_key_never_leaks(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    schedule(cli, "Leaky", "twitter")
    reject_texts(late, "Leaky")
    echo = f"key {RESEND_KEY} is not allowed; Authorization: Bearer {RESEND_KEY}"
    route = route_emails(mailer, rejected(500, "application_error", echo))
    with time_machine.travel(NOW, tick=False):
        result = cli("--debug", "run-due", "-v", "--json")
    [email] = sent_emails(route)
    assert RESEND_KEY not in json.dumps(email)
    assert RESEND_KEY not in result.stdout + result.stderr
    assert "***" in result.stderr
    for path in home.rglob("*"):
        if path.is_file():
            assert RESEND_KEY.encode() not in path.read_bytes(), path
    assert resend.api_key != RESEND_KEY


def test_sdk_state_restored_after_run(
    cli: Cli, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    before = (resend.api_key, resend.api_url, resend.default_http_client)
    schedule(cli, "State", "twitter")
    reject_texts(late, "State")
    route = route_emails(mailer, accepted())
    run_due(cli)
    assert route.call_count == 1
    assert (resend.api_key, resend.api_url, resend.default_http_client) == before


def test_resend_api_url_setting(
    cli: Cli, home: Path, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    monkeypatch.setenv("RESEND_API_URL", "http://127.0.0.1:9/resend/")
    write_config(home, ALERTS_CONFIG)
    schedule(cli, "Elsewhere", "twitter")
    reject_texts(late, "Elsewhere")
    with mock_resend("http://127.0.0.1:9/resend") as router:
        route = route_emails(router, accepted())
        run_due(cli)
    assert route.call_count == 1
    assert str(route.calls.last.request.url) == "http://127.0.0.1:9/resend/emails"


# What a run with only an alert to send does


def test_pending_alert_is_due(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    schedule(cli, "Due alert", "twitter")
    reject_texts(late, "Due alert")
    route_emails(mailer, rejected(500, "application_error", "Down"))
    run_due(cli)
    database = home / "rabb.db"
    [(planned,)] = query(database, "SELECT next_attempt_at FROM alert_email")
    assert planned == format_time(NOW + timedelta(minutes=1))
    assert check_due(database, NOW + timedelta(seconds=59), LEASE) is (
        DueCheck.NOTHING_DUE
    )
    assert check_due(database, NOW + timedelta(minutes=1), LEASE) is DueCheck.DUE


def test_dry_run_counts_alerts(
    cli: Cli, home: Path, late: respx.MockRouter, mailer: respx.MockRouter
) -> None:
    schedule(cli, "Dry", "twitter")
    reject_texts(late, "Dry")
    route = route_emails(mailer, rejected(500, "application_error", "Down"))
    run_due(cli)
    database = home / "rabb.db"
    before = database.read_bytes()
    result = run_due(cli, "--dry-run", at=NOW + timedelta(minutes=2))
    assert result.exit_code == 0
    assert result.stdout == "1 failure alert would be sent by email.\n"
    data = json.loads(
        run_due(cli, "--dry-run", "--json", at=NOW + timedelta(minutes=2)).stdout
    )
    assert data["alerts_due"] == 1
    assert data["posts"] == []
    assert route.call_count == 1
    assert database.read_bytes() == before
