"""Recording of outcomes: the changes to a claimed post's status, attempts, times
and targets.

Every function here runs inside the write transaction that records the outcome, on a
post the recording run has claimed.
"""

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from rabb_cli.models import MAX_WAIT_ON_LATE, Post, Target
from rabb_cli.publish.backoff import (
    check_time,
    next_attempt_time,
    unsent_backoff_step,
)
from rabb_cli.publish.late import Outcome, OutcomeKind, PublishRequest, TargetResult
from rabb_cli.publish.report import Action, ClaimKind, DueKind, PostOutcome
from rabb_cli.publish.settings import PublishSettings
from rabb_cli.redact import redact
from rabb_cli.status import PostStatus, TargetStatus
from rabb_cli.timeparse import format_duration, format_local

UNKNOWN_OUTCOME_NOTE = (
    "the outcome of an attempt is unknown, so Late may have published it: check"
    " Late before sending it again"
)
# The errorCategory rabb gives a target that a rejected duplicate left unsent.
NOT_SENT_CATEGORY = "not_sent"
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
    attempt_sent_at: datetime | None
    late_unsettled: bool
    claimed_at: datetime | None
    claimed_by: str | None
    claim_kind: str | None
    next_attempt_at: datetime | None
    updated_at: datetime
    # (target id, account id) of each target, since the claim resolves accounts.
    account_ids: tuple[tuple[int | None, str | None], ...]

    @classmethod
    def of(cls, post: Post) -> "PostState":
        return cls(
            status=post.status,
            attempts=post.attempts,
            attempt_key=post.attempt_key,
            attempt_sent_at=post.attempt_sent_at,
            late_unsettled=post.late_unsettled,
            claimed_at=post.claimed_at,
            claimed_by=post.claimed_by,
            claim_kind=post.claim_kind,
            next_attempt_at=post.next_attempt_at,
            updated_at=post.updated_at,
            account_ids=tuple((t.id, t.account_id) for t in post.targets),
        )


@dataclass(frozen=True)
class Claim:
    """A post this run has claimed, and what to do with it."""

    post_id: int
    kind: DueKind
    claim_kind: ClaimKind
    attempt: int
    previous: PostState
    # The time between the last two checks on Late, for a post Late keeps publishing.
    check_interval: timedelta | None = None
    request: PublishRequest | None = None
    # When the request's idempotency key was first sent: now, or the time of the
    # earlier attempt whose key it reuses.
    key_sent_at: datetime | None = None
    late_post_id: str | None = None
    # An outcome known before any request, such as a post too late to publish.
    preflight: Outcome | None = None
    # True when the attempt requests a retry of Late's post `late_post_id`.
    late_retry: bool = False
    # True when a check reads a Late post that rabb did not create for this
    # content (the original of a duplicate), so only some of its results apply.
    checks_other_post: bool = False


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
        if outcome.other_post or claim.checks_other_post:
            outcome = results_for_targets(outcome, post.targets)
        else:
            outcome = _confirm_every_target(outcome, claim, post)
        kind = outcome.kind
        if kind is OutcomeKind.WAITING and not (
            outcome.late_post_id or post.late_post_id
        ):
            # Late named no post to check, so ask again with the same key.
            kind = OutcomeKind.RETRY
            outcome = replace(outcome, kind=kind, outcome_unknown=True)
        if kind in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DEFERRED):
            return self._release(post, claim, outcome, now)
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

        _note_late_post(post, claim, outcome)
        if claim.preflight is None:
            # An outcome known before any request carries no status of Late's post.
            post.late_status = outcome.late_status
        if status is not PostStatus.FAILED:
            post.published_at = outcome.published_at or now
        failed = status is not PostStatus.PUBLISHED
        post.failure_reason = _stored(outcome.reason) if failed else None
        post.last_error = None

        post.attempts = claim.attempt
        _keep_unknown_markers(post, claim, outcome)
        _end_claim(post)
        post.next_attempt_at = post.waiting_since = None
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
            urls=_published_urls(post.targets),
            attempt=claim.attempt,
            late_post_id=post.late_post_id,
        )

    def _wait(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Leave the post PUBLISHING on Late's side and plan the next check.

        After MAX_WAIT_ON_LATE of checks the post ends instead.
        """
        post.status = PostStatus.PUBLISHING.value
        _note_late_post(post, claim, outcome)
        if outcome.kind is OutcomeKind.WAITING:
            post.late_status = outcome.late_status or post.late_status
            _apply_targets(post.targets, outcome.targets, PostStatus.PUBLISHING, now)
        else:
            post.last_error = _stored(outcome.reason)
        post.attempts = claim.attempt
        _keep_unknown_markers(post, claim, outcome)
        _end_claim(post)
        post.waiting_since = post.waiting_since or now
        if now - post.waiting_since >= MAX_WAIT_ON_LATE:
            return self._stop_waiting(post, claim, outcome, now)
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

    def _stop_waiting(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """End a post that Late has not finished publishing within MAX_WAIT_ON_LATE.

        Late may still publish it, so the post keeps that mark: a retry goes through
        Late's retry endpoint, which never publishes a platform twice.
        """
        assert post.waiting_since is not None  # _wait sets it first.
        waited = format_duration(now - post.waiting_since)
        if outcome.kind is OutcomeKind.WAITING:
            state = f"Late still reports it as {post.late_status or 'unfinished'}"
        else:
            state = f"the last check failed ({outcome.reason})"
        reason = redact(
            f"Late never finished publishing post {post.late_post_id}: rabb stopped"
            f" checking {waited} after Late first reported it unfinished, and"
            f" {state}; {UNKNOWN_OUTCOME_NOTE}"
        )
        post.last_error = None
        post.late_unsettled = post.late_post_current
        post.waiting_since = None
        return _end_failed(post, claim, reason, now)

    def _reschedule(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Plan another attempt after a transient failure, or give up after the last."""
        deadline = self._deadline(post)
        # A 409 for a key still in process is Late's doing, so it costs no attempt.
        # Nor does a failure that sent nothing, while a deadline bounds its retries.
        unsent = outcome.not_sent and deadline is not None
        spent = outcome.kind is not OutcomeKind.CONFLICT and not unsent
        attempt = claim.attempt if spent else claim.previous.attempts
        post.attempts = attempt
        _keep_unknown_markers(post, claim, outcome)
        post.last_error = _stored(outcome.reason)
        _end_claim(post)
        post.waiting_since = None
        if outcome.late_refused_retry:
            # Late will not retry its post, so the next attempt creates a new one.
            post.late_status = None
        if spent and attempt >= self.settings.max_attempts:
            return self._give_up(post, claim, outcome, now)
        if unsent and deadline is not None and now >= deadline:
            return self._unsent_too_long(post, claim, outcome, deadline, now)
        until = outcome.not_before
        if until is not None and deadline is not None and until > deadline:
            tried = f"attempt {attempt} of {self.settings.max_attempts} failed: "
            cause = f"{tried if spent else ''}{outcome.reason}"
            return self._out_of_time(post, claim, until, deadline, cause, now)

        step = max(attempt, 1)
        if unsent and post.scheduled_for is not None:
            waited = now - post.scheduled_for
            step = max(step, unsent_backoff_step(waited, self.settings.backoff_base))
        with self._rng_lock:
            # The backoff ends by the deadline, since preflight fails any later
            # attempt without sending it.
            post.next_attempt_at = next_attempt_time(
                now,
                step,
                self.settings.backoff_base,
                self.settings.backoff_max,
                self.rng,
                outcome.not_before,
                latest=deadline,
            )
        post.status = PostStatus.SCHEDULED.value
        return PostOutcome(
            post_id=claim.post_id,
            status=PostStatus.SCHEDULED,
            action=Action.RETRY,
            reason=outcome.reason,
            next_attempt_at=post.next_attempt_at,
            attempt=attempt,
            attempt_spent=spent,
            not_sent=unsent,
        )

    def _unsent_too_long(
        self,
        post: Post,
        claim: Claim,
        outcome: Outcome,
        deadline: datetime,
        now: datetime,
    ) -> PostOutcome:
        """End a post that could not be sent before its deadline, with the cause."""
        lateness = format_duration(self.settings.max_lateness)
        start = "not sent again" if post.outcome_unknown else "not published"
        reason = (
            f"{start}: every try until {_utc(deadline)}, max_lateness ({lateness})"
            f" after it was due, failed before reaching Late: {outcome.reason}"
        )
        if post.outcome_unknown:
            reason += f"; {UNKNOWN_OUTCOME_NOTE}"
        return _end_failed(post, claim, redact(reason), now)

    def _give_up(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        reason = f"gave up after {post.attempts} attempts: {outcome.reason}"
        if post.outcome_unknown:
            reason += f"; {UNKNOWN_OUTCOME_NOTE}"
        return _end_failed(post, claim, redact(reason), now)

    def _deadline(self, post: Post) -> datetime | None:
        """Return the last time the post may be sent: due time plus max_lateness."""
        if post.scheduled_for is None:
            return None
        return post.scheduled_for + self.settings.max_lateness

    def _out_of_time(
        self,
        post: Post,
        claim: Claim,
        until: datetime,
        deadline: datetime,
        cause: str,
        now: datetime,
    ) -> PostOutcome:
        """End a post when Late requests a wait that ends past its deadline.

        The next attempt could only fail as too late, with a reason that blames a
        computer that was asleep, so the post ends now with Late's real reason.
        """
        lateness = format_duration(self.settings.max_lateness)
        start = "not sent again" if post.outcome_unknown else "not published"
        wait_text, deadline_text = _distinct_times(until, deadline)
        if wait_text == deadline_text:
            when = "just after"
            limit = f"max_lateness {lateness} after it was due"
        else:
            when = "after"
            limit = f"{deadline_text}, max_lateness {lateness} after it was due"
        reason = (
            f"{start}: Late asked rabb to wait until {wait_text}, {when} the last"
            f" time the post may go out ({limit}); {cause}"
        )
        if post.outcome_unknown:
            reason += f"; {UNKNOWN_OUTCOME_NOTE}"
        post.next_attempt_at = None
        return _end_failed(post, claim, redact(reason), now)

    def _release(
        self, post: Post, claim: Claim, outcome: Outcome, now: datetime
    ) -> PostOutcome:
        """Undo the claim, spending no attempt; retry no sooner than `not_before`.

        A send that Late's rate limit holds back past the post's deadline ends the
        post instead.
        """
        previous = claim.previous
        post.status = previous.status
        post.attempts = previous.attempts
        post.attempt_key = previous.attempt_key
        post.attempt_sent_at = previous.attempt_sent_at
        post.late_unsettled = previous.late_unsettled
        post.claimed_at = previous.claimed_at
        post.claimed_by = previous.claimed_by
        post.claim_kind = previous.claim_kind
        post.next_attempt_at = previous.next_attempt_at
        post.updated_at = previous.updated_at
        account_ids = dict(previous.account_ids)
        for target in post.targets:
            target.account_id = account_ids.get(target.id, target.account_id)
        later = outcome.not_before
        deadline = self._deadline(post)
        sends = claim.kind is not DueKind.CHECK
        if sends and later is not None and deadline is not None and later > deadline:
            _end_claim(post)
            post.updated_at = now
            cause = outcome.reason or "Late's rate limit is used up"
            if post.attempts and post.last_error:
                cause += f"; attempt {post.attempts} had failed: {post.last_error}"
            return self._out_of_time(post, claim, later, deadline, cause, now)
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


def _utc(instant: datetime) -> str:
    return format_local(instant, UTC)


def _distinct_times(first: datetime, second: datetime) -> tuple[str, str]:
    """Format two instants in UTC to the minute, or to the second where needed.

    Two instants within the same minute would print alike, so they get seconds.
    The texts are still equal when the instants are less than a second apart.
    """
    texts = (_utc(first), _utc(second))
    if texts[0] != texts[1]:
        return texts
    return format_local(first, UTC, seconds=True), format_local(
        second, UTC, seconds=True
    )


def _end_failed(post: Post, claim: Claim, reason: str, now: datetime) -> PostOutcome:
    """End the post FAILED, or PARTIAL when a target was published, with `reason`."""
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
        urls=_published_urls(post.targets),
        attempt=post.attempts,
        late_post_id=post.late_post_id,
    )


def _keep_unknown_markers(post: Post, claim: Claim, outcome: Outcome) -> None:
    """Set the marks of an attempt whose outcome is unknown after `outcome`."""
    post.attempt_key = _key_after(claim, outcome)
    if post.attempt_key is None:
        post.attempt_sent_at = None
    elif claim.request and post.attempt_key == claim.request.idempotency_key:
        post.attempt_sent_at = claim.key_sent_at
    else:
        post.attempt_sent_at = claim.previous.attempt_sent_at
    post.late_unsettled = _unsettled_after(claim, outcome)


def _key_after(claim: Claim, outcome: Outcome) -> str | None:
    """Return the attempt key to keep: set while Late may have an unanswered attempt."""
    if _answered(claim, outcome):
        return None
    if outcome.outcome_unknown and claim.request is not None:
        return claim.request.idempotency_key
    return claim.previous.attempt_key


def _unsettled_after(claim: Claim, outcome: Outcome) -> bool:
    """Return whether a retry request to Late may still be unanswered."""
    if _answered(claim, outcome):
        return False
    if outcome.outcome_unknown and claim.late_retry:
        return True
    return claim.previous.late_unsettled


def _answered(claim: Claim, outcome: Outcome) -> bool:
    """Return whether Late's response settled every earlier request about the post.

    A refused retry counts, because Late's refusal came with the post's state.
    """
    if claim.preflight is not None:
        return False
    settled = outcome.kind in (*_FINAL, OutcomeKind.WAITING)
    return settled or outcome.late_refused_retry


def _end_claim(post: Post) -> None:
    post.claimed_at = post.claimed_by = post.claim_kind = None


def _note_late_post(post: Post, claim: Claim, outcome: Outcome) -> None:
    """Record the Late post an outcome names, and which content it carries.

    Only a create or a retry on Late sends the current content. A check reads a
    post whose content is already recorded, and a duplicate's original is not a
    post rabb created for this content, so neither shows the content is current.
    """
    if not outcome.late_post_id:
        return
    post.late_post_id = outcome.late_post_id
    if outcome.other_post:
        post.late_revision = None
    elif claim.request is not None or claim.late_retry:
        post.late_revision = post.revision


def _confirm_every_target(outcome: Outcome, claim: Claim, post: Post) -> Outcome:
    """Withhold "published" from a target that Late's response has no result for.

    A response to a create or a retry may leave a platform out (or list none, or
    another account). Such a target is not marked published without evidence:
    the post waits, and the next run reads Late's post with GET /v1/posts/{id}.
    When that read leaves the target out too, Late's post does not contain it,
    so it was not published, and it ends FAILED.
    """
    if outcome.kind not in (OutcomeKind.PUBLISHED, OutcomeKind.PARTIAL):
        return outcome
    matched = match_results(post.targets, outcome.targets)
    missing = [
        target
        for index, target in enumerate(post.targets)
        if not _was_published(target) and index not in matched
    ]
    if not missing:
        return outcome
    selectors = ", ".join(f"-p {target.selector}" for target in missing)
    late_id = outcome.late_post_id or post.late_post_id
    if claim.kind is not DueKind.CHECK:
        return replace(
            outcome,
            kind=OutcomeKind.WAITING,
            reason=f"Late reported the post {outcome.late_status} but gave no result"
            f" for {selectors}, so rabb reads Late's post {late_id} to confirm it",
        )
    not_published = tuple(
        TargetResult(
            platform=target.platform,
            account_id=target.account_id,
            status=TargetStatus.FAILED,
            error=f"not published: Late's post {late_id} has no result for this"
            " platform and account",
            error_category=NOT_SENT_CATEGORY,
        )
        for target in missing
    )
    # NOTE: when Late called its post partial, `rabb retry` requests Late's retry of it,
    # and Late's retry covers only the platforms its post has, not these targets.
    published = any(r.status is TargetStatus.PUBLISHED for r in outcome.targets)
    # Late's own errors for the targets it has come first, then the missing ones.
    errors = [outcome.reason] if outcome.reason else []
    errors += [
        f"{target.selector}: Late's post {late_id} has no result for it"
        for target in missing
    ]
    return replace(
        outcome,
        kind=OutcomeKind.PARTIAL if published else OutcomeKind.FAILED,
        reason="; ".join(errors),
        targets=outcome.targets + not_published,
    )


def results_for_targets(outcome: Outcome, targets: Sequence[Target]) -> Outcome:
    """Turn the state of a duplicate's original Late post into this post's outcome.

    Late rejects the whole request when one target is a duplicate, so only the
    original's results for this post's targets (same platform and account) count,
    and each other target was not sent. An outcome that carries no state of the
    original, such as a failed lookup, is returned as it is.
    """
    if outcome.late_status is None:
        return outcome
    unpublished = [target for target in targets if not _was_published(target)]
    results = []
    unsent = []
    for target in unpublished:
        result = _own_result(target, outcome.targets)
        if result is None:
            unsent.append(target)
            results.append(_not_sent(target, outcome.late_post_id))
        else:
            results.append(result)
    kind = _kind_of(results, unsent)
    return replace(
        outcome,
        kind=kind,
        reason=_duplicate_reason(outcome, kind, results, unsent),
        targets=tuple(results),
    )


def _own_result(target: Target, results: Sequence[TargetResult]) -> TargetResult | None:
    for result in results:
        same_account = result.account_id and result.account_id == target.account_id
        if result.platform == target.platform and same_account:
            return result
    return None


def _not_sent(target: Target, late_post_id: str | None) -> TargetResult:
    return TargetResult(
        platform=target.platform,
        account_id=target.account_id,
        status=TargetStatus.FAILED,
        error=f"not sent: Late rejected the whole request as a duplicate of its post"
        f" {late_post_id}, which does not go to this account",
        error_category=NOT_SENT_CATEGORY,
    )


def _kind_of(results: Sequence[TargetResult], unsent: Sequence[Target]) -> OutcomeKind:
    statuses = {result.status for result in results}
    if unsent:
        # Nothing more will happen to the unsent targets: the post ends, and
        # `rabb retry` sends them.
        return OutcomeKind.FAILED
    if statuses <= {TargetStatus.PUBLISHED}:
        return OutcomeKind.PUBLISHED
    if TargetStatus.PENDING in statuses:
        return OutcomeKind.WAITING
    return OutcomeKind.FAILED


def _duplicate_reason(
    outcome: Outcome,
    kind: OutcomeKind,
    results: Sequence[TargetResult],
    unsent: Sequence[Target],
) -> str:
    reason = f"Late already has the same content as post {outcome.late_post_id}"
    if unsent:
        selectors = ", ".join(target.selector for target in unsent)
        return f"{reason}; not sent to {selectors}: Late rejected the whole request"
    if kind is OutcomeKind.WAITING:
        return f"{reason}; Late is still publishing it (status {outcome.late_status})"
    failed = [r for r in results if r.status is TargetStatus.FAILED]
    errors = "; ".join(f"{r.platform}: {r.error or 'failed'}" for r in failed)
    return f"{reason}; {errors}" if errors else reason


def _stored(text: str | None) -> str | None:
    """Return a reason as it may be stored: with every known key masked.

    Reasons quote Late's messages and exceptions, which may echo a key.
    """
    return None if text is None else redact(text)


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
    matched = match_results(targets, results)
    for index, target in enumerate(targets):
        result = matched.get(index)
        if result is not None:
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


def match_results(
    targets: Sequence[Target], results: Sequence[TargetResult]
) -> dict[int, TargetResult]:
    """Pair each target (by position) with Late's result for it, if there is one.

    Each result is about one target, so a result is used at most once: first
    for the target of its own account, then for a target of the same platform
    when one of the two has no account id. A published target only takes a
    result for its own account, since a retry does not send it again.
    """
    matched: dict[int, TargetResult] = {}
    unused = list(results)
    for index, target in enumerate(targets):
        for result in unused:
            same_account = target.account_id and result.account_id == target.account_id
            if result.platform == target.platform and same_account:
                matched[index] = result
                unused.remove(result)
                break
    for index, target in enumerate(targets):
        if index in matched or _was_published(target):
            continue
        for result in unused:
            unknown = not (target.account_id and result.account_id)
            if result.platform == target.platform and unknown:
                matched[index] = result
                unused.remove(result)
                break
    return matched


def _published_urls(targets: Sequence[Target]) -> list[tuple[str, str]]:
    """Return the URL of each published target; a failed one may carry a URL too."""
    return [(t.selector, t.url) for t in targets if t.url and _was_published(t)]


def _was_published(target: Target) -> bool:
    return target.status == TargetStatus.PUBLISHED.value
