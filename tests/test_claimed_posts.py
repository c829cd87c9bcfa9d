"""A post that a run has claimed: `show` says when its claim ends, and `edit` and
`delete` say when the next run takes it over if the claiming run stopped.
"""

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rabb_cli.publish.due import format_time
from tests.conftest import Cli
from tests.helpers import write_config

CLAIMED_AT = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
TAKEOVER = (
    "if no run is active (it was stopped), the next run takes the post over after"
    " 2026-06-01 14:15:05 CEST"
)


@pytest.fixture
def claimed(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Return a post claimed by a run at CLAIMED_AT, shown in Berlin time."""
    monkeypatch.setenv("RABB_TIMEZONE", "Europe/Berlin")
    result = cli("schedule", "Claimed", "-p", "threads", "--at", "in 1h", "--json")
    post_id = int(json.loads(result.stdout)["id"])
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "UPDATE post SET status = 'publishing', claimed_by = 'run-1',"
        " claimed_at = ?, next_attempt_at = ? WHERE id = ?",
        (
            format_time(CLAIMED_AT),
            format_time(CLAIMED_AT - timedelta(minutes=3)),
            post_id,
        ),
    )
    connection.commit()
    connection.close()
    return post_id


def test_delete_claimed_names_takeover(cli: Cli, claimed: int) -> None:
    result = cli("delete", str(claimed), "--yes")
    assert result.exit_code == 2
    assert f"post {claimed} is being published right now" in result.stderr
    assert TAKEOVER in result.stderr


@pytest.mark.parametrize(
    "options", [("--text", "New text"), ("--at", "in 2h")], ids=["text", "time"]
)
def test_edit_claimed_names_takeover(
    cli: Cli, claimed: int, options: tuple[str, str]
) -> None:
    result = cli("edit", str(claimed), *options)
    assert result.exit_code == 2
    assert "so it cannot be edited" in result.stderr
    assert TAKEOVER in result.stderr


def test_show_claimed_lease_end(cli: Cli, claimed: int) -> None:
    result = cli("show", str(claimed))
    assert result.exit_code == 0
    assert (
        "by a run since 2026-06-01 14:00:05 CEST; if that run stopped, the next run"
        " after 2026-06-01 14:15:05 CEST (2026-06-01T12:15:05Z) takes the post over"
    ) in result.stdout
    # The old next attempt time has passed and does not apply to a claimed post.
    assert "Next attempt" not in result.stdout


def test_show_json_lease_end(cli: Cli, claimed: int) -> None:
    shown = json.loads(cli("show", str(claimed), "--json").stdout)
    assert shown["claimed_at"] == "2026-06-01T12:00:05Z"
    assert shown["lease_ends_at"] == "2026-06-01T12:15:05Z"


def test_lease_end_follows_config(cli: Cli, home: Path, claimed: int) -> None:
    write_config(home, '[publish]\nlease = "30m"\n')
    shown = json.loads(cli("show", str(claimed), "--json").stdout)
    assert shown["lease_ends_at"] == "2026-06-01T12:30:05Z"
    result = cli("delete", str(claimed), "--yes")
    assert "takes the post over after 2026-06-01 14:30:05 CEST" in result.stderr


def test_unclaimed_post_has_no_lease(cli: Cli) -> None:
    result = cli("schedule", "Free", "-p", "threads", "--at", "in 1h", "--json")
    post_id = json.loads(result.stdout)["id"]
    shown = json.loads(cli("show", str(post_id), "--json").stdout)
    assert shown["claimed_at"] is None
    assert shown["lease_ends_at"] is None
    assert "Claimed" not in cli("show", str(post_id)).stdout
