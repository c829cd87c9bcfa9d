"""`rabb retry` against respx: which posts it takes, which key or endpoint the next
run uses, and that a platform already published is never sent again.

Each test runs the real commands in-process on a real SQLite file with the clock
frozen. Late is a set of respx routes that check every createPost request.
"""

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import time_machine

from tests.conftest import Cli, Result
from tests.helpers import query
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
from tests.test_run_due import NOW, column, run_due, schedule, show


def retry(cli: Cli, *args: str, at: Any = NOW) -> Result:
    with time_machine.travel(at, tick=False):
        return cli("retry", *args)


def uid(home: Path, post_id: int) -> str:
    rows = query(home / "rabb.db", "SELECT uid FROM post WHERE id = ?", (post_id,))
    return str(rows[0][0])


def partial_post(late_id: str = "late-2") -> dict[str, Any]:
    return late_post(
        late_id,
        status="partial",
        targets=[
            published_target("twitter", "acc-x"),
            failed_target("linkedin", "acc-li", "Token expired"),
        ],
    )


def make_partial(cli: Cli, late: respx.MockRouter) -> tuple[int, respx.Route]:
    """Publish a post to twitter and linkedin that Late publishes on twitter only."""
    post_id = schedule(cli, "Both ways", "twitter", "linkedin")
    create = route_creates(late, httpx.Response(207, json={"post": partial_post()}))
    assert run_due(cli).exit_code == 3
    assert show(cli, post_id)["status"] == "partial"
    return post_id, create


def make_failed(cli: Cli, late: respx.MockRouter, text: str = "Rejected") -> int:
    """Schedule a post that Late rejects with a 400, run, and forget the request."""
    post_id = schedule(cli, text, "twitter")
    route = route_creates(late, error(400, "Content rejected"))
    assert run_due(cli).exit_code == 3
    assert show(cli, post_id)["status"] == "failed"
    # The next route_creates returns this same route: start its count afresh.
    route.reset()
    return post_id


# PARTIAL: only the platforms that failed


def test_partial_retried_through_late(cli: Cli, late: respx.MockRouter) -> None:
    post_id, create = make_partial(cli, late)
    result = retry(cli, str(post_id))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Post {post_id} is scheduled again for 2026-06-01 12:00 UTC: Late retries"
        " its post late-2 on linkedin; twitter stays published and is not sent"
        " again.",
        "'rabb run-due' publishes it when it is due.",
    ]
    republished = late_post(
        "late-2",
        targets=[
            published_target("twitter", "acc-x"),
            published_target("linkedin", "acc-li"),
        ],
    )
    late_retry = late.post("/posts/late-2/retry").mock(
        return_value=httpx.Response(
            200, json={"message": "Post published", "post": republished}
        )
    )

    result = run_due(cli)
    assert result.exit_code == 0, result.stderr
    assert late_retry.call_count == 1
    assert create.call_count == 1

    stored = show(cli, post_id)
    assert stored["status"] == "published"
    twitter, linkedin = stored["targets"]
    assert twitter["status"] == "published"
    assert linkedin["status"] == "published"
    assert linkedin["url"] == "https://linkedin.example/me/1"
    assert stored["failure_reason"] is None


def test_partial_edited_sends_failed_only(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "--text", "Both ways, better").exit_code == 0
    result = retry(cli, str(post_id))
    assert result.exit_code == 0
    key = f"rabb-{uid(home, post_id)}-r2-f1"
    assert f"linkedin with idempotency key {key}" in result.stdout
    create.side_effect = None
    create.return_value = created(
        late_post("late-9", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli).exit_code == 0
    body = json.loads(create.calls.last.request.content)
    assert body["platforms"] == [{"platform": "linkedin", "accountId": "acc-li"}]
    assert body["content"] == "Both ways, better"
    assert create.calls.last.request.headers["idempotency-key"] == key
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["targets"][0]["url"] == "https://twitter.example/me/1"
    assert stored["late_post_id"] == "late-9"


def test_partial_failing_again_stays_partial(cli: Cli, late: respx.MockRouter) -> None:
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "--text", "Edited").exit_code == 0
    retry(cli, str(post_id))
    create.side_effect = None
    create.return_value = error(
        403, "Account disconnected", code="ACCOUNT_DISCONNECTED"
    )
    result = run_due(cli)
    assert result.exit_code == 3
    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    twitter, linkedin = stored["targets"]
    assert twitter["status"] == "published"
    assert twitter["url"] == "https://twitter.example/me/1"
    assert linkedin["status"] == "failed"
    assert stored["failures"] == 2


def test_refused_late_retry_creates_failed_only(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id, create = make_partial(cli, late)
    retry(cli, str(post_id))
    refused = late.post("/posts/late-2/retry").mock(
        return_value=error(400, "Post is not in a failed state")
    )
    late.get("/posts/late-2").mock(
        return_value=httpx.Response(200, json={"post": partial_post()})
    )
    result = run_due(cli)
    assert result.exit_code == 0
    assert refused.call_count == 1
    waiting = show(cli, post_id)
    assert waiting["status"] == "scheduled"
    assert waiting["attempts"] == 0
    assert "Late refused to retry post late-2: HTTP 400" in waiting["last_error"]

    create.side_effect = None
    create.return_value = created(
        late_post("late-3", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    assert refused.call_count == 1
    body = json.loads(create.calls.last.request.content)
    assert body["platforms"] == [{"platform": "linkedin", "accountId": "acc-li"}]
    key = create.calls.last.request.headers["idempotency-key"]
    assert key == f"rabb-{uid(home, post_id)}-r1-f1"
    assert show(cli, post_id)["status"] == "published"


def test_late_retry_409_waits_for_late(cli: Cli, late: respx.MockRouter) -> None:
    post_id, create = make_partial(cli, late)
    retry(cli, str(post_id))
    late.post("/posts/late-2/retry").mock(
        return_value=error(409, "Post is currently publishing")
    )
    republished = late_post(
        "late-2",
        targets=[
            published_target("twitter", "acc-x"),
            published_target("linkedin", "acc-li"),
        ],
    )
    check = late.get("/posts/late-2").mock(
        return_value=httpx.Response(200, json={"post": republished})
    )
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["status"] == "publishing"
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    assert check.call_count == 1
    assert create.call_count == 1
    assert show(cli, post_id)["status"] == "published"


def test_late_retry_404_recreates_next_time(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id, create = make_partial(cli, late)
    retry(cli, str(post_id))
    late.post("/posts/late-2/retry").mock(return_value=error(404, "Post not found"))
    assert run_due(cli).exit_code == 3
    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    assert "Late has no post late-2 any more" in stored["failure_reason"]

    result = retry(cli, str(post_id))
    key = f"rabb-{uid(home, post_id)}-r1-f2"
    assert f"linkedin with idempotency key {key}" in result.stdout
    create.side_effect = None
    create.return_value = created(
        late_post("late-4", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli).exit_code == 0
    assert json.loads(create.calls.last.request.content)["platforms"] == [
        {"platform": "linkedin", "accountId": "acc-li"}
    ]
    assert show(cli, post_id)["status"] == "published"


class KilledRun:
    """A respx side effect: the run is killed while Late processes the request.

    respx records no call that raised KeyboardInterrupt, so the requests are kept
    here.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise KeyboardInterrupt


def test_killed_edited_create_resent(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A run killed while creating the edited post is followed by the same create.

    The post still names the Late post of its earlier, PARTIAL revision, which must
    not be read in place of the create whose outcome is unknown.
    """
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "--text", "Both ways, better").exit_code == 0
    assert retry(cli, str(post_id)).exit_code == 0
    key = f"rabb-{uid(home, post_id)}-r2-f1"
    killed = create.side_effect = KilledRun()
    assert run_due(cli).exit_code == 130
    assert column(home, post_id, "status") == "publishing"
    assert column(home, post_id, "attempt_key") == key
    [in_flight] = killed.requests
    assert in_flight.headers["idempotency-key"] == key
    sent = json.loads(in_flight.content)

    old = late.get("/posts/late-2").mock(
        return_value=httpx.Response(200, json={"post": partial_post()})
    )
    create.side_effect = None
    create.return_value = created(
        late_post("late-9", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli, at=NOW + timedelta(minutes=20)).exit_code == 0

    assert old.call_count == 0
    assert create.call_count == 2
    assert create.calls.last.request.headers["idempotency-key"] == key
    assert json.loads(create.calls.last.request.content) == sent
    assert sent["content"] == "Both ways, better"
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["late_post_id"] == "late-9"
    assert column(home, post_id, "late_revision") == 2


def test_killed_edited_create_retried_with_key(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """After the resent create also goes unanswered, `rabb retry` sends it again.

    It plans a create of the edited text with the unknown attempt's key, never a
    retry of the Late post of the earlier revision.
    """
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "--text", "Both ways, better").exit_code == 0
    assert retry(cli, str(post_id)).exit_code == 0
    key = f"rabb-{uid(home, post_id)}-r2-f1"
    create.side_effect = KilledRun()
    assert run_due(cli).exit_code == 130
    old = late.get("/posts/late-2").mock(
        return_value=httpx.Response(200, json={"post": partial_post()})
    )
    create.side_effect = httpx.ReadTimeout("no answer")
    for minutes in (20, 60, 120):
        run_due(cli, at=NOW + timedelta(minutes=minutes))
    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    assert stored["outcome_unknown"] is True
    assert stored["failure_reason"].startswith("gave up after 4 attempts: no answer")

    result = retry(cli, str(post_id), "--json", at=NOW + timedelta(hours=3))
    assert result.exit_code == 0
    plan = json.loads(result.stdout)["posts"][0]
    assert plan["method"] == "create_post"
    assert plan["idempotency_key"] == key
    assert plan["outcome_unknown"] is True

    create.side_effect = None
    create.return_value = created(
        late_post("late-9", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli, at=NOW + timedelta(hours=3)).exit_code == 0
    assert old.call_count == 0
    assert create.calls.last.request.headers["idempotency-key"] == key
    body = json.loads(create.calls.last.request.content)
    assert body["content"] == "Both ways, better"
    assert show(cli, post_id)["status"] == "published"


def test_unknown_late_retry_blocks_edit(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A retry request to Late without an answer keeps the content as it is.

    Late may be publishing linkedin with the current text, so new text must not go
    out as a new post.
    """
    post_id, create = make_partial(cli, late)
    assert retry(cli, str(post_id)).exit_code == 0
    late_retry = late.post("/posts/late-2/retry").mock(
        side_effect=httpx.ReadTimeout("no answer")
    )
    assert run_due(cli).exit_code == 0
    assert late_retry.call_count == 1
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["outcome_unknown"] is True

    result = cli("edit", str(post_id), "--text", "New words")
    assert result.exit_code == 2
    assert result.stderr == (
        f"rabb: error: the text, platforms and media of post {post_id} cannot change"
        " now: Late may still publish its post late-2, since a request to Late got"
        " no answer or Late had not finished publishing it. 'rabb run-due' asks"
        " Late to retry its post, which Late never publishes twice; to publish"
        " other text, compose a new post.\n"
    )
    assert show(cli, post_id)["text"] == "Both ways"

    create.side_effect = None
    create.return_value = created(
        late_post("late-5", targets=[published_target("linkedin", "acc-li")])
    )
    run_due(cli, at=NOW + timedelta(hours=1))
    bodies = [json.loads(call.request.content) for call in create.calls]
    assert [body["content"] for body in bodies] == ["Both ways"]
    assert late_retry.call_count == 2


def test_unknown_late_retry_gives_up_unknown(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id, create = make_partial(cli, late)
    assert retry(cli, str(post_id)).exit_code == 0
    late_retry = late.post("/posts/late-2/retry").mock(
        side_effect=httpx.ReadTimeout("no answer")
    )
    for hour in range(4):
        run_due(cli, at=NOW + timedelta(hours=hour))
    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    # Every retry request got no answer, so Late may have published linkedin.
    assert stored["outcome_unknown"] is True
    assert "Late may have published it" in stored["failure_reason"]
    assert late_retry.call_count == 4
    assert create.call_count == 1

    result = retry(cli, str(post_id), "--json", at=NOW + timedelta(hours=4))
    plan = json.loads(result.stdout)["posts"][0]
    assert plan["method"] == "late_retry"
    assert plan["outcome_unknown"] is True


def test_delete_unsettled_warns(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    assert retry(cli, str(post_id)).exit_code == 0
    late.post("/posts/late-2/retry").mock(side_effect=httpx.ReadTimeout("no answer"))
    run_due(cli)
    result = cli("delete", str(post_id), "--yes")
    assert result.exit_code == 0
    assert "Late still has post late-2 and may publish it" in result.stderr


def test_delete_unsettled_needs_yes(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    assert retry(cli, str(post_id)).exit_code == 0
    late.post("/posts/late-2/retry").mock(side_effect=httpx.ReadTimeout("no answer"))
    run_due(cli)
    result = cli("delete", str(post_id), stdin=b"y\n")
    assert result.exit_code == 2
    assert "Late may still publish its post late-2" in result.stderr
    assert f"run 'rabb delete {post_id} --yes'" in result.stderr
    assert cli("show", str(post_id)).exit_code == 0


def test_killed_late_retry_sent_again(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A run killed during a retry request to Late asks Late again after the lease."""
    post_id, create = make_partial(cli, late)
    assert retry(cli, str(post_id)).exit_code == 0
    killed = KilledRun()
    late_retry = late.post("/posts/late-2/retry").mock(side_effect=killed)
    assert run_due(cli).exit_code == 130
    assert len(killed.requests) == 1
    assert column(home, post_id, "claim_kind") == "late_retry"
    assert cli("edit", str(post_id), "--text", "Other").exit_code == 2

    republished = late_post(
        "late-2",
        targets=[
            published_target("twitter", "acc-x"),
            published_target("linkedin", "acc-li"),
        ],
    )
    late_retry.side_effect = None
    late_retry.return_value = httpx.Response(200, json={"post": republished})
    check = late.get("/posts/late-2").mock(
        return_value=httpx.Response(200, json={"post": partial_post()})
    )
    assert run_due(cli, at=NOW + timedelta(minutes=20)).exit_code == 0
    assert late_retry.call_count == 1
    assert check.call_count == 0
    assert create.call_count == 1
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["outcome_unknown"] is False


def test_edit_after_retry_leaves_late_copy(cli: Cli, late: respx.MockRouter) -> None:
    post_id, create = make_partial(cli, late)
    assert retry(cli, str(post_id), "--at", "in 1h").exit_code == 0
    assert cli("edit", str(post_id), "--text", "New words").exit_code == 0
    late_retry = late.post("/posts/late-2/retry").mock(
        return_value=error(500, "never called")
    )
    create.side_effect = None
    create.return_value = created(
        late_post("late-5", targets=[published_target("linkedin", "acc-li")])
    )
    assert run_due(cli, at=NOW + timedelta(hours=1)).exit_code == 0
    assert late_retry.call_count == 0
    assert json.loads(create.calls.last.request.content)["content"] == "New words"


# FAILED: which idempotency key


def test_failed_retry_uses_new_key(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = make_failed(cli, late)
    route = route_creates(late, created(late_post("late-6")))
    result = retry(cli, str(post_id))
    assert result.exit_code == 0
    assert run_due(cli).exit_code == 0
    key = f"rabb-{uid(home, post_id)}-r1-f1"
    assert route.calls.last.request.headers["idempotency-key"] == key
    assert show(cli, post_id)["status"] == "published"


def test_failed_twice_keys_differ(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    post_id = make_failed(cli, late)
    route = route_creates(late, error(422, "Invalid media"), created(late_post()))
    retry(cli, str(post_id))
    assert run_due(cli).exit_code == 3
    retry(cli, str(post_id))
    assert run_due(cli).exit_code == 0
    prefix = f"rabb-{uid(home, post_id)}-r1"
    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert keys == [f"{prefix}-f1", f"{prefix}-f2"]


def test_edited_failed_post_new_revision_key(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = make_failed(cli, late)
    assert cli("edit", str(post_id), "--text", "Fixed text").exit_code == 0
    route = route_creates(late, created(late_post()))
    retry(cli, str(post_id))
    run_due(cli)
    key = route.calls.last.request.headers["idempotency-key"]
    assert key == f"rabb-{uid(home, post_id)}-r2-f1"


def test_unknown_outcome_reuses_key(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = schedule(cli, "Maybe sent", "twitter")
    route = route_creates(late, error(503, "Unavailable"))
    for hour in range(4):
        run_due(cli, at=NOW + timedelta(hours=hour))
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["outcome_unknown"] is True
    first_key = route.calls.last.request.headers["idempotency-key"]

    result = retry(cli, str(post_id), at=NOW + timedelta(hours=4))
    assert result.exit_code == 0
    assert f"twitter with idempotency key {first_key}" in result.stdout
    assert "got no answer, so Late may have published it" in result.stderr
    route = route_creates(
        late,
        httpx.Response(
            200, json={"message": "Post already exists", "post": late_post("late-7")}
        ),
    )
    assert run_due(cli, at=NOW + timedelta(hours=4)).exit_code == 0
    assert route.calls.last.request.headers["idempotency-key"] == first_key
    assert show(cli, post_id)["late_post_id"] == "late-7"


def fail_unanswered(
    cli: Cli, late: respx.MockRouter, failure: httpx.Response | Exception
) -> tuple[int, str]:
    """Fail a post after 4 attempts without an answer; return its id and key."""
    post_id = schedule(cli, "Maybe sent", "twitter")
    route = route_creates(late, failure)
    for hour in range(4):
        run_due(cli, at=NOW + timedelta(hours=hour))
    assert show(cli, post_id)["status"] == "failed"
    return post_id, route.calls.last.request.headers["idempotency-key"]


def test_expired_key_needs_confirmation(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A key Late no longer recognizes is not sent again on the user's behalf."""
    post_id, first_key = fail_unanswered(cli, late, error(503, "Unavailable"))
    assert show(cli, post_id)["outcome_unknown"] is True
    database = home / "rabb.db"
    before = database.read_bytes()

    later = NOW + timedelta(days=2)
    result = retry(cli, str(post_id), at=later)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"rabb: error: post {post_id} cannot be retried as it is: an earlier attempt"
        " got no answer, so Late may have published it, and that attempt is more"
        " than 23 hours old, too old for Late to recognize its idempotency key, so a"
        " retry could publish it twice. Check the post in Late; if it was not published"
        f" there, run 'rabb retry {post_id} --confirm-unpublished'.\n"
    )
    assert database.read_bytes() == before
    assert retry(cli, "--all-failed", at=later).exit_code == 2
    edit = cli("edit", str(post_id), "--text", "Other")
    assert edit.exit_code == 2
    assert f"'rabb retry {post_id} --confirm-unpublished' settles it" in edit.stderr
    with time_machine.travel(later, tick=False):
        detail = cli("show", str(post_id)).stdout
    assert f"idempotency key {first_key} is too old for Late to recognize" in detail

    confirmed = retry(cli, str(post_id), "--confirm-unpublished", at=later)
    assert confirmed.exit_code == 0
    new_key = f"rabb-{uid(home, post_id)}-r1-f1"
    assert new_key != first_key
    assert f"twitter with idempotency key {new_key}" in confirmed.stdout
    assert "as you confirmed that Late did not publish" in confirmed.stderr
    stored = show(cli, post_id)
    assert stored["outcome_unknown"] is False
    route = route_creates(late, created(late_post("late-8")))
    assert run_due(cli, at=later).exit_code == 0
    assert route.calls.last.request.headers["idempotency-key"] == new_key
    assert show(cli, post_id)["status"] == "published"


def test_confirmation_keeps_fresh_key(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """--confirm-unpublished changes nothing while Late still recognizes the key."""
    post_id, first_key = fail_unanswered(cli, late, httpx.ReadTimeout("no answer"))
    result = retry(
        cli,
        str(post_id),
        "--confirm-unpublished",
        "--json",
        at=NOW + timedelta(hours=4),
    )
    plan = json.loads(result.stdout)["posts"][0]
    assert plan["idempotency_key"] == first_key
    assert plan["outcome_unknown"] is True


# What retry changes, and what it rejects


def test_retry_resets_attempts_and_reason(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id = make_failed(cli, late)
    before = show(cli, post_id)
    assert before["attempts"] == 1
    assert before["failure_reason"]
    result = retry(cli, str(post_id), at=NOW + timedelta(hours=2))
    assert result.exit_code == 0
    stored = show(cli, post_id)
    assert stored["status"] == "scheduled"
    assert stored["attempts"] == 0
    assert stored["failure_reason"] is None
    assert stored["last_error"] is None
    assert stored["next_attempt_at"] is None
    assert stored["scheduled_for"] == "2026-06-01T14:00:00Z"
    assert stored["targets"][0]["status"] == "pending"
    assert stored["targets"][0]["error"] is None
    assert stored["failures"] == 1


def test_retry_at_later_time(cli: Cli, late: respx.MockRouter) -> None:
    post_id = make_failed(cli, late)
    route = route_creates(late, created(late_post()))
    result = retry(cli, str(post_id), "--at", "in 2h")
    assert result.exit_code == 0
    assert "scheduled again for 2026-06-01 14:00 UTC" in result.stdout
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 0
    run_due(cli, at=NOW + timedelta(hours=2))
    assert route.call_count == 1
    assert show(cli, post_id)["status"] == "published"


def test_retry_at_past_rejected(cli: Cli, late: respx.MockRouter) -> None:
    post_id = make_failed(cli, late)
    result = retry(cli, str(post_id), "--at", "2026-05-01 10:00")
    assert result.exit_code == 2
    assert "is in the past" in result.stderr
    assert show(cli, post_id)["status"] == "failed"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            "published",
            "post 1 is PUBLISHED, so it cannot be retried: there is nothing to retry."
            " To publish the same text again, compose a new post.",
        ),
        (
            "publishing",
            "post 1 is PUBLISHING, so it cannot be retried: a run or Late is"
            " publishing it right now. Wait until it settles, then check"
            " 'rabb show 1'.",
        ),
        (
            "draft",
            "post 1 is DRAFT, so it cannot be retried: it was never sent. Schedule it"
            " with 'rabb schedule 1 --at WHEN'.",
        ),
        (
            "scheduled",
            "post 1 is SCHEDULED, so it cannot be retried: it is waiting for its time"
            " already. 'rabb run-due' publishes it when it is due; see 'rabb show 1'.",
        ),
    ],
)
def test_retry_rejects_status(
    cli: Cli, home: Path, late: respx.MockRouter, status: str, message: str
) -> None:
    schedule(cli, "Not failed", "twitter", due=NOW + timedelta(hours=1))
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status = ?", (status,))
    connection.commit()
    connection.close()
    database = home / "rabb.db"
    before = database.read_bytes()
    result = retry(cli, "1")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"rabb: error: {message}\n"
    assert database.read_bytes() == before


def test_retry_published_post_exits_2(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Went out", "twitter")
    route = route_creates(late, created(late_post()))
    assert run_due(cli).exit_code == 0
    result = retry(cli, str(post_id))
    assert result.exit_code == 2
    assert "is PUBLISHED, so it cannot be retried" in result.stderr
    run_due(cli, at=NOW + timedelta(hours=1))
    assert route.call_count == 1
    assert show(cli, post_id)["status"] == "published"


def test_one_bad_id_changes_nothing(cli: Cli, late: respx.MockRouter) -> None:
    post_id = make_failed(cli, late)
    result = retry(cli, str(post_id), "99")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: post 99 not found. Run 'rabb list' to see the post ids.\n"
    )
    assert show(cli, post_id)["status"] == "failed"


def drop_failed_targets(home: Path, post_id: int) -> None:
    """Leave a PARTIAL post with only published targets, as older versions of
    `rabb edit` did when the last failed platform was removed."""
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "DELETE FROM target WHERE post_id = ? AND status != 'published'", (post_id,)
    )
    connection.commit()
    connection.close()


def test_all_failed_skips_fully_published(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """A PARTIAL post with nothing left to send is marked PUBLISHED, not a blocker."""
    settled, _ = make_partial(cli, late)
    drop_failed_targets(home, settled)
    failed = make_failed(cli, late, "Failed one")
    database = home / "rabb.db"
    before = database.read_bytes()

    plan = retry(cli, "--all-failed", "--dry-run")
    assert plan.exit_code == 0, plan.stderr
    assert plan.stdout.splitlines() == [
        f"Would not retry post {settled}: it is published on every platform it goes"
        " to (twitter), so it would be marked PUBLISHED.",
        f"Would schedule post {failed} again for 2026-06-01 12:00 UTC: twitter"
        f" with idempotency key rabb-{uid(home, failed)}-r1-f1.",
        "Dry run: nothing was changed.",
    ]
    assert database.read_bytes() == before

    result = retry(cli, "--all-failed", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [item["id"] for item in data["posts"]] == [failed]
    assert data["skipped"] == [
        {
            "id": settled,
            "reason": "published on every platform",
            "published": ["twitter"],
        }
    ]
    stored = show(cli, settled)
    assert stored["status"] == "published"
    assert stored["failure_reason"] is None
    assert stored["published_at"] is not None
    assert show(cli, failed)["status"] == "scheduled"


def test_retry_id_fully_published(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    drop_failed_targets(home, post_id)
    result = retry(cli, str(post_id))
    assert result.exit_code == 0
    assert result.stdout == (
        f"Post {post_id} is not retried: it is published on every platform it goes"
        " to (twitter), so it is PUBLISHED now.\n"
    )
    assert result.stderr == ""
    assert show(cli, post_id)["status"] == "published"


def test_ids_or_all_failed_required(cli: Cli, late: respx.MockRouter) -> None:
    neither = retry(cli)
    assert neither.exit_code == 2
    assert neither.stderr == (
        "rabb: error: no post to retry. Give the ids of FAILED or PARTIAL posts, or"
        " --all-failed.\n"
    )
    both = retry(cli, "1", "--all-failed")
    assert both.exit_code == 2
    assert "contradict each other" in both.stderr


def test_all_failed(cli: Cli, late: respx.MockRouter) -> None:
    ok = schedule(cli, "Fine", "twitter")
    bad = [schedule(cli, f"Bad {n}", "twitter") for n in range(2)]

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["content"].startswith("Bad"):
            return error(400, "No")
        return created(late_post())

    late.post("/posts").mock(side_effect=answer)
    run_due(cli)
    result = retry(cli, "--all-failed", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["dry_run"] is False
    assert [item["id"] for item in data["posts"]] == bad
    assert data["posts"][0]["method"] == "create_post"
    assert data["posts"][0]["previous_status"] == "failed"
    assert show(cli, ok)["status"] == "published"
    assert all(show(cli, post_id)["status"] == "scheduled" for post_id in bad)
    again = retry(cli, "--all-failed")
    assert again.exit_code == 0
    assert again.stdout == "No post is FAILED or PARTIAL; nothing to retry.\n"


def test_dry_run_changes_nothing(cli: Cli, home: Path, late: respx.MockRouter) -> None:
    partial_id, _ = make_partial(cli, late)
    failed_id = make_failed(cli, late, "Failed one")
    database = home / "rabb.db"
    before = database.read_bytes()
    result = retry(cli, "--all-failed", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"Would schedule post {partial_id} again for 2026-06-01 12:00 UTC: Late"
        " retries its post late-2 on linkedin; twitter stays published and is not"
        " sent again.",
        f"Would schedule post {failed_id} again for 2026-06-01 12:00 UTC: twitter"
        f" with idempotency key rabb-{uid(home, failed_id)}-r1-f1.",
        "Dry run: nothing was changed.",
    ]
    assert database.read_bytes() == before


def test_retry_json_late_method(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    result = retry(cli, str(post_id), "--json", "--dry-run")
    data = json.loads(result.stdout)
    assert data == {
        "dry_run": True,
        "posts": [
            {
                "id": post_id,
                "previous_status": "partial",
                "scheduled_for": "2026-06-01T12:00:00Z",
                "retried": ["linkedin"],
                "published": ["twitter"],
                "method": "late_retry",
                "late_post_id": "late-2",
                "idempotency_key": None,
                "outcome_unknown": False,
            }
        ],
        "skipped": [],
    }


def test_run_due_dry_run_names_method(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    retry(cli, str(post_id))
    result = run_due(cli, "--dry-run")
    assert (
        f"post {post_id} (due 2026-06-01 12:00 UTC): would ask Late to retry its post"
        " late-2 on the platforms that failed (attempt 1 of 4)" in result.stdout
    )


def test_two_accounts_one_platform(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATE_API_KEY", API_KEY)
    accounts = [
        {"_id": "acc-a", "platform": "twitter", "username": "alpha", "isActive": True},
        {"_id": "acc-b", "platform": "twitter", "username": "beta", "isActive": True},
    ]
    with mock_late() as late:
        late.get("/accounts").mock(
            return_value=httpx.Response(200, json={"accounts": accounts})
        )
        post_id = schedule(cli, "Two handles", "twitter:@alpha", "twitter:@beta")
        first = late_post(
            "late-a",
            status="partial",
            targets=[
                published_target("twitter", "acc-a"),
                failed_target("twitter", "acc-b", "Nope"),
            ],
        )
        create = route_creates(late, httpx.Response(207, json={"post": first}))
        assert run_due(cli).exit_code == 3
        assert cli("edit", str(post_id), "--text", "Two handles again").exit_code == 0
        retry(cli, str(post_id))
        # Late's response names the platform but not the account.
        again = late_post(
            "late-b",
            status="failed",
            targets=[{"platform": "twitter", "status": "failed", "errorMessage": "No"}],
        )
        create.side_effect = None
        create.return_value = httpx.Response(207, json={"post": again})
        assert run_due(cli).exit_code == 3

    body = json.loads(create.calls.last.request.content)
    assert body["platforms"] == [{"platform": "twitter", "accountId": "acc-b"}]

    stored = show(cli, post_id)
    assert stored["status"] == "partial"
    alpha, beta = stored["targets"]
    assert alpha["status"] == "published"
    assert alpha["url"] == "https://twitter.example/me/1"
    assert beta["status"] == "failed"
    assert beta["error"] == "No"
