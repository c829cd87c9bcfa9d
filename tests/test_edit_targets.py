"""`rabb edit -p` on a post with published platforms: a published target is never
dropped or sent again, whichever way `-p` names its account.

Each test runs the real commands in-process on a real SQLite file with the clock
frozen. Late is a set of respx routes that check every createPost request; after
the first run the cached accounts are those of `tests.late_respx.ACCOUNTS`, where
@me is the only X account (acc-x).
"""

import json
import sqlite3
from pathlib import Path

import httpx
import respx

from tests.conftest import Cli
from tests.late_respx import created, late_post, published_target, route_creates
from tests.test_retry import make_failed, make_partial, retry
from tests.test_run_due import run_due, schedule, show


def sent_platforms(route: respx.Route) -> list[list[str]]:
    """Return the platforms of every createPost request the route received."""
    bodies = [json.loads(call.request.content) for call in route.calls]
    return [[item["platform"] for item in body["platforms"]] for body in bodies]


def publish_linkedin(create: respx.Route) -> None:
    create.side_effect = None
    create.return_value = created(
        late_post("late-9", targets=[published_target("linkedin", "acc-li")])
    )


def test_dropping_published_target_rejected(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    post_id, _create = make_partial(cli, late)
    database = home / "rabb.db"
    before = database.read_bytes()

    result = cli("edit", str(post_id), "-p", "linkedin")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"rabb: error: post {post_id} is already published on twitter, and -p"
        " replaces the whole platform list, so it cannot leave out a platform the"
        " post went to. Name every published platform too, for example 'rabb edit"
        f" {post_id} -p linkedin -p twitter'.\n"
    )
    assert database.read_bytes() == before


def test_readding_published_target_sends_once(cli: Cli, late: respx.MockRouter) -> None:
    """Dropping twitter and adding it back never makes it a new, pending target."""
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "-p", "linkedin").exit_code == 2
    assert cli("edit", str(post_id), "-p", "twitter", "-p", "linkedin").exit_code == 0
    twitter = show(cli, post_id)["targets"][0]
    assert twitter["status"] == "published"
    assert twitter["url"] == "https://twitter.example/me/1"

    assert retry(cli, str(post_id)).exit_code == 0
    late_retry = late.post("/posts/late-2/retry").mock(
        return_value=httpx.Response(
            200,
            json={
                "post": late_post(
                    "late-2",
                    targets=[
                        published_target("twitter", "acc-x"),
                        published_target("linkedin", "acc-li"),
                    ],
                )
            },
        )
    )
    assert run_due(cli).exit_code == 0
    assert late_retry.call_count == 1
    assert sent_platforms(create) == [["twitter", "linkedin"]]
    assert show(cli, post_id)["status"] == "published"


def test_same_account_other_spelling_kept(cli: Cli, late: respx.MockRouter) -> None:
    """`twitter:@me` names the account `twitter` published on, so it stays published."""
    post_id, create = make_partial(cli, late)
    result = cli("edit", str(post_id), "-p", "twitter:@me", "-p", "linkedin")
    assert result.exit_code == 0, result.stderr

    twitter, linkedin = show(cli, post_id)["targets"]
    assert twitter["status"] == "published"
    assert twitter["url"] == "https://twitter.example/me/1"
    assert twitter["account"] is None
    assert linkedin["status"] == "failed"

    plan = retry(cli, str(post_id), "--dry-run")
    assert plan.exit_code == 0
    assert "twitter stays published and is not sent again" in plan.stdout
    assert "linkedin with idempotency key" in plan.stdout

    assert retry(cli, str(post_id)).exit_code == 0
    publish_linkedin(create)
    assert run_due(cli).exit_code == 0
    assert sent_platforms(create) == [["twitter", "linkedin"], ["linkedin"]]
    assert show(cli, post_id)["status"] == "published"


def test_unknown_spelling_rejected(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    """Without cached accounts rabb cannot tell `twitter:@me` from `twitter`."""
    post_id, _ = make_partial(cli, late)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("DELETE FROM account")
    connection.commit()
    connection.close()

    result = cli("edit", str(post_id), "-p", "twitter:@me", "-p", "linkedin")

    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: cannot tell whether -p twitter:@me is the X account where post"
        f" {post_id} is already published (-p twitter), so it could be sent there"
        " twice. Run 'rabb accounts' to fetch the connected accounts, or write that"
        " platform as before: -p twitter.\n"
    )
    assert show(cli, post_id)["targets"][0]["account"] is None


def test_published_account_twice_rejected(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = make_partial(cli, late)
    result = cli(
        "edit", str(post_id), "-p", "twitter", "-p", "twitter:@me", "-p", "linkedin"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: -p twitter and -p twitter:@me name the same X account (acc-x)."
        " Name each account once.\n"
    )
    assert len(show(cli, post_id)["targets"]) == 2


def test_scheduled_retry_keeps_published(cli: Cli, late: respx.MockRouter) -> None:
    """A retried PARTIAL post is SCHEDULED, and its published target stays too."""
    post_id, _ = make_partial(cli, late)
    assert retry(cli, str(post_id), "--at", "in 1h").exit_code == 0
    result = cli("edit", str(post_id), "-p", "linkedin")
    assert result.exit_code == 2
    assert "is already published on twitter" in result.stderr
    assert show(cli, post_id)["targets"][0]["status"] == "published"


def test_text_edit_keeps_published(cli: Cli, late: respx.MockRouter) -> None:
    post_id, create = make_partial(cli, late)
    assert cli("edit", str(post_id), "--text", "Better words").exit_code == 0
    assert show(cli, post_id)["targets"][0]["status"] == "published"
    retry(cli, str(post_id))
    publish_linkedin(create)
    assert run_due(cli).exit_code == 0
    assert sent_platforms(create)[-1] == ["linkedin"]


def test_last_failed_platform_removed(cli: Cli, late: respx.MockRouter) -> None:
    """Dropping the only failed platform leaves nothing to send: PUBLISHED."""
    post_id, create = make_partial(cli, late)
    result = cli("edit", str(post_id), "-p", "twitter")
    assert result.exit_code == 0
    assert result.stdout == (
        f"Post {post_id} updated. Every platform it goes to is published, so it is"
        " PUBLISHED now.\n"
    )
    stored = show(cli, post_id)
    assert stored["status"] == "published"
    assert stored["failure_reason"] is None
    assert [target["platform"] for target in stored["targets"]] == ["twitter"]

    again = retry(cli, "--all-failed")
    assert again.exit_code == 0
    assert again.stdout == "No post is FAILED or PARTIAL; nothing to retry.\n"
    assert run_due(cli).exit_code == 0
    assert create.call_count == 1


def test_new_account_on_failed_post(cli: Cli, late: respx.MockRouter) -> None:
    """A FAILED post has nothing published, so its platforms may change freely."""
    post_id = make_failed(cli, late)
    assert cli("edit", str(post_id), "-p", "bluesky").exit_code == 0
    assert [t["platform"] for t in show(cli, post_id)["targets"]] == ["bluesky"]


def test_compose_same_account_twice_rejected(cli: Cli, late: respx.MockRouter) -> None:
    assert cli("accounts").exit_code == 0
    result = cli("compose", "Twice", "-p", "twitter", "-p", "twitter:@me")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: -p twitter and -p twitter:@me name the same X account @me."
        " Name each account once.\n"
    )
    assert cli("list", "--json").stdout.strip() == "[]"


def test_run_same_account_twice_fails(cli: Cli, late: respx.MockRouter) -> None:
    """Targets the empty cache could not compare fail before any request."""
    post_id = schedule(cli, "Twice", "twitter", "twitter:@me")
    create = route_creates(late, created(late_post()))
    result = run_due(cli)
    assert result.exit_code == 3
    assert create.call_count == 0
    stored = show(cli, post_id)
    assert stored["status"] == "failed"
    assert stored["failure_reason"] == (
        "not sent: -p twitter and -p twitter:@me name the same account (acc-x), and"
        f" a post goes to each account once; remove one with 'rabb edit {post_id}"
        " -p ...'"
    )
