"""The last recorded `rabb run-due`, read with the standard sqlite3 module alone.

`rabb timer status` and `rabb doctor` call this, so it imports no SQLAlchemy and
never creates or migrates the database. It reads the `run` table, where run-due
records one row per run (see `rabb_cli.publish.engine` and
`rabb_cli.publish.due.record_empty_run`):

- `started_at`: when the run started, as UTC ISO 8601 text such as
  `2026-08-23T07:00:00.000000Z`, the format of `rabb_cli.models.UTCDateTime`.
- `finished_at`: when it ended; NULL while it runs, and forever after a run that
  was killed.
- `status`: `running` from the start until the run ends, then `ok`, or `error`
  when a run-level error (such as a 401 from Late) ended it. An `ok` run may still
  have failed posts, counted in `failed` and `partial`.
- `error`: the message of that run-level error.
- `due`, `published`, `partial`, `failed`, `retrying`, `waiting`: post counts.

Only `started_at` is required, so a table from an older or newer rabb still
reads. A missing database, a missing table or a time that does not parse all
mean "no run recorded", never an error.
"""

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

RUNNING = "running"
OK = "ok"
ERROR = "error"

_TEXT_COLUMNS = ("finished_at", "status", "error")
_COUNT_COLUMNS = ("due", "published", "partial", "failed", "retrying", "waiting")


class RecordedRun(Protocol):
    """The columns of a `run` row that describe what the run did."""

    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def published(self) -> int: ...
    @property
    def partial(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def retrying(self) -> int: ...
    @property
    def waiting(self) -> int: ...


@dataclass(frozen=True)
class LastRun:
    """The newest row of the `run` table."""

    started_at: datetime
    finished_at: datetime | None = None
    status: str | None = None
    error: str | None = None
    due: int = 0
    published: int = 0
    partial: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0


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
        return read_last_run(connection)
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        connection.close()


def read_last_run(connection: sqlite3.Connection) -> LastRun | None:
    """Return the newest run through an open connection, or None.

    Raises sqlite3.Error when the database cannot be read, and ValueError when a
    stored time does not parse.
    """
    columns = {row[1] for row in connection.execute("PRAGMA table_info(run)")}
    if "started_at" not in columns:
        return None

    present = [name for name in (*_TEXT_COLUMNS, *_COUNT_COLUMNS) if name in columns]
    selected = ", ".join(["started_at", *present])
    # The id orders runs as they were recorded, even when the clock went back.
    order = "id" if "id" in columns else "started_at"
    row = connection.execute(
        f"SELECT {selected} FROM run ORDER BY {order} DESC LIMIT 1"  # noqa: S608
    ).fetchone()
    if row is None:
        return None

    values = dict(zip(["started_at", *present], row, strict=True))
    counts = {name: int(values.get(name) or 0) for name in _COUNT_COLUMNS}
    return LastRun(
        started_at=_parse_time(values["started_at"]),
        finished_at=_parse_optional_time(values.get("finished_at")),
        status=_optional_text(values.get("status")),
        error=_optional_text(values.get("error")),
        **counts,
    )


def is_unfinished(run: RecordedRun) -> bool:
    """Return whether `run` is still running or was stopped before it ended."""
    return run.finished_at is None and run.status in (None, RUNNING)


def describe_outcome(run: RecordedRun) -> str:
    """Return what a run did, in a few words, from the status it recorded."""
    if run.status == ERROR:
        return f"error: {' '.join((run.error or 'unknown').split())}"
    if is_unfinished(run):
        return "still running, or stopped before it finished"
    counts = [
        (run.published, "published"),
        (run.partial, "partial"),
        (run.failed, "failed"),
        (run.retrying, "to retry"),
        (run.waiting, "waiting for Late"),
    ]
    done = [f"{count} {label}" for count, label in counts if count]
    return ", ".join(done) if done else "nothing was due"


def _parse_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_optional_time(value: Any) -> datetime | None:
    return None if value is None else _parse_time(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)
