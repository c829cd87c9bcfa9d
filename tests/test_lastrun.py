"""Reading the last `run-due` from the `run` table with sqlite3 alone."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from rabb_cli.lastrun import LastRun, last_run


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


def test_newest_run_with_every_column(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "rabb.db",
        "CREATE TABLE run (id INTEGER PRIMARY KEY, started_at VARCHAR(27),"
        " finished_at VARCHAR(27), status VARCHAR, exit_code INTEGER, pid INTEGER)",
        "INSERT INTO run VALUES (1, '2031-01-03T10:00:00.000000Z',"
        " '2031-01-03T10:00:02.500000Z', 'ok', 0, 11)",
        "INSERT INTO run VALUES (2, '2031-01-03T10:05:00.000000Z', NULL, 'failed',"
        " 3, 12)",
        "INSERT INTO run VALUES (3, '2031-01-03T09:55:00.000000Z',"
        " '2031-01-03T09:55:01.000000Z', 'ok', 0, 10)",
    )

    found = last_run(database)

    assert found == LastRun(
        started_at=datetime(2031, 1, 3, 10, 5, tzinfo=UTC),
        finished_at=None,
        status="failed",
        exit_code=3,
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
