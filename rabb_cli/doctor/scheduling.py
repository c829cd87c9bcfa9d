"""The doctor's checks of scheduling: the timer or crontab line, and the last run."""

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rabb_cli.doctor.base import (
    Finding,
    Setup,
    Status,
    duration,
    error,
    ok,
    read_only,
    warning,
)
from rabb_cli.errors import RabbError
from rabb_cli.lastrun import (
    ERROR,
    LastRun,
    describe_outcome,
    is_unfinished,
    read_last_run,
)

if TYPE_CHECKING:
    from rabb_cli.schedulers import TimerStatus


def check_timer(setup: Setup) -> Finding:
    """Check that a systemd timer or a crontab line runs run-due."""
    try:
        timers = setup.timers
    except RabbError as failure:
        return warning(f"the timer could not be read: {failure}", failure.hint)
    if not timers:
        return warning(
            "no systemd timer or crontab line runs 'rabb run-due', so scheduled"
            " posts are never published",
            "run 'rabb timer install'",
        )

    described = _describe_timer(timers[0], setup)
    problems = _timer_problems(timers, setup)
    if not problems:
        return ok(described)
    worst = max(problems, key=lambda problem: problem.status == Status.ERROR)
    messages = "; ".join(problem.message for problem in problems)
    fixes = "; ".join(dict.fromkeys(p.fix for p in problems if p.fix))
    return Finding(worst.status, f"{described}, but {messages}", fixes or None)


def _describe_timer(timer: "TimerStatus", setup: Setup) -> str:
    from rabb_cli.timeparse import format_local

    kind = "systemd user timer" if timer.backend == "systemd" else "crontab line"
    state = f" ({timer.state})" if timer.state else ""
    every = (
        f"every {timer.interval}" if timer.interval else "on a schedule edited by hand"
    )
    text = f"{kind}{state} runs run-due {every}"
    if timer.next_run:
        text += f", next at {format_local(timer.next_run, setup.zone)}"
    return text


def _timer_problems(timers: "list[TimerStatus]", setup: Setup) -> list[Finding]:
    timer = timers[0]
    problems = []
    if len(timers) > 1:
        problems.append(
            warning(
                "a crontab line runs it too",
                "run 'rabb timer install' again to keep one of the two",
            )
        )
    if timer.state not in (None, "active", "installed"):
        problems.append(
            error(
                f"the timer is {timer.state}, so it starts nothing",
                "run 'rabb timer install' again",
            )
        )
    if "warning" in timer.details:
        problems.append(warning(timer.details["warning"]))
    problems += _service_exit_problem(timer)
    problems += _environment_problems(setup)
    return problems


def _service_exit_problem(timer: "TimerStatus") -> list[Finding]:
    status = timer.details.get("last_exit_status", "0")
    # 0 is success and 3 means a post failed, which the run itself records.
    if status in ("0", "3"):
        return []
    return [
        warning(
            f"its last run exited with status {status}",
            "see 'journalctl --user -u rabb-run-due.service'",
        )
    ]


def _environment_problems(setup: Setup) -> list[Finding]:
    """Return a problem for each setting that only this shell's environment sets."""
    from rabb_cli.schedulers import unpassed_settings

    config = setup.config
    if config is None:
        return []
    missed = [
        (variable, name)
        for variable, name in unpassed_settings(setup.environ)
        if config.source(name) == variable
    ]
    return [
        warning(
            f"it runs without {variable}, which only this shell sets",
            f"set {name} in {setup.paths.config_file}",
        )
        for variable, name in missed
    ]


def check_last_run(setup: Setup) -> Finding:
    """Check when run-due last ran, and that the timer has run it on time."""
    try:
        latest = _read_latest_run(setup.paths.database)
    except (sqlite3.DatabaseError, ValueError, PermissionError):
        return warning("not checked, because the database cannot be read")
    if latest is None:
        return _no_run(setup)

    summary = _run_summary(latest, setup)
    age = setup.now - latest.started_at
    if latest.status == ERROR:
        return error(summary, "run 'rabb run-due -v' to see the error as it happens")
    if is_unfinished(latest):
        return _unfinished_run(latest, summary, age, setup)
    interval = _safe_interval(setup)
    # An error, not a warning: no run for two intervals means that due posts are
    # not being published at all, and scripts that run `rabb doctor` as a health
    # check should see exit status 1.
    if interval is not None and age > 2 * interval:
        return error(
            f"{summary}; that is more than twice the timer's interval of"
            f" {duration(interval)}, so the timer has stopped running run-due",
            _stale_fix(setup),
        )
    return ok(summary)


def _read_latest_run(database: Path) -> LastRun | None:
    if not database.exists():
        return None
    with read_only(database) as connection:
        return read_last_run(connection)


def _no_run(setup: Setup) -> Finding:
    if not _safe_timers(setup):
        fix = "run 'rabb timer install'"
    else:
        fix = f"wait one interval; if no run appears, {_stale_fix(setup)}"
    return warning("no run of run-due is recorded yet", fix)


def _run_summary(latest: LastRun, setup: Setup) -> str:
    from rabb_cli.timeparse import format_local

    when = format_local(latest.started_at, setup.zone)
    ago = duration(setup.now - latest.started_at)
    return f"last run {when} ({ago} ago): {describe_outcome(latest)}"


def _unfinished_run(
    latest: LastRun, summary: str, age: timedelta, setup: Setup
) -> Finding:
    lease = setup.config.get("publish.lease") if setup.config else None
    if lease is None or age <= lease:
        return ok(summary)
    from rabb_cli.timeparse import format_local

    when = format_local(latest.started_at, setup.zone)
    return warning(
        f"the last run, at {when} ({duration(age)} ago), was stopped before it"
        " finished",
        "nothing to do: the next run takes over the posts it had claimed",
    )


def _safe_interval(setup: Setup) -> timedelta | None:
    try:
        return setup.interval
    except RabbError:
        return None


def _safe_timers(setup: Setup) -> "list[TimerStatus]":
    try:
        return setup.timers
    except RabbError:
        return []


def _stale_fix(setup: Setup) -> str:
    if any(timer.backend == "systemd" for timer in _safe_timers(setup)):
        return (
            "see 'systemctl --user status rabb-run-due.timer' and"
            " 'journalctl --user -u rabb-run-due.service'"
        )
    return f"check that cron is running, and read {setup.paths.log_file}"
