"""`rabb run-due --dry-run`: what a run would do now, without changing anything.

The plan claims nothing, sends nothing (no post and no alert), records no run and
does not fetch accounts.
"""

from datetime import datetime

from rabb_cli import accounts
from rabb_cli.errors import InvalidInput
from rabb_cli.models import Account, Post
from rabb_cli.publish.alerts import count_due
from rabb_cli.publish.engine import classify_due, select_due
from rabb_cli.publish.report import DueKind, PlannedPost, RunReport
from rabb_cli.publish.settings import LATE, PublishSettings
from rabb_cli.status import TargetStatus
from rabb_cli.store import Store
from rabb_cli.textrules import TargetSpec
from rabb_cli.timeparse import format_duration


def plan_run(store: Store, settings: PublishSettings, now: datetime) -> RunReport:
    """Return a dry-run report of the posts due at `now`."""
    report = RunReport(None, now, settings.publisher, dry_run=True)
    due = select_due(store, now, settings.lease)
    report.due = len(due)
    with store.read() as session:
        cache = accounts.cached_accounts(session)
        for post_id in due:
            post = session.get(Post, post_id)
            kind = classify_due(post, now, settings.lease) if post else None
            if post is None or kind is None:
                continue
            description = describe(post, kind, settings, cache, now)
            report.planned.append(
                PlannedPost(post_id, kind, description, post.scheduled_for)
            )
    report.alerts_due = count_due(store, now, settings.lease)
    report.finished_at = now
    return report


def describe(
    post: Post,
    kind: DueKind,
    settings: PublishSettings,
    cache: list[Account],
    now: datetime,
) -> str:
    """Return one line saying what a run would do with a due post."""
    if kind is DueKind.CHECK:
        return f"would check Late post {post.late_post_id}"
    failure = _failure_before_sending(post, settings, now)
    if failure:
        return failure

    unpublished = [t for t in post.targets if t.status != TargetStatus.PUBLISHED.value]
    targets = ", ".join(target.selector for target in unpublished)
    attempt = f"attempt {post.attempts + 1} of {settings.max_attempts}"
    stopped = "; left publishing by a stopped run" if kind is DueKind.RESEND else ""
    if post.retries_on_late:
        return (
            f"would ask Late to retry its post {post.late_post_id} on the platforms"
            f" that failed ({attempt}{stopped})"
        )
    if post.attempt_key:
        return (
            f"would send again to {targets} with the same idempotency key"
            f" ({attempt}{stopped})"
        )

    problem = _account_problem(post, settings, cache)
    published = len(post.targets) - len(unpublished)
    kept = f"; {published} already published" if published else ""
    return problem or f"would publish to {targets} ({attempt}{kept})"


def _failure_before_sending(
    post: Post, settings: PublishSettings, now: datetime
) -> str | None:
    """Return how a run would fail the post without a request, as Engine does."""
    lateness = now - (post.scheduled_for or now)
    if lateness > settings.max_lateness:
        failure = (
            f"would fail: due {format_duration(lateness)} ago, more than"
            f" max_lateness ({format_duration(settings.max_lateness)})"
        )
        if post.attempts and post.last_error and not post.outcome_unknown:
            failure += f"; attempt {post.attempts} had failed: {post.last_error}"
        elif post.last_error and not post.outcome_unknown:
            failure += (
                f"; the last try had failed before reaching Late: {post.last_error}"
            )
        return failure
    if post.attempt_key_expired(now):
        return (
            f"would fail: an unanswered attempt's idempotency key {post.attempt_key}"
            " is more than 23 hours old, too old for Late to recognize it"
        )
    return None


def _account_problem(
    post: Post, settings: PublishSettings, cache: list[Account]
) -> str | None:
    # An empty cache is no problem yet: the run fetches the accounts first.
    if settings.publisher != LATE or not cache:
        return None
    resolved = []
    for target in post.targets:
        account_id = target.account_id
        if account_id is None:
            spec = TargetSpec(target.platform, target.account)
            try:
                account_id = accounts.resolve_target(spec, cache).id
            except InvalidInput as error:
                return f"would fail: cannot publish to -p {target.selector}: {error}"
        resolved.append((target.selector, account_id))

    repeated = accounts.repeated_account(resolved)
    if repeated is None:
        return None
    first, second, account_id = repeated
    return (
        f"would fail: -p {first} and -p {second} name the same account ({account_id})"
    )
