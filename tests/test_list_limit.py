"""`rabb list --limit` and the layout of the post table."""

import json

import pytest
import time_machine
import wcwidth

from rabb_cli.store import MAX_ID
from tests.conftest import Cli, subprocess_env
from tests.terminal import run_in_terminal
from tests.test_posts_commands import NOW, strip_ansi


@pytest.fixture
def four_posts(cli: Cli) -> None:
    with time_machine.travel(NOW, tick=False):
        cli("schedule", "June post", "-p", "threads", "--at", "2026-06-10 09:00")
        cli("schedule", "July post", "-p", "bluesky", "--at", "2026-07-10 09:00")
        cli("compose", "Loose draft", "-p", "linkedin")
        cli("schedule", "May post", "-p", "threads", "--at", "2026-06-02 09:00")


def ids(stdout: str) -> list[int]:
    return [post["id"] for post in json.loads(stdout)]


@pytest.mark.usefixtures("four_posts")
def test_limit_keeps_first_in_order(cli: Cli) -> None:
    result = cli("list", "--limit", "2", "--json")
    assert result.exit_code == 0
    assert ids(result.stdout) == [4, 1]
    assert result.stderr == (
        "Showing 2 of 4 posts. Raise --limit, or narrow the list with --from, --to"
        " or --status, to see the others.\n"
    )


@pytest.mark.usefixtures("four_posts")
def test_limit_table_and_short_option(cli: Cli) -> None:
    result = cli("list", "-n", "3")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ID", "4", "1", "2"]
    assert "Showing 3 of 4 posts." in result.stderr


@pytest.mark.usefixtures("four_posts")
@pytest.mark.parametrize("limit", ["4", "5", str(MAX_ID), "99999999999999999999"])
def test_limit_covering_all_has_no_note(cli: Cli, limit: str) -> None:
    result = cli("list", "--limit", limit, "--json")
    assert result.exit_code == 0
    assert ids(result.stdout) == [4, 1, 2, 3]
    assert result.stderr == ""


@pytest.mark.usefixtures("four_posts")
def test_limit_counts_filtered_posts(cli: Cli) -> None:
    result = cli("list", "--status", "scheduled", "--limit", "1", "--json")
    assert ids(result.stdout) == [4]
    assert "Showing 1 of 3 posts." in result.stderr


@pytest.mark.usefixtures("four_posts")
@pytest.mark.parametrize("limit", ["0", "-1", "x", "", "2.5"])
def test_limit_invalid_rejected(cli: Cli, limit: str) -> None:
    result = cli("list", "--limit", limit)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"rabb: error: invalid --limit {limit!r}: not a whole number of at least 1."
        " Give the number of posts to show, such as --limit 20.\n"
    )


def test_table_cuts_wide_text(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    text = "你好推特" * 10 + " 👨‍👩‍👧 end"
    cli("compose", text, "-p", "threads")
    cli("compose", "short", "-p", "threads", "-p", "bluesky", "-p", "linkedin")
    lines = cli("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "WHEN", "TEXT"]
    assert lines[1].startswith(" 1  DRAFT   -     你好推特")
    assert lines[1].endswith("…")
    assert lines[2] == " 2  DRAFT   -     short"
    assert all(wcwidth.width(line) <= 50 for line in lines)
    assert wcwidth.width(lines[1]) >= 49


def test_table_cuts_platforms(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    platforms = ["threads", "bluesky", "linkedin", "facebook"]
    cli("compose", "Everywhere", *(arg for p in platforms for arg in ("-p", p)))
    lines = cli("list").stdout.splitlines()
    assert lines[1] == " 1  DRAFT   -     threads, bluesky, linke…  Everywhere"


@pytest.mark.usefixtures("four_posts")
def test_table_colours_on_terminal() -> None:
    env = subprocess_env(TERM="xterm-256color")
    env.pop("COLUMNS", None)
    output = run_in_terminal(["list"], env, columns=100).decode()
    lines = output.replace("\r", "").splitlines()
    assert lines[0].startswith("\x1b[1m")
    assert strip_ansi(lines[0]).split() == ["ID", "STATUS", "WHEN", "PLATFORMS", "TEXT"]
    assert "\x1b[34mSCHEDULED" in lines[1]
    assert "\x1b[90mDRAFT" in lines[4]
    assert strip_ansi(lines[1]).split()[:2] == ["4", "SCHEDULED"]
