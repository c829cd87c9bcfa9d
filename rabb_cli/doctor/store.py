"""The doctor's checks of the database: integrity, schema, posts stuck in PUBLISHING.

Every check opens the database read-only and never creates it.
"""

import shlex
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rabb_cli.dbfiles import names, permission_fix, unreadable_paths, unwritable_paths
from rabb_cli.doctor.base import (
    Finding,
    Setup,
    duration,
    error,
    no_config,
    ok,
    read_only,
    warning,
)
from rabb_cli.migrations import MIGRATIONS

if TYPE_CHECKING:
    from rabb_cli.config import Config

# Ids of stuck posts named in the message; more are counted.
MAX_NAMED_POSTS = 10


def check_database(setup: Setup) -> Finding:
    """Check that the database file exists and passes `PRAGMA quick_check`."""
    database = setup.paths.database
    # Checked first, because without search permission on the folder even
    # exists() fails.
    blocked = unreadable_paths(database)
    if blocked:
        return error(
            f"cannot read {database}: permission denied on {names(blocked)}",
            permission_fix(blocked),
        )
    if not database.exists():
        return warning(
            f"no database at {database} yet; rabb creates it with the first post",
            "compose a post; if your posts are elsewhere, check RABB_HOME",
        )
    if database.is_dir():
        return error(f"{database} is a folder, not a database file", _move_fix())
    try:
        with read_only(database) as connection:
            rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as failure:
        return _unreadable(database, failure)

    # A row may hold several problems, one per line, after a line such as
    # `*** in database main ***` (seen with SQLite 3.40).
    lines = [line for row in rows for line in str(row[0]).splitlines()]
    problems = [line for line in lines if line != "ok" and not line.startswith("***")]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return error(
            f"{database} is damaged: {' '.join(problems[0].split())}{more}",
            _restore_fix(database),
        )
    return _writable_finding(database)


def _writable_finding(database: Path) -> Finding:
    size = database.stat().st_size
    blocked = unwritable_paths(database)
    if blocked:
        return error(
            f"{database} passed PRAGMA quick_check, but rabb cannot write"
            f" {names(blocked)}, so no command can change a post",
            permission_fix(blocked),
        )
    return ok(f"{database} passed PRAGMA quick_check ({size:,} bytes)")


# The SQLite errors that mean the file's content is damaged. Others, such as
# SQLITE_CANTOPEN, come from permissions or the file system, where moving the
# file away would only hide every post from rabb.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _unreadable(database: Path, failure: sqlite3.DatabaseError) -> Finding:
    name = getattr(failure, "sqlite_errorname", "")
    if name == "SQLITE_BUSY":
        return warning(
            f"{database} could not be checked: another process holds a lock on it",
            "run 'rabb doctor' again in a minute",
        )
    if name.startswith(_DAMAGED):
        return error(f"{database} is damaged: {failure}", _restore_fix(database))
    # Even a read-only connection must create a missing -shm file of a WAL
    # database, so a folder it cannot write makes the read fail.
    blocked = unwritable_paths(database)
    if blocked:
        return error(
            f"cannot read {database} ({failure}), because rabb cannot write"
            f" {names(blocked)}",
            permission_fix(blocked),
        )
    return error(
        f"cannot read {database}: {failure}",
        f"check that you may read and write {database}, its -wal and -shm files"
        f" and its folder (ls -la {shlex.quote(str(database.parent))}); the"
        " posts are still in the file",
    )


def _restore_fix(database: Path) -> str:
    backups = sorted(database.parent.glob(f"{database.name}.v*.bak"))
    if backups:
        return f"restore it from a backup such as {backups[-1]}, or move it away"
    return _move_fix()


def _move_fix() -> str:
    return "restore it from a backup, or move it away so that rabb starts a new one"


def check_schema(setup: Setup) -> Finding:
    """Compare the database's schema version with the newest this rabb supports."""
    from rabb_cli import __version__

    database = setup.paths.database
    known = len(MIGRATIONS)
    if unreadable_paths(database):
        return warning("not checked, because the database cannot be read")
    if not database.exists():
        return ok(f"no database yet; rabb creates it at schema version {known}")
    try:
        with read_only(database) as connection:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return warning("not checked, because the database cannot be read")

    if version > known:
        return error(
            f"the database has schema version {version}, newer than {known}, the"
            f" newest that rabb {__version__} supports, so rabb cannot open it",
            "upgrade rabb to the version that last opened the database",
        )
    if version < known:
        return ok(
            f"schema version {version}; the next rabb command upgrades it to {known}"
            f" after copying the file to {database.name}.v{version}.bak"
        )
    return ok(f"schema version {version}, the current one")


# Every column, because a database not migrated yet lacks the newer ones.
_STUCK_QUERY = """
    SELECT * FROM post
    WHERE status = 'publishing' AND claimed_by IS NOT NULL AND claimed_at <= ?
    ORDER BY id
"""


def check_stuck_posts(setup: Setup) -> Finding:
    """Name the posts left PUBLISHING past the lease, and what the next run does."""
    from rabb_cli.publish.due import format_time

    config = setup.config
    if config is None:
        return no_config(setup)
    lease = config.get("publish.lease")
    database = setup.paths.database
    if unreadable_paths(database):
        return warning("not checked, because the database cannot be read")
    if not database.exists():
        return ok("no database yet, so no post is stuck")
    try:
        with read_only(database) as connection:
            connection.row_factory = sqlite3.Row
            cutoff = format_time(setup.now - lease)
            rows = connection.execute(_STUCK_QUERY, (cutoff,)).fetchall()
    except sqlite3.DatabaseError:
        return warning("not checked, because the database cannot be read")

    lease_text = f"publish.lease ({duration(lease)})"
    if not rows:
        return ok(f"no post has been PUBLISHING for longer than {lease_text}")
    plans = "; ".join(_next_run_plans(rows, config, setup.now))
    return warning(
        f"{_stuck_posts_text(rows)} been PUBLISHING for longer than {lease_text},"
        f" because the run that claimed {'it' if len(rows) == 1 else 'them'}"
        f" stopped: the next run-due {plans}",
        "nothing to do if the timer runs; else run 'rabb run-due'",
    )


def _stuck_posts_text(rows: list[sqlite3.Row]) -> str:
    ids = [str(row["id"]) for row in rows]
    named = ", ".join(ids[:MAX_NAMED_POSTS])
    if len(ids) > MAX_NAMED_POSTS:
        named += f" and {len(ids) - MAX_NAMED_POSTS} more"
    return f"post {named} has" if len(ids) == 1 else f"posts {named} have"


def _next_run_plans(
    rows: list[sqlite3.Row], config: "Config", now: datetime
) -> list[str]:
    """Group the stuck posts by what the next run does with each, as the engine does."""
    # NOTE: these rules restate classify_due and Engine._preflight in
    # rabb_cli/publish/engine.py; a change there needs the same change here.
    from rabb_cli.publish.due import parse_time

    max_attempts = config.get("publish.max_attempts")
    max_lateness = config.get("publish.max_lateness")
    groups: dict[str, list[str]] = {}
    for row in rows:
        due_at = parse_time(row["scheduled_for"]) or now
        claim_kind = _column(row, "claim_kind")
        if _claim_checks(row, claim_kind):
            plan = "checks {} on Late, which already has it"
        elif now - due_at > max_lateness:
            plan = "marks {} FAILED, because it is more than publish.max_lateness late"
        elif _key_expired(row, now):
            plan = "marks {} FAILED, because its unanswered key is too old to send"
        elif row["attempts"] >= max_attempts:
            plan = "marks {} FAILED, because its attempts are used up"
        elif claim_kind == "late_retry":
            plan = "asks Late again to retry {}, which never publishes one twice"
        else:
            plan = (
                "sends {} again with the same idempotency key, so none is posted twice"
            )
        groups.setdefault(plan, []).append(str(row["id"]))
    return [plan.format(_posts_named(ids)) for plan, ids in groups.items()]


def _posts_named(ids: list[str]) -> str:
    """Return `post 4`, `posts 4 and 7` or `posts 4, 7 and 9`."""
    if len(ids) == 1:
        return f"post {ids[0]}"
    return f"posts {', '.join(ids[:-1])} and {ids[-1]}"


def _claim_checks(row: sqlite3.Row, claim_kind: str | None) -> bool:
    """Return whether the stopped run was checking the post on Late."""
    if claim_kind is not None:
        return claim_kind == "check"
    # A claim stored before the kind was recorded: a create left its key.
    return bool(row["late_post_id"]) and not row["attempt_key"]


def _key_expired(row: sqlite3.Row, now: datetime) -> bool:
    """Return whether the run's attempt key is too old for Late, as Post does."""
    from rabb_cli.models import ATTEMPT_KEY_LIFETIME
    from rabb_cli.publish.due import parse_time

    if not row["attempt_key"]:
        return False
    sent_at = parse_time(_column(row, "attempt_sent_at"))
    return sent_at is None or now - sent_at >= ATTEMPT_KEY_LIFETIME


def _column(row: sqlite3.Row, name: str) -> str | None:
    return row[name] if name in row.keys() else None  # noqa: SIM118 - Row has no __contains__ for names.
