"""Reading the last `run-due` from the `run` table with sqlite3 alone."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rabb_cli.lastrun import LastRun, describe_outcome, is_unfinished, last_run
from rabb_cli.publish.due import record_empty_run
from rabb_cli.store import open_store

NOW = datetime(2031, 1, 3, 10, 0, tzinfo=UTC)


def make_database(path: Path, *statements: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path


def test_missing_database_not_created(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    assert last_run(database) is None
    assert not database.exists()


def test_no_run_table(tmp_path: Path) -> None:
    database = make_database(tmp_path / "rabb.db", "CREATE TABLE post (id INTEGER)")
    assert last_run(database) is None


def test_empty_run_table(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "rabb.db", "CREATE TABLE run (id INTEGER, started_at TEXT)"
    )
    assert last_run(database) is None


def test_newest_run_by_id(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "rabb.db",
        "CREATE TABLE run (id INTEGER PRIMARY KEY, started_at VARCHAR(27),"
        " finished_at VARCHAR(27), status VARCHAR, error VARCHAR, failed INTEGER,"
        " pid INTEGER)",
        "INSERT INTO run VALUES (1, '2031-01-03T10:00:00.000000Z',"
        " '2031-01-03T10:00:02.500000Z', 'ok', NULL, 0, 11)",
        "INSERT INTO run VALUES (2, '2031-01-03T10:05:00.000000Z',"
        " '2031-01-03T10:05:01.000000Z', 'error', 'Late rejected the API key', 0,"
        " 12)",
    )

    found = last_run(database)

    assert found == LastRun(
        started_at=datetime(2031, 1, 3, 10, 5, tzinfo=UTC),
        finished_at=datetime(2031, 1, 3, 10, 5, 1, tzinfo=UTC),
        status="error",
        error="Late rejected the API key",
    )


def test_only_started_at(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "rabb.db",
        "CREATE TABLE run (started_at TEXT)",
        "INSERT INTO run VALUES ('2031-01-03T10:00:00+01:00')",
    )

    found = last_run(database)

    assert found == LastRun(started_at=datetime(2031, 1, 3, 9, 0, tzinfo=UTC))


def test_unparsable_time_is_none(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "rabb.db",
        "CREATE TABLE run (started_at TEXT)",
        "INSERT INTO run VALUES ('yesterday')",
    )
    assert last_run(database) is None


def test_not_a_database(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    database.write_bytes(b"this is not SQLite at all" * 100)
    assert last_run(database) is None


def test_reads_what_run_due_records(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    open_store(database).close()
    started = datetime(2031, 1, 3, 10, 0, tzinfo=UTC)
    record_empty_run(database, started, started + timedelta(seconds=1), "outbox")

    found = last_run(database)

    assert found == LastRun(
        started_at=started,
        finished_at=started + timedelta(seconds=1),
        status="ok",
    )
    assert describe_outcome(found) == "nothing was due"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"status": "ok", "finished_at": NOW}, "nothing was due"),
        (
            {"status": "ok", "finished_at": NOW, "published": 2, "failed": 1},
            "2 published, 1 failed",
        ),
        (
            {"status": "ok", "finished_at": NOW, "retrying": 1, "waiting": 3},
            "1 to retry, 3 waiting for Late",
        ),
        (
            {"status": "error", "finished_at": NOW, "error": "Late\nrejected it"},
            "error: Late rejected it",
        ),
        ({"status": "error", "finished_at": NOW}, "error: unknown"),
        ({"status": "running"}, "still running, or stopped before it finished"),
        ({}, "still running, or stopped before it finished"),
    ],
)
def test_outcome_of_each_status(values: dict[str, Any], expected: str) -> None:
    run = LastRun(started_at=NOW, **values)
    assert describe_outcome(run) == expected


def test_unfinished_only_without_end() -> None:
    assert is_unfinished(LastRun(started_at=NOW, status="running"))
    assert not is_unfinished(LastRun(started_at=NOW, status="ok", finished_at=NOW))
    assert not is_unfinished(LastRun(started_at=NOW, status="error"))
