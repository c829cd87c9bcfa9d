"""`rabb schedule`: times in the user's zone, whatever the machine's zone."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.conftest import Cli, subprocess_env
from tests.helpers import run_rabb

SUMMER_2026 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EARLY_2025 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def stored_schedule(home: Path) -> list[tuple[str, str | None]]:
    rows = sqlite3.connect(home / "rabb.db").execute(
        "SELECT status, scheduled_for FROM post ORDER BY id"
    )
    return [(row[0], row[1]) for row in rows]


@pytest.mark.parametrize("machine_zone", [None, "UTC", "America/New_York"])
def test_berlin_zone_ignores_machine_zone(home: Path, machine_zone: str | None) -> None:
    env = subprocess_env(RABB_TIMEZONE="Europe/Berlin")
    env.pop("TZ", None)
    if machine_zone:
        env["TZ"] = machine_zone
    result = run_rabb(
        "schedule",
        "Sunday post",
        "-p",
        "threads",
        "--at",
        "2026-08-23 09:00",
        env=env,
        frozen_at=SUMMER_2026,
    )
    assert result.returncode == 0, result.stderr
    assert stored_schedule(home) == [("scheduled", "2026-08-23T07:00:00.000000Z")]
    assert b"2026-08-23 09:00 CEST" in result.stdout
    assert b"2026-08-23T07:00:00Z" in result.stdout


@pytest.mark.parametrize("variable", ["UTC+24", "UTC+25"])
def test_tz_offset_too_large_uses_utc(home: Path, variable: str) -> None:
    env = subprocess_env(TZ=variable)
    env.pop("RABB_TIMEZONE", None)
    at = ("--at", "2026-08-23 09:00")
    post = ("schedule", "hi", "-p", "threads", *at)
    scheduled = run_rabb(*post, env=env, frozen_at=SUMMER_2026)
    listed = run_rabb("list", "--limit", "1", env=env, frozen_at=SUMMER_2026)

    assert scheduled.returncode == 0, scheduled.stderr
    assert stored_schedule(home) == [("scheduled", "2026-08-23T09:00:00.000000Z")]
    assert listed.returncode == 0, listed.stderr
    for result in (scheduled, listed):
        assert f"TZ={variable!r} has a UTC offset".encode() in result.stderr
        assert b"internal error" not in result.stderr
        assert b"out of range" not in result.stderr


def test_zone_from_config_file(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RABB_TIMEZONE")
    home.mkdir(parents=True)
    (home / "config.toml").write_text('timezone = "Asia/Kolkata"\n')
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "hi", "-p", "threads", "--at", "2026-06-02 14:55")
    assert result.exit_code == 0, result.stderr
    assert stored_schedule(home) == [("scheduled", "2026-06-02T09:25:00.000000Z")]


def test_environment_zone_beats_config(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('timezone = "Asia/Kolkata"\n')
    monkeypatch.setenv("RABB_TIMEZONE", "Europe/Berlin")
    with time_machine.travel(SUMMER_2026, tick=False):
        cli("schedule", "hi", "-p", "threads", "--at", "2026-08-23 09:00")
    assert stored_schedule(home) == [("scheduled", "2026-08-23T07:00:00.000000Z")]


def test_kolkata_afternoon(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "Asia/Kolkata")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "hi", "-p", "threads", "--at", "14:55")
    assert result.exit_code == 0, result.stderr
    assert stored_schedule(home) == [("scheduled", "2026-06-02T09:25:00.000000Z")]


def test_offset_and_zulu_store_same_instant(cli: Cli, home: Path) -> None:
    with time_machine.travel(SUMMER_2026, tick=False):
        cli("schedule", "one", "-p", "threads", "--at", "12:00-05:00")
        cli("schedule", "two", "-p", "threads", "--at", "17:00Z")
    first, second = stored_schedule(home)
    assert first == second
    assert first[1] == "2026-06-01T17:00:00.000000Z"


def test_gap_time_rejected_nothing_stored(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    with time_machine.travel(EARLY_2025, tick=False):
        result = cli("schedule", "hi", "-p", "threads", "--at", "2025-03-09 02:30")
    assert result.exit_code == 2
    assert "does not exist in America/New_York" in result.stderr
    assert "from 02:00 to 03:00" in result.stderr
    assert not (home / "rabb.db").exists() or stored_schedule(home) == []


def test_repeated_time_warns(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    with time_machine.travel(EARLY_2025, tick=False):
        result = cli("schedule", "hi", "-p", "threads", "--at", "2025-11-02 01:30")
    assert result.exit_code == 0
    assert stored_schedule(home) == [("scheduled", "2025-11-02T05:30:00.000000Z")]
    assert result.stderr.startswith("rabb: warning: ")
    assert "01:30 EDT" in result.stderr
    assert "01:30 EST" in result.stderr


def test_schedule_existing_draft(cli: Cli, home: Path) -> None:
    cli("compose", "draft first", "-p", "threads")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "1", "--at", "in 2h", "--json")
    assert result.exit_code == 0, result.stderr
    post = json.loads(result.stdout)
    assert post["status"] == "scheduled"
    assert post["scheduled_for"] == "2026-06-01T14:00:00Z"


def test_schedule_prints_local_and_utc(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    cli("compose", "draft", "-p", "threads")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "1", "--at", "2026-07-04 09:00")
    assert result.stdout == (
        "Post 1 scheduled for 2026-07-04 09:00 EDT (2026-07-04T13:00:00Z) on threads.\n"
    )


def test_schedule_rejects_past(cli: Cli, home: Path) -> None:
    cli("compose", "draft", "-p", "threads")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "1", "--at", "2026-05-01 09:00")
    assert result.exit_code == 2
    assert "in the past" in result.stderr
    assert stored_schedule(home) == [("draft", None)]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("schedule", "1"), "Missing option '--at'"),
        (("schedule", "abc", "--at", "in 1h"), "expected a post id, got 'abc'"),
        (("schedule", "99", "--at", "in 1h"), "post 99 not found"),
        (("schedule", "1", "--at", "2026-02-30 10:00"), "February 2026 has 28 days"),
        (
            ("schedule", "1", "--at", "in 1h", "--media", "https://e.com/a.png"),
            "--media and --text-for cannot change draft 1 while scheduling it. Add"
            " them first with 'rabb edit 1 --media URL' or 'rabb edit 1 --text-for"
            " PLATFORM=TEXT', then run 'rabb schedule 1 --at WHEN'.",
        ),
        (
            ("schedule", "1", "--at", "in 1h", "--text-for", "threads=x"),
            "cannot change draft 1 while scheduling it",
        ),
        (
            ("schedule", "1", "-p", "bluesky", "--at", "in 1h"),
            "'1' looks like the id of a draft, but with -p it would be the text of a"
            " new post. To schedule draft 1, drop -p: 'rabb schedule 1 --at WHEN'"
            " (change its platforms with 'rabb edit 1 -p PLATFORM'). To post the"
            " number as text, pipe it in: echo 1 | rabb schedule - -p PLATFORM"
            " --at WHEN.",
        ),
        (("schedule", " 42 ", "-p", "bluesky", "--at", "in 1h"), "draft 42, drop -p"),
        (
            ("schedule", "hi", "-p", "bluesky", "--at", "in 1h", "--text-for", "x="),
            "gives x an empty text",
        ),
    ],
)
def test_schedule_rejects(
    cli: Cli, home: Path, args: tuple[str, ...], fragment: str
) -> None:
    cli("compose", "draft", "-p", "threads")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert stored_schedule(home) == [("draft", None)]


def test_schedule_piped_number_is_text(cli: Cli, home: Path) -> None:
    cli("compose", "draft", "-p", "threads")
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "-", "-p", "bluesky", "--at", "in 1h", stdin=b"1\n")
    assert result.exit_code == 0, result.stderr
    texts = sqlite3.connect(home / "rabb.db").execute("SELECT text FROM post")
    assert texts.fetchall() == [("draft",), ("1",)]


def test_schedule_piped_text(cli: Cli, home: Path) -> None:
    with time_machine.travel(SUMMER_2026, tick=False):
        result = cli("schedule", "-p", "bluesky", "--at", "in 1h", stdin=b"piped\n")
    assert result.exit_code == 0, result.stderr
    texts = sqlite3.connect(home / "rabb.db").execute("SELECT text FROM post")
    assert texts.fetchall() == [("piped",)]


def test_system_zone_from_tz_variable(home: Path) -> None:
    env = subprocess_env(TZ="America/New_York")
    env.pop("RABB_TIMEZONE")
    result = run_rabb(
        "schedule",
        "machine zone",
        "-p",
        "threads",
        "--at",
        "2026-08-23 09:00",
        env=env,
        frozen_at=SUMMER_2026,
    )
    assert result.returncode == 0, result.stderr
    assert stored_schedule(home) == [("scheduled", "2026-08-23T13:00:00.000000Z")]


@pytest.mark.parametrize(
    ("tz", "stored", "shown"),
    [
        ("UTC+5", "2026-08-23T14:00:00.000000Z", b"09:00 UTC-05:00 (2026-08-23T14"),
        ("GMT+5", "2026-08-23T14:00:00.000000Z", b"09:00 GMT-05:00 (2026-08-23T14"),
        ("UTC-3", "2026-08-23T06:00:00.000000Z", b"09:00 UTC+03:00 (2026-08-23T06"),
        (
            "EST5EDT,M3.2.0,M11.1.0",
            "2026-08-23T13:00:00.000000Z",
            b"09:00 EDT (2026-08-23T13",
        ),
    ],
)
def test_posix_tz_as_date_reads_it(
    home: Path, tz: str, stored: str, shown: bytes
) -> None:
    env = subprocess_env(TZ=tz)
    env.pop("RABB_TIMEZONE")
    result = run_rabb(
        "schedule",
        "posix zone",
        "-p",
        "threads",
        "--at",
        "2026-08-23 09:00",
        env=env,
        frozen_at=SUMMER_2026,
    )
    assert result.returncode == 0, result.stderr
    assert stored_schedule(home) == [("scheduled", stored)]
    assert shown in result.stdout
