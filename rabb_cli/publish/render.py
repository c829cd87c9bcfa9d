"""The human output of `rabb run-due`: one line per post on stdout."""

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rabb_cli.output import STATUS_STYLES, make_console, printable
from rabb_cli.publish.report import Action, PostOutcome, RunReport
from rabb_cli.status import PostStatus
from rabb_cli.timeparse import format_local

if TYPE_CHECKING:
    from rich.text import Text

_ACTION_STYLES = {
    Action.PUBLISHED: STATUS_STYLES[PostStatus.PUBLISHED],
    Action.PARTIAL: STATUS_STYLES[PostStatus.PARTIAL],
    Action.FAILED: STATUS_STYLES[PostStatus.FAILED],
    Action.RETRY: STATUS_STYLES[PostStatus.SCHEDULED],
    Action.WAITING: STATUS_STYLES[PostStatus.PUBLISHING],
    Action.DEFERRED: STATUS_STYLES[PostStatus.SCHEDULED],
}


def render_report(report: RunReport, zone: tzinfo, max_attempts: int) -> None:
    """Print one line per post the run handled, or the plan of a dry run."""
    console = make_console()
    if report.dry_run:
        _render_plan(report, zone)
        return
    for outcome in report.outcomes:
        console.print(outcome_line(outcome, zone, max_attempts), soft_wrap=True)


def outcome_line(outcome: PostOutcome, zone: tzinfo, max_attempts: int) -> "Text":
    """Return the line for one post: its id, what happened, and the details."""
    from rich.text import Text

    line = Text(f"post {outcome.post_id}: ")
    line.append(outcome.action.upper(), style=_ACTION_STYLES[outcome.action])
    line.append(" " + printable(_details(outcome, zone, max_attempts), one_line=True))
    return line


def _details(outcome: PostOutcome, zone: tzinfo, max_attempts: int) -> str:
    reason = outcome.reason or ""
    urls = _urls_text(outcome.urls)
    when = (
        format_local(outcome.next_attempt_at, zone) if outcome.next_attempt_at else ""
    )
    action = outcome.action
    if action is Action.PUBLISHED:
        return urls + (f" ({reason})" if reason else "")
    if action is Action.PARTIAL:
        published = f"published on {urls}; " if urls else ""
        return f"{published}failed on {reason}"
    if action is Action.RETRY:
        return _retry_details(outcome, when, max_attempts)
    if action is Action.WAITING:
        return f"{reason}; next check at {when}"
    if action is Action.DEFERRED:
        return f"until {when}: {reason}"
    return reason


def _retry_details(outcome: PostOutcome, when: str, max_attempts: int) -> str:
    reason = outcome.reason or ""
    if outcome.attempt == 0 or not outcome.attempt_spent:
        # A conflict (Late still busy with the same key), or a failure that sent
        # nothing, costs no attempt.
        return f"at {when}, costing no attempt: {reason}"
    return (
        f"at {when} after attempt {outcome.attempt} of {max_attempts} failed: {reason}"
    )


def _urls_text(urls: list[tuple[str, str]]) -> str:
    """Return `twitter URL, bluesky URL`, naming a URL shared by targets once."""
    targets_by_url: dict[str, list[str]] = {}
    for target, url in urls:
        targets_by_url.setdefault(url, []).append(target)
    return ", ".join(
        f"{', '.join(targets)} {url}" for url, targets in targets_by_url.items()
    )


def _render_plan(report: RunReport, zone: tzinfo) -> None:
    from rich.text import Text

    console = make_console()
    alerts = report.alerts_due
    if alerts:
        noun = "alert" if alerts == 1 else "alerts"
        console.print(f"{alerts} failure {noun} would be sent by email.")
    if not report.planned:
        if not alerts:
            console.print("Nothing is due.")
        return
    count = len(report.planned)
    noun = "post is" if count == 1 else "posts are"
    console.print(
        f"Dry run with the {report.publisher} publisher: {count} {noun} due;"
        " nothing is sent or changed."
    )
    for planned in report.planned:
        due = (
            format_local(planned.scheduled_for, zone) if planned.scheduled_for else "-"
        )
        console.print(
            Text(
                f"post {planned.post_id} (due {due}):"
                f" {printable(planned.description, one_line=True)}"
            ),
            soft_wrap=True,
        )


def _local(instant: datetime | None, zone: tzinfo) -> str:
    return format_local(instant, zone) if instant else "-"
