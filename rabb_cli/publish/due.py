"""The cheap check for due work, and the run records, on the standard sqlite3 module.

cron or a systemd timer starts `rabb run-due` every minute or so, and most runs find
nothing to do. This module answers "is anything due?" and records such an empty run
without SQLAlchemy, SQLModel, httpx or Rich, so that those runs stay cheap. It
imports only the standard library and `rabb_cli.migrations`, and may be called before
Typer is imported.

Work is due when one of these holds:
- a SCHEDULED post's time has come and its next attempt time (if any) has passed;
- a PUBLISHING post awaits a check on Late and the time of that check has come;
- a PUBLISHING post's claim is older than the lease, because the run that claimed it
  was stopped;
- a failure alert email is pending and its next attempt time has come (a transient
  Resend error last time), and no live run holds it;
- a failure alert that no email carries is older than the lease, because the run
  that recorded the failure stopped before it queued the email.
"""

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

from rabb_cli.migrations import MIGRATIONS

# The text form of `rabb_cli.models.UTCDateTime`. It has a fixed width, so comparing
# the text compares the instants.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
BUSY_TIMEOUT_SECONDS = 30
# Records of runs that found nothing due are deleted after this long.
EMPTY_RUN_RETENTION = timedelta(days=7)

# The condition for a due post, shared with the engine so both agree. Parameters:
# :now and :lease_cutoff (now minus the lease), both in TIME_FORMAT.
DUE_CONDITION = """
    (status = 'scheduled' AND scheduled_for <= :now
        AND (next_attempt_at IS NULL OR next_attempt_at <= :now))
    OR (status = 'publishing' AND claimed_by IS NULL AND next_attempt_at <= :now)
    OR (status = 'publishing' AND claimed_by IS NOT NULL
        AND claimed_at <= :lease_cutoff)
"""

# Failure alerts left to send, with the same parameters as DUE_CONDITION.
ALERT_DUE_CONDITION = """
    EXISTS (SELECT 1 FROM alert_email WHERE status = 'pending'
        AND next_attempt_at <= :now
        AND (claimed_by IS NULL OR claimed_at <= :lease_cutoff))
    OR EXISTS (SELECT 1 FROM alert WHERE alert_email_id IS NULL
        AND created_at <= :lease_cutoff)
"""

_RUN_COLUMNS = (
    "id, started_at, finished_at, pid, status, error, publisher,"
    " due, published, partial, failed, retrying, waiting"
)


class DueCheck(Enum):
    """The answer of `check_due`."""

    NOTHING_DUE = "nothing due"
    DUE = "due"
    # No database yet, or one whose schema this rabb must migrate first: the full
    # store has to open it.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RunSummary:
    """One row of the run table."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    pid: int
    status: str
    error: str | None
    publisher: str | None
    due: int
    published: int
    partial: int
    failed: int
    retrying: int
    waiting: int


def format_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def due_parameters(now: datetime, lease: timedelta) -> dict[str, str]:
    """Return the parameters of DUE_CONDITION for `now` and the lease."""
    return {"now": format_time(now), "lease_cutoff": format_time(now - lease)}


def check_due(
    database: Path,
    now: datetime,
    lease: timedelta,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> DueCheck:
    """Return whether any post or alert is due at `now`, reading the file directly."""
    if not database.exists():
        return DueCheck.UNKNOWN
    connection = _connect(database, busy_timeout)
    try:
        if not _schema_is_current(connection):
            return DueCheck.UNKNOWN
        query = (
            f"SELECT EXISTS (SELECT 1 FROM post WHERE {DUE_CONDITION})"  # noqa: S608 - constant text.
            f" OR {ALERT_DUE_CONDITION}"
        )
        row = connection.execute(query, due_parameters(now, lease)).fetchone()
    finally:
        connection.close()
    return DueCheck.DUE if row[0] else DueCheck.NOTHING_DUE


def record_empty_run(
    database: Path,
    started_at: datetime,
    finished_at: datetime,
    publisher: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> int:
    """Record a run that found nothing due and return its id.

    Records of empty runs older than EMPTY_RUN_RETENTION are deleted at the same
    time, so a job that runs every minute does not grow the database without end.
    """
    connection = _connect(database, busy_timeout)
    try:
        connection.execute("BEGIN IMMEDIATE")
        cursor = connection.execute(
            "INSERT INTO run (started_at, finished_at, pid, status, publisher)"
            " VALUES (?, ?, ?, 'ok', ?)",
            (format_time(started_at), format_time(finished_at), os.getpid(), publisher),
        )
        connection.execute(
            "DELETE FROM run WHERE due = 0 AND status = 'ok' AND started_at < ?",
            (format_time(started_at - EMPTY_RUN_RETENTION),),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return int(cursor.lastrowid or 0)


def settle_if_nothing_due(
    database: Path,
    now: datetime,
    lease: timedelta,
    publisher: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> int | None:
    """Record an empty run and return its id when nothing is due, else return None.

    None means the full engine must run: work is due, or the database is missing or
    needs a migration. `busy_timeout` is the wait for a lock, in seconds.
    """
    found = check_due(database, now, lease, busy_timeout=busy_timeout)
    if found is not DueCheck.NOTHING_DUE:
        return None
    return record_empty_run(
        database, now, datetime.now(UTC), publisher, busy_timeout=busy_timeout
    )


def last_run(database: Path) -> RunSummary | None:
    """Return the most recent run, or None when run-due has never run."""
    if not database.exists():
        return None
    connection = _connect(database)
    connection.row_factory = sqlite3.Row
    try:
        if not _schema_is_current(connection):
            return None
        row = connection.execute(
            f"SELECT {_RUN_COLUMNS} FROM run ORDER BY id DESC LIMIT 1"  # noqa: S608 - constant text.
        ).fetchone()
    finally:
        connection.close()
    return None if row is None else _summary(row)


def _summary(row: sqlite3.Row) -> RunSummary:
    started = parse_time(row["started_at"])
    assert started is not None  # The column is NOT NULL.
    return RunSummary(
        id=row["id"],
        started_at=started,
        finished_at=parse_time(row["finished_at"]),
        pid=row["pid"],
        status=row["status"],
        error=row["error"],
        publisher=row["publisher"],
        due=row["due"],
        published=row["published"],
        partial=row["partial"],
        failed=row["failed"],
        retrying=row["retrying"],
        waiting=row["waiting"],
    )


def _connect(
    database: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS
) -> sqlite3.Connection:
    # isolation_level=None leaves transactions to explicit BEGIN statements.
    return sqlite3.connect(database, timeout=busy_timeout, isolation_level=None)


def _schema_is_current(connection: sqlite3.Connection) -> bool:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    return bool(version == len(MIGRATIONS))


def record_failed_run(
    database: Path, started_at: datetime, error: str, publisher: str
) -> None:
    """Record a run that stopped before it looked for due work, such as without a key.

    Does nothing when the database does not exist or has another schema, so a
    missing key never creates or migrates the store.
    """
    if not database.exists():
        return
    connection = _connect(database)
    try:
        if not _schema_is_current(connection):
            return
        connection.execute(
            "INSERT INTO run (started_at, finished_at, pid, status, error, publisher)"
            " VALUES (?, ?, ?, 'error', ?, ?)",
            (
                format_time(started_at),
                format_time(datetime.now(UTC)),
                os.getpid(),
                error,
                publisher,
            ),
        )
    finally:
        connection.close()
