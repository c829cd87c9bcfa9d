"""Finishing a `rabb run-due` that finds nothing due, with the sqlite3 module alone.

Two callers share these functions, so both print the same output: the `run-due`
command, and the fast path in `rabb_cli.cli` that finishes the run before Typer is
imported. This module imports only the standard library and light rabb modules,
and builds the JSON report only for `--json`.
"""

import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rabb_cli.publish.due import (
    BUSY_TIMEOUT_SECONDS,
    DueCheck,
    check_due,
    settle_if_nothing_due,
)
from rabb_cli.publish.settings import PublishSettings


@dataclass(frozen=True)
class EmptyRun:
    """A run that found nothing due; a dry run has no record and no id."""

    run_id: int | None
    started_at: datetime
    publisher: str
    dry_run: bool


def settle_empty_run(
    database: Path,
    settings: PublishSettings,
    started: datetime,
    *,
    dry_run: bool,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> EmptyRun | None:
    """Record a run that finds nothing due and return it, or return None.

    None means the full engine must run: work is due, the database is missing or
    needs a migration, or sqlite3 cannot read it (the file is damaged, or another
    process held its write lock for longer than `busy_timeout` seconds). The store
    then opens the database and reports any problem in its own words. A dry run
    records nothing, and a missing database has nothing due for it, because a dry
    run never creates one.
    """
    try:
        if dry_run:
            return _check_dry_run(database, settings, started, busy_timeout)
        run_id = settle_if_nothing_due(
            database,
            started,
            settings.lease,
            settings.publisher,
            busy_timeout=busy_timeout,
        )
    except sqlite3.DatabaseError:
        return None
    if run_id is None:
        return None
    return EmptyRun(run_id, started, settings.publisher, dry_run=False)


def _check_dry_run(
    database: Path, settings: PublishSettings, started: datetime, busy_timeout: float
) -> EmptyRun | None:
    found = check_due(database, started, settings.lease, busy_timeout=busy_timeout)
    if database.exists() and found is not DueCheck.NOTHING_DUE:
        return None
    return EmptyRun(None, started, settings.publisher, dry_run=True)


def print_empty_run(run: EmptyRun, finished_at: datetime, json_output: bool) -> None:
    """Print the outcome of an empty run: JSON, a line on a terminal, or nothing."""
    if json_output:
        import json

        from rabb_cli.publish.report import RunReport, report_to_json

        report = RunReport(run.run_id, run.started_at, run.publisher, run.dry_run)
        report.finished_at = finished_at
        sys.stdout.write(json.dumps(report_to_json(report), indent=2) + "\n")
    elif sys.stdout.isatty():
        # Silent under cron, which mails any output.
        sys.stdout.write("Nothing is due.\n")
