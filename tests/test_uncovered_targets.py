"""A "published" response from Late that leaves out one of the post's targets.

Such a target is not marked published without evidence: the post waits and the
next run reads Late's post. A target that Late's post has no result for ends FAILED.
"""

from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import Cli
from tests.late_respx import (
    created,
    failed_target,
    late_post,
    published_target,
    route_creates,
)
from tests.test_run_due import NOW, run_due, schedule, show

LATE_ID = "65f1c0a9e2b5af0012ab34cd"
LATER = NOW + timedelta(hours=2)


def target_statuses(cli: Cli, post_id: int) -> dict[str, str]:
    return {
        target["platform"]: target["status"] for target in show(cli, post_id)["targets"]
    }


ANSWERS = {
    "omitted": [published_target("twitter", "acc-x")],
    "empty": [],
    "other-account": [
        published_target("twitter", "acc-x"),
        published_target("bluesky", "acc-someone-else"),
    ],
    "other-platform": [
        published_target("twitter", "acc-x"),
        published_target("tiktok", "acc-tt"),
    ],
}


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
def test_uncovered_target_not_published(
    cli: Cli, late: respx.MockRouter, answer: list[dict[str, Any]]
) -> None:
    post_id = schedule(cli, "Two platforms", "twitter", "bluesky")
    route_creates(late, created(late_post(targets=answer)))
    result = run_due(cli)
    assert result.exit_code == 0
    assert f"post {post_id}: WAITING" in result.stdout
    assert "but gave no result for " in result.stdout
    assert "-p bluesky, so rabb reads Late's post" in result.stdout

    post = show(cli, post_id)
    assert post["status"] == "publishing"
    statuses = target_statuses(cli, post_id)
    assert statuses["bluesky"] != "published"
    # Twitter is published only where the response has a result for its account.
    assert (statuses["twitter"] == "published") == bool(answer)


def test_check_confirms_uncovered_target(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Both went out", "twitter", "bluesky")
    route_creates(late, created(late_post(targets=ANSWERS["omitted"])))
    assert run_due(cli).exit_code == 0
    both = [
        published_target("twitter", "acc-x"),
        published_target("bluesky", "acc-bsky"),
    ]
    check = late.get(f"/posts/{LATE_ID}").mock(
        return_value=httpx.Response(200, json={"post": late_post(targets=both)})
    )

    result = run_due(cli, at=LATER)
    assert result.exit_code == 0
    assert check.call_count == 1
    assert result.stdout.startswith(f"post {post_id}: PUBLISHED")
    assert target_statuses(cli, post_id) == {
        "twitter": "published",
        "bluesky": "published",
    }


def test_check_without_target_fails_it(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "One went out", "twitter", "bluesky")
    creates = route_creates(late, created(late_post(targets=ANSWERS["omitted"])))
    assert run_due(cli).exit_code == 0
    late.get(f"/posts/{LATE_ID}").mock(
        return_value=httpx.Response(
            200, json={"post": late_post(targets=ANSWERS["omitted"])}
        )
    )

    result = run_due(cli, at=LATER)
    assert result.exit_code == 3
    post = show(cli, post_id)
    assert post["status"] == "partial"
    assert target_statuses(cli, post_id) == {
        "twitter": "published",
        "bluesky": "failed",
    }
    assert post["failure_reason"] == (
        f"bluesky: Late's post {LATE_ID} has no result for it"
    )
    assert creates.call_count == 1


def test_check_with_no_targets_fails_all(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "Nothing listed", "twitter", "bluesky")
    route_creates(late, created(late_post(targets=[])))
    assert run_due(cli).exit_code == 0
    late.get(f"/posts/{LATE_ID}").mock(
        return_value=httpx.Response(200, json={"post": late_post(targets=[])})
    )
    assert run_due(cli, at=LATER).exit_code == 3
    assert show(cli, post_id)["status"] == "failed"
    assert target_statuses(cli, post_id) == {"twitter": "failed", "bluesky": "failed"}


def test_covered_targets_publish_at_once(cli: Cli, late: respx.MockRouter) -> None:
    post_id = schedule(cli, "All listed", "twitter", "bluesky")
    both = [
        published_target("twitter", "acc-x"),
        published_target("bluesky", "acc-bsky"),
    ]
    route_creates(late, created(late_post(targets=both)))
    result = run_due(cli)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"post {post_id}: PUBLISHED")


def test_one_result_confirms_one_target(cli: Cli, late: respx.MockRouter) -> None:
    """Two accounts on one platform need two results: one result covers one."""
    accounts = [
        {"_id": "acc-x", "platform": "twitter", "username": "me", "isActive": True},
        {"_id": "acc-x2", "platform": "twitter", "username": "other", "isActive": True},
    ]
    late.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": accounts})
    )
    post_id = schedule(cli, "Two accounts", "twitter:@me", "twitter:@other")
    result_without_account = published_target("twitter", "acc-x")
    del result_without_account["accountId"]
    route_creates(late, created(late_post(targets=[result_without_account])))

    result = run_due(cli)

    assert result.exit_code == 0
    assert f"post {post_id}: WAITING" in result.stdout
    statuses = [target["status"] for target in show(cli, post_id)["targets"]]
    assert statuses.count("published") == 1
    assert show(cli, post_id)["status"] == "publishing"


def test_platform_name_case_ignored(cli: Cli, late: respx.MockRouter) -> None:
    """A result that spells the platform `Twitter` is still twitter's result."""
    post_id = schedule(cli, "Capital letters", "twitter")
    answer = published_target("twitter", "acc-x")
    answer["platform"] = "Twitter"
    route_creates(late, created(late_post(targets=[answer])))

    result = run_due(cli)

    assert result.exit_code == 0
    assert result.stdout.startswith(f"post {post_id}: PUBLISHED")
    [target] = show(cli, post_id)["targets"]
    assert target["status"] == "published"
    assert target["url"] == "https://twitter.example/me/1"


def test_partial_line_names_each_failure(cli: Cli, late: respx.MockRouter) -> None:
    """Only published targets are listed as published, and each failure is named."""
    post_id = schedule(cli, "Three ways", "twitter", "bluesky", "linkedin")
    failed = failed_target("twitter", "acc-x", "Session expired")
    failed["platformPostUrl"] = "https://twitter.example/me/broken"
    answer = [failed, published_target("bluesky", "acc-bsky")]
    route_creates(late, created(late_post(status="partial", targets=answer)))
    assert run_due(cli).exit_code == 0
    late.get(f"/posts/{LATE_ID}").mock(
        return_value=httpx.Response(
            200, json={"post": late_post(status="partial", targets=answer)}
        )
    )

    result = run_due(cli, at=LATER)

    assert result.exit_code == 3
    assert result.stdout == (
        f"post {post_id}: PARTIAL published on bluesky https://bluesky.example/me/1;"
        f" failed on twitter: Session expired; linkedin: Late's post {LATE_ID} has no"
        " result for it\n"
    )
    assert target_statuses(cli, post_id) == {
        "twitter": "failed",
        "bluesky": "published",
        "linkedin": "failed",
    }
