"""`rabb list`, `show`, `edit`, `cancel` and `delete`."""

import json
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.conftest import Cli

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def three_posts(cli: Cli) -> None:
    with time_machine.travel(NOW, tick=False):
        cli("schedule", "June post", "-p", "threads", "--at", "2026-06-10 09:00")
        cli("schedule", "July post", "-p", "bluesky", "--at", "2026-07-10 09:00")
        cli("compose", "Loose draft", "-p", "linkedin")


def ids(stdout: str) -> list[int]:
    return [post["id"] for post in json.loads(stdout)]


@pytest.mark.usefixtures("three_posts")
def test_list_orders_by_time(cli: Cli) -> None:
    result = cli("list", "--json")
    assert ids(result.stdout) == [1, 2, 3]


@pytest.mark.usefixtures("three_posts")
def test_list_filters_status(cli: Cli) -> None:
    assert ids(cli("list", "--status", "draft", "--json").stdout) == [3]
    assert ids(cli("list", "-s", "SCHEDULED", "--json").stdout) == [1, 2]


@pytest.mark.usefixtures("three_posts")
def test_list_filters_dates(cli: Cli) -> None:
    with time_machine.travel(NOW, tick=False):
        june = cli("list", "--from", "2026-06-01", "--to", "2026-06-30", "--json")
        day = cli("list", "--from", "2026-07-10", "--to", "2026-07-10", "--json")
    assert ids(june.stdout) == [1]
    assert ids(day.stdout) == [2]


@pytest.mark.usefixtures("three_posts")
def test_list_table(cli: Cli) -> None:
    result = cli("list")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "WHEN", "PLATFORMS", "TEXT"]
    assert "SCHEDULED" in lines[1]
    assert "2026-06-10 09:00 UTC" in lines[1]
    assert "June post" in lines[1]
    assert "DRAFT" in lines[3]


def test_list_rejects_unknown_status(cli: Cli) -> None:
    result = cli("list", "--status", "sent")
    assert result.exit_code == 2
    assert "unknown status 'sent'" in result.stderr


def test_list_shows_markup_literally(cli: Cli) -> None:
    cli("compose", "[bold]x[/bold] \x1b[31mred", "-p", "threads")
    result = cli("list")
    assert "[bold]x[/bold]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout


@pytest.mark.usefixtures("three_posts")
def test_show_json_has_next_commands(cli: Cli) -> None:
    post = json.loads(cli("show", "3", "--json").stdout)
    assert post["status"] == "draft"
    assert 'rabb schedule 3 --at "tomorrow 9am"' in post["next_commands"]


@pytest.mark.usefixtures("three_posts")
def test_show_human(cli: Cli) -> None:
    result = cli("show", "1")
    assert result.exit_code == 0
    assert "Post 1" in result.stdout
    assert "SCHEDULED" in result.stdout
    assert "2026-06-10 09:00 UTC (2026-06-10T09:00:00Z)" in result.stdout
    assert "rabb cancel 1" in result.stdout


def test_show_missing_post(cli: Cli) -> None:
    result = cli("show", "42")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: post 42 not found. Run 'rabb list' to see the post ids.\n"
    )


@pytest.mark.usefixtures("three_posts")
def test_edit_text_bumps_revision(cli: Cli) -> None:
    result = cli("edit", "1", "--text", "New words", "--json")
    post = json.loads(result.stdout)
    assert post["text"] == "New words"
    assert post["revision"] == 2
    assert post["status"] == "scheduled"


@pytest.mark.usefixtures("three_posts")
def test_edit_time_keeps_revision(cli: Cli) -> None:
    with time_machine.travel(NOW, tick=False):
        result = cli("edit", "1", "--at", "2026-06-11 10:00", "--json")
    post = json.loads(result.stdout)
    assert post["scheduled_for"] == "2026-06-11T10:00:00Z"
    assert post["revision"] == 1


@pytest.mark.usefixtures("three_posts")
def test_edit_targets_and_media(cli: Cli) -> None:
    result = cli(
        "edit",
        "1",
        "-p",
        "twitter",
        "-p",
        "bluesky",
        "--media",
        "https://cdn.example.com/a.png",
        "--json",
    )
    post = json.loads(result.stdout)
    assert [t["platform"] for t in post["targets"]] == ["twitter", "bluesky"]
    assert post["media"] == [{"url": "https://cdn.example.com/a.png", "type": "image"}]
    cleared = json.loads(cli("edit", "1", "--no-media", "--json").stdout)
    assert cleared["media"] == []


@pytest.mark.usefixtures("three_posts")
def test_edit_checks_new_limit(cli: Cli, home: Path) -> None:
    result = cli("edit", "1", "--text", "x" * 501)
    assert result.exit_code == 2
    assert "text too long for Threads: 501 characters" in result.stderr
    row = sqlite3.connect(home / "rabb.db").execute("SELECT text FROM post WHERE id=1")
    assert row.fetchone() == ("June post",)


@pytest.mark.usefixtures("three_posts")
def test_edit_opens_editor(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor"
    editor.write_text('#!/bin/sh\nsed -i "s/June/Juni/" "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("VISUAL", str(editor))
    result = cli("edit", "1", tty=True)
    assert result.exit_code == 0, result.stderr
    assert json.loads(cli("show", "1", "--json").stdout)["text"] == "Juni post"


@pytest.mark.usefixtures("three_posts")
def test_edit_published_rejected(cli: Cli, home: Path) -> None:
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status='published' WHERE id=1")
    connection.commit()
    result = cli("edit", "1", "--text", "too late")
    assert result.exit_code == 2
    assert "post 1 is PUBLISHED, so it cannot be edited" in result.stderr


@pytest.mark.usefixtures("three_posts")
def test_cancel_returns_to_draft(cli: Cli) -> None:
    result = cli("cancel", "1", "--json")
    post = json.loads(result.stdout)
    assert post["status"] == "draft"
    assert post["scheduled_for"] == "2026-06-10T09:00:00Z"


@pytest.mark.usefixtures("three_posts")
def test_cancel_draft_rejected(cli: Cli) -> None:
    result = cli("cancel", "3")
    assert result.exit_code == 2
    assert "only a SCHEDULED post can be cancelled" in result.stderr


@pytest.mark.usefixtures("three_posts")
def test_delete_removes_post(cli: Cli) -> None:
    result = cli("delete", "2")
    assert result.exit_code == 0
    assert ids(cli("list", "--json").stdout) == [1, 3]


@pytest.mark.usefixtures("three_posts")
def test_delete_asks_on_terminal(cli: Cli) -> None:
    result = cli("delete", "2", tty=True, stdin=b"n\n")
    assert result.exit_code == 1
    assert "Delete post 2 (SCHEDULED, 'July post')?" in result.stdout
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


@pytest.mark.usefixtures("three_posts")
def test_delete_publishing_rejected(cli: Cli, home: Path) -> None:
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status='publishing' WHERE id=1")
    connection.commit()
    result = cli("delete", "1")
    assert result.exit_code == 2
    assert "being published right now" in result.stderr
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


def test_deleted_id_not_reused(cli: Cli) -> None:
    cli("compose", "one", "-p", "threads")
    cli("compose", "two", "-p", "threads")
    cli("delete", "2")
    result = cli("compose", "three", "-p", "threads")
    assert result.stdout.startswith("Draft 3 saved")
