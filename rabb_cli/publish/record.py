"""Recording of outcomes: the changes to a claimed post's status, attempts, times
and targets.

Every function here runs inside the write transaction that records the outcome, on a
post the recording run has claimed.
"""

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rabb_cli.models import Post, Target
from rabb_cli.publish.backoff import check_time, next_attempt_time
from rabb_cli.publish.late import Outcome, OutcomeKind, PublishRequest, TargetResult
from rabb_cli.publish.report import Action, DueKind, PostOutcome
from rabb_cli.publish.settings import PublishSettings
from rabb_cli.status import PostStatus, TargetStatus

UNKNOWN_OUTCOME_NOTE = (
    "the outcome of an attempt is unknown, so Late may have published it: check"
    " Late before sending it again"
)
_FINAL = {
    OutcomeKind.PUBLISHED: PostStatus.PUBLISHED,
    OutcomeKind.PARTIAL: PostStatus.PARTIAL,
    OutcomeKind.FAILED: PostStatus.FAILED,
}


@dataclass(frozen=True)
class PostState:
    """The columns a released claim restores, as they were before the claim."""

    status: str
    attempts: int
    attempt_key: str | None
    claimed_at: datetime | None
    claimed_by: str | None
    next_attempt_at: datetime | None
    updated_at: datetime
    # (target id, account id) of each target, since the claim resolves accounts.
    account_ids: tuple[tuple[int | None, str | None], ...]

    @classmethod
    def of(cls, post: Post) -> "PostState":
        return cls(
            post.status,
            post.attempts,
            post.attempt_key,
            post.claimed_at,
            post.claimed_by,
            post.next_attempt_at,
            post.updated_at,
            tuple((target.id, target.account_id) for target in post.targets),
        )


@dataclass(frozen=True)
class Claim:
    """A post this run has claimed, and what to do with it."""

    post_id: int
    kind: DueKind
    attempt: int
    previous: PostState
    # The time between the last two checks on Late, for a post Late keeps publishing.
    check_interval: timedelta | None = None
    request: PublishRequest | None = None
    late_post_id: str | None = None
    # An outcome known before any request, such as a post too late to publish.
    preflight: Outcome | None = None
    # True when the attempt requests a retry of Late's post `late_post_id`.
    late_retry: bool = False


class OutcomeRecorder:
    """Applies outcomes to claimed posts with one run's settings and jitter source."""

    def __init__(self, settings: PublishSettings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        # random.Random is not safe to share by threads without a lock.
        self._rng_lock = threading.Lock()

    def apply(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Change the claimed post by `outcome` and return its line of the report."""
        kind = outcome.kind
        if kind is OutcomeKind.WAITING and not (
            outcome.late_post_id or post.late_post_id
        ):
            # Late named no post to check, so ask again with the same key.
            kind = OutcomeKind.RETRY
            outcome = replace(outcome, kind=kind, outcome_unknown=True)
        if kind in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DEFERRED):
            return self._release(post, claim, outcome)
        post.updated_at = now
        if kind in _FINAL:
            return self._finish(post, claim, outcome, now)
        if kind is OutcomeKind.WAITING or claim.kind is DueKind.CHECK:
            return self._wait(post, claim, outcome, now)
        return self._reschedule(post, claim, outcome, now)

    def _finish(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        _apply_targets(post.targets, outcome.targets, _FINAL[outcome.kind], now)
        # A retry sends only the platforms not published yet, so a retry that fails
        # leaves a post that is still published on the others: PARTIAL.
        status = _settled_status(_FINAL[outcome.kind], post.targets)
        post.status = status.value

        _note_late_post(post, outcome)
        if claim.preflight is None:
            # An outcome known before any request carries no status of Late's post.
            post.late_status = outcome.late_status
        if status is not PostStatus.FAILED:
            post.published_at = outcome.published_at or now
        post.failure_reason = None if status is PostStatus.PUBLISHED else outcome.reason
        post.last_error = None

        post.attempts = claim.attempt
        post.attempt_key = _key_after(claim, outcome)
        post.next_attempt_at = post.claimed_at = post.claimed_by = None
        if status is PostStatus.FAILED and post.attempt_key is None:
            # Settled: a later retry resolves the accounts afresh.
            for target in post.targets:
                target.account_id = None
        return PostOutcome(
            post_id=claim.post_id,
            status=status,
            action=Action(status.value),
            # A published post may carry a note, such as a duplicate found on Late.
            reason=outcome.reason,
            urls=[(t.selector, t.url) for t in post.targets if t.url],
            attempt=claim.attempt,
            late_post_id=post.late_post_id,
        )

    def _wait(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Leave the post PUBLISHING on Late's side and plan the next check."""
        post.status = PostStatus.PUBLISHING.value
        _note_late_post(post, outcome)
        if outcome.kind is OutcomeKind.WAITING:
            post.late_status = outcome.late_status or post.late_status
            _apply_targets(post.targets, outcome.targets, PostStatus.PUBLISHING, now)
        else:
            post.last_error = outcome.reason
        post.attempts = claim.attempt
        post.attempt_key = None
        post.claimed_at = post.claimed_by = None
        post.next_attempt_at = check_time(
            now,
            claim.check_interval,
            self.settings.backoff_base,
            self.settings.backoff_max,
            outcome.not_before,
        )
        return PostOutcome(
            post_id=claim.post_id,
            status=PostStatus.PUBLISHING,
            action=Action.WAITING,
            reason=outcome.reason,
            next_attempt_at=post.next_attempt_at,
            attempt=claim.attempt,
            late_post_id=post.late_post_id,
        )

    def _reschedule(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Plan another attempt after a transient failure, or give up after the last."""
        # A 409 for a key still in process is Late's doing, so it costs no attempt.
        spent = outcome.kind is not OutcomeKind.CONFLICT
        attempt = claim.attempt if spent else claim.previous.attempts
        post.attempts = attempt
        post.attempt_key = _key_after(claim, outcome)
        post.last_error = outcome.reason
        post.claimed_at = post.claimed_by = None
        if outcome.late_refused_retry:
            # Late will not retry its post, so the next attempt creates a new one.
            post.late_status = None
        if spent and attempt >= self.settings.max_attempts:
            return self._give_up(post, claim, outcome, now)

        with self._rng_lock:
            post.next_attempt_at = next_attempt_time(
                now,
                max(attempt, 1),
                self.settings.backoff_base,
                self.settings.backoff_max,
                self.rng,
                outcome.not_before,
            )
        post.status = PostStatus.SCHEDULED.value
        return PostOutcome(
            post_id=claim.post_id,
            status=PostStatus.SCHEDULED,
            action=Action.RETRY,
            reason=outcome.reason,
            next_attempt_at=post.next_attempt_at,
            attempt=attempt,
        )

    def _give_up(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        reason = f"gave up after {post.attempts} attempts: {outcome.reason}"
        if post.attempt_key:
            reason += f"; {UNKNOWN_OUTCOME_NOTE}"
        _apply_targets(post.targets, (), PostStatus.FAILED, now)
        status = _settled_status(PostStatus.FAILED, post.targets)
        post.status = status.value
        post.failure_reason = reason
        post.next_attempt_at = None
        return PostOutcome(
            post_id=claim.post_id,
            status=status,
            action=Action(status.value),
            reason=reason,
            urls=[(t.selector, t.url) for t in post.targets if t.url],
            attempt=post.attempts,
            late_post_id=post.late_post_id,
        )

    def _release(self, post: Post, claim: Claim, outcome: Outcome) -> PostOutcome:
        """Undo the claim, spending no attempt; retry no sooner than `not_before`."""
        previous = claim.previous
        post.status = previous.status
        post.attempts = previous.attempts
        post.attempt_key = previous.attempt_key
        post.claimed_at = previous.claimed_at
        post.claimed_by = previous.claimed_by
        post.next_attempt_at = previous.next_attempt_at
        post.updated_at = previous.updated_at
        account_ids = dict(previous.account_ids)
        for target in post.targets:
            target.account_id = account_ids.get(target.id, target.account_id)
        later = outcome.not_before
        if later and (post.next_attempt_at is None or later > post.next_attempt_at):
            post.next_attempt_at = later
        return PostOutcome(
            post_id=claim.post_id,
            status=post.post_status,
            action=Action.DEFERRED,
            reason=outcome.reason,
            next_attempt_at=post.next_attempt_at,
            attempt=previous.attempts,
        )


def _key_after(claim: Claim, outcome: Outcome) -> str | None:
    """Return the attempt key to keep: set while Late may have an unanswered attempt."""
    answered = outcome.kind in (*_FINAL, OutcomeKind.WAITING)
    if answered and claim.preflight is None:
        return None
    if outcome.outcome_unknown and claim.request is not None:
        return claim.request.idempotency_key
    return claim.previous.attempt_key


def _note_late_post(post: Post, outcome: Outcome) -> None:
    """Record the Late post an outcome names, and that it has the current content."""
    if outcome.late_post_id:
        post.late_post_id = outcome.late_post_id
        post.late_revision = post.revision


def _settled_status(status: PostStatus, targets: Sequence[Target]) -> PostStatus:
    published = any(_was_published(target) for target in targets)
    if status is PostStatus.FAILED and published:
        return PostStatus.PARTIAL
    return status


def _apply_targets(
    targets: list[Target],
    results: Sequence[TargetResult],
    status: PostStatus,
    now: datetime,
) -> None:
    """Copy Late's per-platform results onto the post's targets.

    A target published before keeps its result when a retry that did not send it
    fails.
    """
    unused = list(results)
    for target in targets:
        result = _matching_result(target, unused)
        if result is not None:
            unused.remove(result)
            if _was_published(target) and result.status is not TargetStatus.PUBLISHED:
                continue  # A platform that published stays published.
            target.status = result.status.value
            target.url = result.url or target.url
            target.platform_post_id = result.platform_post_id or target.platform_post_id
            target.error = result.error
            target.error_category = result.error_category
            if result.status is TargetStatus.PUBLISHED:
                target.published_at = result.published_at or now
        elif status is PostStatus.PUBLISHED:
            target.status = TargetStatus.PUBLISHED.value
            target.published_at = target.published_at or now
        elif status is PostStatus.FAILED and not _was_published(target):
            target.status = TargetStatus.FAILED.value


def _matching_result(
    target: Target, results: Sequence[TargetResult]
) -> TargetResult | None:
    same_platform = [r for r in results if r.platform == target.platform]
    for result in same_platform:
        if target.account_id and result.account_id == target.account_id:
            return result
    if _was_published(target):
        # A retry does not send a published target again, so only a result for
        # its own account can be about it.
        return None
    return same_platform[0] if same_platform else None


def _was_published(target: Target) -> bool:
    return target.status == TargetStatus.PUBLISHED.value
