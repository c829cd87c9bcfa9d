"""`rabb cancel` and `rabb delete` of a post that Late may have published already.

An attempt that got no answer leaves the post's outcome unknown. Cancel and delete
must say so, and delete needs --yes, since it drops rabb's only record of it.
"""

from datetime import timedelta

import httpx
import respx
import time_machine

from tests.conftest import Cli
from tests.late_respx import created, late_post, route_creates
from tests.test_run_due import NOW, run_due, schedule, show

DRAFT_WARNING = (
    "rabb: warning: post {id}: Late may already have published it, since the outcome"
    " of an attempt is unknown; check Late, or schedule it again ('rabb schedule"
    " {id} --at now') to settle it\n"
)


def unknown_post(cli: Cli, late: respx.MockRouter) -> tuple[int, respx.Route]:
    """Schedule a post whose create got no answer, and return it with the route."""
    post_id = schedule(cli, "No answer", "twitter")
    route = route_creates(late, httpx.ReadTimeout("no answer"), created(late_post()))
    assert run_due(cli).exit_code == 0
    assert show(cli, post_id)["outcome_unknown"] is True
    return post_id, route


def test_cancel_unknown_warns(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = unknown_post(cli, late)
    result = cli("cancel", str(post_id))
    assert result.exit_code == 0
    assert result.stdout == f"Post {post_id} is a draft again; rabb sends it no more.\n"
    assert "will not be published" not in result.stdout
    assert result.stderr == DRAFT_WARNING.format(id=post_id)


def test_cancel_unknown_json_warns(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = unknown_post(cli, late)
    result = cli("cancel", str(post_id), "--json")
    assert result.exit_code == 0
    assert '"status": "draft"' in result.stdout
    assert result.stderr == DRAFT_WARNING.format(id=post_id)


def test_cancel_known_says_unpublished(cli: Cli) -> None:
    post_id = schedule(cli, "Fine", "twitter")
    result = cli("cancel", str(post_id))
    assert result.exit_code == 0
    assert (
        result.stdout == f"Post {post_id} is a draft again; it will not be published.\n"
    )
    assert result.stderr == ""


def test_cancelled_unknown_settles_with_key(cli: Cli, late: respx.MockRouter) -> None:
    """The settle command the warning names resends the same idempotency key."""
    post_id, route = unknown_post(cli, late)
    assert cli("cancel", str(post_id)).exit_code == 0
    with time_machine.travel(NOW, tick=False):
        assert cli("schedule", str(post_id), "--at", "now").exit_code == 0
    assert run_due(cli, at=NOW + timedelta(minutes=1)).exit_code == 0
    assert show(cli, post_id)["status"] == "published"
    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_delete_unknown_needs_yes(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = unknown_post(cli, late)
    result = cli("delete", str(post_id), stdin=b"y\n")
    assert result.exit_code == 2
    assert "Delete post" not in result.stderr
    assert result.stderr == (
        f"rabb: error: post {post_id} was not deleted: Late may already have"
        " published it, since the outcome of an attempt is unknown, and deleting it"
        " drops rabb's only record of that attempt. Settle it first: 'rabb run-due'"
        " sends the same content again, which Late recognizes; to delete it anyway,"
        f" run 'rabb delete {post_id} --yes'.\n"
    )
    assert show(cli, post_id)["id"] == post_id


def test_delete_unknown_yes_warns(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = unknown_post(cli, late)
    result = cli("delete", str(post_id), "--yes")
    assert result.exit_code == 0
    assert result.stdout == f"Post {post_id} deleted.\n"
    assert result.stderr == (
        f"rabb: warning: post {post_id}: Late may already have published it, since"
        " the outcome of an attempt is unknown; check Late and delete it there if it"
        " must not go out\n"
    )
    assert cli("show", str(post_id)).exit_code == 2


def test_delete_cancelled_unknown_needs_yes(cli: Cli, late: respx.MockRouter) -> None:
    post_id, _ = unknown_post(cli, late)
    assert cli("cancel", str(post_id)).exit_code == 0
    result = cli("delete", str(post_id), stdin=b"y\n")
    assert result.exit_code == 2
    assert f"again ('rabb schedule {post_id} --at now') to settle" in result.stderr
    assert show(cli, post_id)["status"] == "draft"
