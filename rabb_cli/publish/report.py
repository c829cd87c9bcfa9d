"""The report of a run of `rabb run-due` (or of a dry run) and its JSON form.

`RunReport.failed_posts()` is the one place that lists the posts that ended FAILED or
PARTIAL in a run.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rabb_cli.errors import RabbError
from rabb_cli.status import PostStatus
from rabb_cli.timeparse import format_utc


class DueKind(StrEnum):
    """The reason a post is due."""

    # A SCHEDULED post whose time (and next attempt time) has come.
    SEND = "send"
    # Left PUBLISHING by a run that stopped: send again with the same key.
    RESEND = "resend"
    # Late has the post and was still publishing it: read its status.
    CHECK = "check"


class ClaimKind(StrEnum):
    """The request a run claims a post for, stored with the claim.

    A run that takes over a claim left by a stopped run sends the same request
    again, whatever the post's other columns contain.
    """

    # POST /v1/posts with the attempt's idempotency key.
    CREATE = "create"
    # POST /v1/posts/{id}/retry on the Late post `late_post_id`.
    LATE_RETRY = "late_retry"
    # GET /v1/posts/{id} on the Late post `late_post_id`.
    CHECK = "check"


class Action(StrEnum):
    """The action a run took with a post, as its output line reports it."""

    PUBLISHED = "published"
    PARTIAL = "partial"
    FAILED = "failed"
    RETRY = "retry"
    WAITING = "waiting"
    DEFERRED = "deferred"


@dataclass
class PostOutcome:
    """The result of one post in a run."""

    post_id: int
    status: PostStatus
    action: Action
    reason: str | None = None
    # (target, URL) of each target published with a URL.
    urls: list[tuple[str, str]] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    attempt: int = 0
    late_post_id: str | None = None
    # False when this run's try failed in a way that spends no attempt.
    attempt_spent: bool = True
    # True when the failed try never reached Late (a refused connection, a 429).
    not_sent: bool = False

    @property
    def ended_failed(self) -> bool:
        return self.status in (PostStatus.FAILED, PostStatus.PARTIAL)


@dataclass
class AlertOutcome:
    """What a run did with one failure alert email."""

    email_id: int
    post_ids: list[int]
    # sent, pending (to send again) or failed.
    status: str
    digest: bool = False
    resend_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass
class PlannedPost:
    """A due post and the action a run would take with it (`--dry-run`)."""

    post_id: int
    kind: DueKind
    description: str
    scheduled_for: datetime | None


@dataclass
class RunReport:
    """The result of one run: its record and the outcome of every post it handled."""

    run_id: int | None
    started_at: datetime
    publisher: str
    dry_run: bool = False
    finished_at: datetime | None = None
    due: int = 0
    outcomes: list[PostOutcome] = field(default_factory=list)
    planned: list[PlannedPost] = field(default_factory=list)
    # The run-level error that ended the run early, if any.
    error: RabbError | None = None
    # The failure alert emails the run sent or tried to send.
    alerts: list[AlertOutcome] = field(default_factory=list)
    # For a dry run: the failure alerts a run would send.
    alerts_due: int = 0
    # The signal (SIGINT or SIGTERM) that stopped the run early, if any.
    stopped_by: int | None = None

    def failed_posts(self) -> list[PostOutcome]:
        """Return the posts that ended FAILED or PARTIAL in this run."""
        return [outcome for outcome in self.outcomes if outcome.ended_failed]

    def count(self, action: Action) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action is action)


def report_to_json(report: RunReport) -> dict[str, Any]:
    """Return the JSON form of a report: lowercase words, UTC times with `Z`."""
    data: dict[str, Any] = {
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "publisher": report.publisher,
        "started_at": _iso(report.started_at),
        "finished_at": _iso(report.finished_at),
        "due": report.due,
    }
    if report.dry_run:
        data["posts"] = [
            {
                "id": planned.post_id,
                "kind": planned.kind.value,
                "description": planned.description,
                "scheduled_for": _iso(planned.scheduled_for),
            }
            for planned in report.planned
        ]
        data["alerts_due"] = report.alerts_due
        return data
    data["posts"] = [_outcome_to_json(outcome) for outcome in report.outcomes]
    data["failed"] = [outcome.post_id for outcome in report.failed_posts()]
    data["error"] = str(report.error) if report.error else None
    data["alerts"] = [_alert_to_json(alert) for alert in report.alerts]
    return data


def _alert_to_json(alert: AlertOutcome) -> dict[str, Any]:
    return {
        "email_id": alert.email_id,
        "posts": alert.post_ids,
        "digest": alert.digest,
        "status": alert.status,
        "resend_id": alert.resend_id,
        "error": alert.error,
        "next_attempt_at": _iso(alert.next_attempt_at),
    }


def _outcome_to_json(outcome: PostOutcome) -> dict[str, Any]:
    return {
        "id": outcome.post_id,
        "status": outcome.status.value,
        "action": outcome.action.value,
        "reason": outcome.reason,
        "urls": [{"target": target, "url": url} for target, url in outcome.urls],
        "next_attempt_at": _iso(outcome.next_attempt_at),
        "attempt": outcome.attempt,
        "late_post_id": outcome.late_post_id,
    }


def _iso(value: datetime | None) -> str | None:
    return format_utc(value) if value else None
