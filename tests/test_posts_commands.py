"""`rabb list`, `show`, `edit`, `cancel` and `delete`."""

import json
import re
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.conftest import Cli, subprocess_env
from tests.helpers import run_rabb
from tests.terminal import run_in_terminal


def run_without_stdin(
    args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """Run `rabb ARGS` with stdin on /dev/null, as cron starts it."""
    return subprocess.run(
        [sys.executable, "-m", "rabb_cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        check=False,
    )


def strip_ansi(text: str) -> str:
    """Return terminal output without escape sequences and carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


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


def test_list_shows_markup_literally(cli: Cli, home: Path) -> None:
    cli("compose", "[bold]x[/bold] red", "-p", "threads")
    # rabb rejects control characters in new text, but a store written by an
    # older version may still contain them.
    with sqlite3.connect(home / "rabb.db") as database:
        database.execute("UPDATE post SET text = ?", ("[bold]x[/bold] \x1b[31mred",))
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


@pytest.fixture
def spy_editor(tmp_path: Path) -> tuple[Path, Path]:
    """An editor that only records that it was started, and where it records it."""
    started = tmp_path / "editor-started"
    editor = tmp_path / "spy-editor"
    editor.write_text(f"#!/bin/sh\ntouch '{started}'\n")
    editor.chmod(0o755)
    return editor, started


def test_edit_reads_piped_stdin(home: Path, spy_editor: tuple[Path, Path]) -> None:
    editor, started = spy_editor
    env = subprocess_env(VISUAL=str(editor), EDITOR=str(editor))
    run_rabb("compose", "old text", "-p", "threads", env=env)

    result = run_rabb("edit", "1", env=env, stdin=b"new text from pipe\n")

    assert result.returncode == 0, result.stderr
    assert not started.exists()
    shown = json.loads(run_rabb("show", "1", "--json", env=env).stdout)
    assert shown["text"] == "new text from pipe"


def test_edit_closed_stdin_no_editor(home: Path, spy_editor: tuple[Path, Path]) -> None:
    editor, started = spy_editor
    env = subprocess_env(VISUAL=str(editor), EDITOR=str(editor))
    run_rabb("compose", "old text", "-p", "threads", env=env)

    result = run_without_stdin(["edit", "1"], env)

    assert result.returncode == 2
    assert result.stderr == (
        b"rabb: error: the post text is empty. Write some text, or pipe it in on"
        b" stdin.\n"
    )
    assert not started.exists()
    shown = json.loads(run_rabb("show", "1", "--json", env=env).stdout)
    assert shown["text"] == "old text"


@pytest.mark.usefixtures("three_posts")
def test_edit_empty_text_for_removes_override(cli: Cli) -> None:
    own = cli("edit", "1", "--text-for", "threads=Own words", "--json")
    assert json.loads(own.stdout)["targets"][0]["text"] == "Own words"
    cleared = cli("edit", "1", "--text-for", "threads=", "--json")
    assert cleared.exit_code == 0, cleared.stderr
    assert json.loads(cleared.stdout)["targets"][0]["text"] is None


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
def test_delete_yes_removes_post(cli: Cli) -> None:
    result = cli("delete", "2", "--yes")
    assert result.exit_code == 0
    assert result.stdout == "Post 2 deleted.\n"
    assert result.stderr == ""
    assert ids(cli("list", "--json").stdout) == [1, 3]


@pytest.mark.usefixtures("three_posts")
@pytest.mark.parametrize("tty", [True, False])
def test_delete_no_keeps_post(cli: Cli, tty: bool) -> None:
    result = cli("delete", "2", tty=tty, stdin=b"n\n")
    assert result.exit_code == 1
    assert "Delete post 2 (SCHEDULED, 'July post')? [y/N] " in result.stderr
    assert "Post 2 kept; nothing was deleted." in result.stderr
    assert result.stdout == ""
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


@pytest.mark.usefixtures("three_posts")
@pytest.mark.parametrize("tty", [True, False])
def test_delete_yes_answer_deletes(cli: Cli, tty: bool) -> None:
    result = cli("delete", "2", "--json", tty=tty, stdin=b"y\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["id"] == 2
    assert "Delete post 2" in result.stderr
    assert ids(cli("list", "--json").stdout) == [1, 3]


@pytest.mark.usefixtures("three_posts")
def test_delete_empty_answer_keeps(cli: Cli) -> None:
    result = cli("delete", "2", stdin=b"\n")
    assert result.exit_code == 1
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


@pytest.mark.usefixtures("three_posts")
def test_delete_asks_again_until_answer(cli: Cli) -> None:
    result = cli("delete", "2", stdin=b"maybe\nyes\n")
    assert result.exit_code == 0
    assert "Type y or n." in result.stderr
    assert ids(cli("list", "--json").stdout) == [1, 3]


@pytest.mark.usefixtures("three_posts")
@pytest.mark.parametrize("stdin", [b"", b"maybe\n"])
def test_delete_without_answer_keeps(cli: Cli, stdin: bytes) -> None:
    result = cli("delete", "1", stdin=stdin)
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "rabb: error: no confirmation on stdin, so post 1 was not deleted. Run"
        " 'rabb delete 1 --yes' to delete it without a prompt.\n"
    )
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


def test_delete_piped_answers_in_subprocess(home: Path) -> None:
    env = subprocess_env()
    for text in ("one", "two"):
        run_rabb("compose", text, "-p", "threads", env=env)

    declined = run_rabb("delete", "2", env=env, stdin=b"n\n")
    closed = run_without_stdin(["delete", "1"], env)
    accepted = run_rabb("delete", "2", env=env, stdin=b"y\n")

    assert declined.returncode == 1
    assert closed.returncode == 2
    assert b"--yes" in closed.stderr
    assert accepted.returncode == 0
    listed = json.loads(run_rabb("list", "--json", env=env).stdout)
    assert [post["id"] for post in listed] == [1]


@pytest.mark.usefixtures("three_posts")
def test_delete_publishing_rejected(cli: Cli, home: Path) -> None:
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "UPDATE post SET status='publishing', claimed_by='run-1' WHERE id=1"
    )
    connection.commit()
    result = cli("delete", "1", tty=True, stdin=b"y\n")
    assert result.exit_code == 2
    assert "being published right now" in result.stderr
    assert "Delete post 1" not in result.stderr
    assert ids(cli("list", "--json").stdout) == [1, 2, 3]


@pytest.mark.usefixtures("three_posts")
def test_delete_post_waiting_on_late(cli: Cli, home: Path) -> None:
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        "UPDATE post SET status='publishing', late_post_id='late-9' WHERE id=1"
    )
    connection.commit()
    result = cli("delete", "1", "--yes")
    assert result.exit_code == 0
    assert "Late still has post late-9 and may publish it" in result.stderr
    assert ids(cli("list", "--json").stdout) == [2, 3]


def test_deleted_id_not_reused(cli: Cli) -> None:
    cli("compose", "one", "-p", "threads")
    cli("compose", "two", "-p", "threads")
    cli("delete", "2", "--yes")
    result = cli("compose", "three", "-p", "threads")
    assert result.stdout.startswith("Draft 3 saved")


@pytest.mark.usefixtures("three_posts")
def test_list_reversed_range_rejected(cli: Cli) -> None:
    with time_machine.travel(NOW, tick=False):
        result = cli("list", "--from", "2026-07-01", "--to", "2026-06-01")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: --to '2026-06-01' is before --from '2026-07-01', so no post"
        " can match. Give the earlier time to --from and the later one to --to.\n"
    )
    assert result.stdout == ""


def test_list_to_time_is_inclusive(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "Europe/Berlin")
    with time_machine.travel(NOW, tick=False):
        cli("schedule", "At ten", "-p", "threads", "--at", "2027-01-10 10:00")
        to_ten = cli("list", "--to", "2027-01-10 10:00", "--json")
        exact = cli(
            "list", "--from", "2027-01-10 10:00", "--to", "2027-01-10 10:00", "--json"
        )
        before = cli("list", "--to", "2027-01-10 09:59", "--json")
    assert ids(to_ten.stdout) == [1]
    assert ids(exact.stdout) == [1]
    assert ids(before.stdout) == []


@pytest.mark.usefixtures("three_posts")
@pytest.mark.parametrize(
    ("columns", "header"),
    [
        (30, ["ID", "STATUS", "TEXT"]),
        (50, ["ID", "STATUS", "WHEN", "TEXT"]),
        (80, ["ID", "STATUS", "WHEN", "PLATFORMS", "TEXT"]),
    ],
)
def test_list_narrow_keeps_id(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, columns: int, header: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    lines = cli("list").stdout.splitlines()
    assert lines[0].split() == header
    assert [line.split()[:2] for line in lines[1:]] == [
        ["1", "SCHEDULED"],
        ["2", "SCHEDULED"],
        ["3", "DRAFT"],
    ]
    assert all(len(line) <= columns for line in lines), lines


def test_list_narrow_terminal_keeps_id(home: Path) -> None:
    env = subprocess_env(TERM="xterm-256color")
    env.pop("COLUMNS", None)
    run_rabb("schedule", "A narrow post", "-p", "threads", "--at", "in 2h", env=env)
    output = run_in_terminal(["list"], env, columns=30).decode()
    lines = [strip_ansi(line) for line in output.splitlines()]
    assert lines[0].split() == ["ID", "STATUS", "TEXT"]
    assert lines[1].split()[:3] == ["1", "SCHEDULED", "A"]
    # The table; the line about run-due after it is left to the terminal to wrap.
    assert all(len(line) <= 30 for line in lines[:2]), lines


@pytest.mark.usefixtures("three_posts")
def test_piped_output_has_no_trailing_spaces(cli: Cli) -> None:
    outputs = {
        "list": cli("list").stdout,
        "show": cli("show", "1").stdout,
        "config show": cli("config", "show").stdout,
        "notify": cli("notify").stdout,
        "doctor": cli("doctor").stdout,
    }
    for name, output in outputs.items():
        assert output, name
        padded = [line for line in output.splitlines() if line != line.rstrip()]
        assert padded == [], name


def test_list_and_show_escape_stored_values(cli: Cli, home: Path) -> None:
    cli("compose", "Plain", "-p", "twitter:@old", "--media", "https://e.com/a.jpg")
    # Values stored before rabb checked them for control characters.
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE target SET account = '@a' || char(27) || '[31mRED'")
    connection.execute(
        "UPDATE post SET media = json_array(json_object("
        "'url', 'https://e.com/a' || char(27) || ']0;t' || char(7) || '.jpg',"
        " 'type', 'image'))"
    )
    connection.commit()
    listed = cli("list").stdout
    shown = cli("show", "1").stdout
    for output in (listed, shown):
        assert "\x1b" not in output
        assert "twitter:@a\\x1b[31mRED" in output
    assert "\x07" not in shown
    assert "image: https://e.com/a\\x1b]0;t\\x07.jpg" in shown


LONG_URL = "https://example.com/" + "/".join(["segment"] * 20) + "/index.html"


def test_show_piped_prints_text_whole(cli: Cli) -> None:
    text = "A long first line that goes past eighty columns " * 3 + LONG_URL
    cli(
        "compose",
        text,
        "-p",
        "twitter",
        "-p",
        "bluesky",
        "--text-for",
        "bluesky=Bluesky gets its own words, " + "and they are many " * 8,
    )
    lines = cli("show", "1").stdout.splitlines()
    assert text in lines
    own = lines.index("Text for bluesky")
    assert (
        lines[own + 1]
        == "Bluesky gets its own words, " + ("and they are many " * 8).rstrip()
    )
    assert "bluesky (own text)" in "\n".join(lines)


def test_show_terminal_wraps_text(home: Path) -> None:
    env = subprocess_env(TERM="xterm-256color")
    env.pop("COLUMNS", None)
    run_rabb("compose", "Words " * 30 + LONG_URL, "-p", "threads", env=env)
    output = run_in_terminal(["show", "1"], env, columns=60).decode()
    lines = [strip_ansi(line) for line in output.splitlines()]
    assert all(len(line) <= 60 for line in lines), lines
    assert LONG_URL not in lines
    assert "".join(lines).count("segment") == 20


def test_show_publishing_next_steps(cli: Cli, home: Path) -> None:
    cli("compose", "Busy", "-p", "threads")
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status='publishing'")
    connection.commit()
    post = json.loads(cli("show", "1", "--json").stdout)
    assert post["next_commands"] == ["rabb doctor", "rabb run-due --dry-run"]
    assert "  rabb doctor" in cli("show", "1").stdout


@pytest.mark.parametrize("status", ["failed", "partial"])
def test_edit_time_of_failed_post_rejected(cli: Cli, home: Path, status: str) -> None:
    cli("compose", "Went wrong", "-p", "threads")
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status=? WHERE id=1", (status,))
    connection.commit()
    result = cli("edit", "1", "--at", "in 2h")
    assert result.exit_code == 2
    assert "a new time alone would not send it again" in result.stderr
    assert "rabb retry 1 --at WHEN" in result.stderr
    assert json.loads(cli("show", "1", "--json").stdout)["scheduled_for"] is None


@pytest.mark.parametrize("command", [("edit", "1"), ("retry", "1")])
def test_empty_at_rejected(cli: Cli, command: tuple[str, ...]) -> None:
    cli("compose", "Draft", "-p", "threads")
    result = cli(*command, "--at", "", stdin=b"replacement text\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("rabb: error: missing time.")
    assert json.loads(cli("show", "1", "--json").stdout)["text"] == "Draft"


@pytest.mark.parametrize("command", ["show", "cancel", "retry"])
def test_huge_id_not_found(cli: Cli, command: str) -> None:
    result = cli(command, "99999999999999999999999")
    assert result.exit_code == 2
    assert "post 99999999999999999999999 not found" in result.stderr
