"""The last recorded `rabb run-due`, read with the standard sqlite3 module alone.

`rabb timer status` calls this on every invocation, so it imports no SQLAlchemy
and never creates or migrates the database. It reads the `run` table, which has
one row per run:

- `started_at` (required): when the run started, as UTC ISO 8601 text such as
  `2026-08-23T07:00:00.000000Z`, the format of `rabb_cli.models.UTCDateTime`.
- `finished_at` (optional): when it ended, NULL while it runs or after a crash.
- `status` (optional): the outcome as short text, such as `ok` or `failed`.
- `exit_code` (optional): the process exit code of the run.

A missing database, a missing table, a table without `started_at` or a value that
does not parse all mean "no run recorded", never an error.
"""

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_OPTIONAL_COLUMNS = ("finished_at", "status", "exit_code")


@dataclass(frozen=True)
class LastRun:
    """The newest row of the `run` table."""

    started_at: datetime
    finished_at: datetime | None = None
    status: str | None = None
    exit_code: int | None = None


def last_run(database: Path) -> LastRun | None:
    """Return the newest run recorded in `database`, or None when there is none."""
    if not database.is_file():
        return None
    # mode=rw never creates the file. Unlike mode=ro, it lets the connection remove
    # the WAL files on close, as every other rabb command does.
    try:
        connection = sqlite3.connect(
            f"{database.absolute().as_uri()}?mode=rw", uri=True, timeout=1
        )
    except sqlite3.Error:
        return None
    try:
        return _read_newest(connection)
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        connection.close()


def _read_newest(connection: sqlite3.Connection) -> LastRun | None:
    columns = {row[1] for row in connection.execute("PRAGMA table_info(run)")}
    if "started_at" not in columns:
        return None

    present = [name for name in _OPTIONAL_COLUMNS if name in columns]
    selected = ", ".join(["started_at", *present])
    row = connection.execute(
        f"SELECT {selected} FROM run ORDER BY started_at DESC LIMIT 1"  # noqa: S608
    ).fetchone()
    if row is None:
        return None

    values = dict(zip(["started_at", *present], row, strict=True))
    return LastRun(
        started_at=_parse_time(values["started_at"]),
        finished_at=_parse_optional_time(values.get("finished_at")),
        status=None if values.get("status") is None else str(values["status"]),
        exit_code=_parse_optional_int(values.get("exit_code")),
    )


def _parse_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_optional_time(value: Any) -> datetime | None:
    return None if value is None else _parse_time(value)


def _parse_optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
