"""The checks of `rabb doctor`: is everything in place for run-due to publish?

Each check is one small function that takes a `Setup` and returns a `Finding`:
ok, warning or error, a one-line message and, unless ok, the fix. `run_checks`
runs them all, and turns a check that raises into an error line of its own, so a
bug in one check never hides the others.

The checks only read. The database is opened read-only (`mode=ro`) and never
created, Late is asked for the account list and nothing else, no email is sent,
and every message passes through the key redaction.
"""

import os
from collections.abc import Callable, Mapping
from datetime import datetime

from rabb_cli.doctor.base import CheckResult, Finding, Setup, Status
from rabb_cli.doctor.scheduling import check_last_run, check_timer
from rabb_cli.doctor.settings import (
    check_config,
    check_late_key,
    check_resend,
    check_zone,
)
from rabb_cli.doctor.store import check_database, check_schema, check_stuck_posts
from rabb_cli.paths import Paths
from rabb_cli.redact import redact

__all__ = [
    "CHECKS",
    "CheckResult",
    "Finding",
    "Setup",
    "Status",
    "make_setup",
    "run_checks",
]

Check = Callable[[Setup], Finding]


CHECKS: dict[str, Check] = {
    "config": check_config,
    "late_key": check_late_key,
    "resend": check_resend,
    "database": check_database,
    "schema": check_schema,
    "timer": check_timer,
    "last_run": check_last_run,
    "stuck_posts": check_stuck_posts,
    "zone": check_zone,
}


def run_checks(
    setup: Setup, checks: "Mapping[str, Check] | None" = None
) -> list[CheckResult]:
    """Run every check and return one result each, in order."""
    results = []
    for name, check in (checks or CHECKS).items():
        try:
            finding = check(setup)
        except Exception as failure:  # A bug in one check must not hide the rest.
            results.append(_crashed(name, failure))
            continue
        fix = redact(finding.fix) if finding.fix else None
        results.append(CheckResult(name, finding.status, redact(finding.message), fix))
    return results


def _crashed(name: str, failure: Exception) -> CheckResult:
    message = f"the check failed: {type(failure).__name__}: {failure}"
    fix = "run 'rabb --debug doctor' for the traceback, and report it as a bug in rabb"
    return CheckResult(name, Status.ERROR, redact(message), fix, failure)


def make_setup(paths: Paths, now: datetime) -> Setup:
    """Return the Setup of this process: its paths, environment and clock."""
    return Setup(paths, os.environ, now)
