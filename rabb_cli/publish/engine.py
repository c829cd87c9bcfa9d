"""One run of `rabb run-due`: select the due posts, claim each, publish, record.

A post is claimed before any request is sent: in a `BEGIN IMMEDIATE` transaction, an
UPDATE guarded by the post's expected status moves it to PUBLISHING and records the
claiming run. Two overlapping runs therefore never both send a post, and only the
claiming run records its outcome. Claims and records are short transactions, and
no transaction is open while a request is in flight.

Posts publish concurrently through a small thread pool. Each thread claims one
post, sends it, and records the outcome. A 401 stops the run: threads that have not
claimed a post yet claim nothing, and the post that got the 401 is released with no
attempt spent.
"""

import logging
import os
import random
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import text
from sqlmodel import Session, col, update

from rabb_cli import accounts
from rabb_cli.errors import InvalidInput, RabbError
from rabb_cli.models import Post, Run, utc_now
from rabb_cli.paths import Paths
from rabb_cli.publish.alerts import record_failure, send_alerts
from rabb_cli.publish.due import DUE_CONDITION, due_parameters
from rabb_cli.publish.late import (
    AccountsUnavailable,
    LateClient,
    LateUnauthorized,
    LateUnreachable,
    Outcome,
    OutcomeKind,
    PublishRequest,
    RemoteAccount,
    create_post_body,
)
from rabb_cli.publish.record import (
    UNKNOWN_OUTCOME_NOTE,
    Claim,
    OutcomeRecorder,
    PostState,
)
from rabb_cli.publish.report import (
    Action,
    ClaimKind,
    DueKind,
    PostOutcome,
    RunReport,
)
from rabb_cli.publish.settings import (
    LATE,
    OUTBOX,
    AlertSettings,
    PublishSettings,
    require_api_key,
)
from rabb_cli.publish.stopping import StopNow, StopRequest, stop_on_signals
from rabb_cli.redact import redact
from rabb_cli.status import PostStatus
from rabb_cli.store import Store
from rabb_cli.textrules import TargetSpec
from rabb_cli.timeparse import format_duration, format_utc

logger = logging.getLogger("rabb.publish")


class Publisher(Protocol):
    """A destination for posts: the Late API, or the outbox folder."""

    needs_account_ids: bool

    def create_post(self, request: PublishRequest) -> Outcome: ...

    def get_post(self, late_post_id: str) -> Outcome: ...

    def retry_post(self, late_post_id: str) -> Outcome: ...

    def list_accounts(self) -> list[RemoteAccount]: ...

    def close(self) -> None: ...


def classify_due(post: Post, now: datetime, lease: timedelta) -> DueKind | None:
    """Return why `post` is due at `now`, or None. Matches `due.DUE_CONDITION`."""
    status = post.post_status
    if status is PostStatus.SCHEDULED:
        time_has_come = post.scheduled_for is not None and post.scheduled_for <= now
        return (
            DueKind.SEND if time_has_come and _retry_time_has_come(post, now) else None
        )
    if status is not PostStatus.PUBLISHING:
        return None
    if post.claimed_by is None:
        # Awaiting a check on Late; `next_attempt_at` is the time of that check.
        due = post.next_attempt_at is not None and post.next_attempt_at <= now
        if not due:
            return None
        return DueKind.CHECK if post.late_post_id else DueKind.RESEND
    # Claimed by a run that may have stopped: a claim older than the lease is due.
    due = post.claimed_at is not None and post.claimed_at <= now - lease
    return stale_claim_kind(post) if due else None


def stale_claim_kind(post: Post) -> DueKind:
    """Return what a run does with a claim left by a stopped run: its request again.

    `late_post_id` alone cannot tell, because it may name the Late post of an
    earlier revision while the stopped run was creating a new one.
    """
    if post.claim_kind == ClaimKind.CHECK:
        return DueKind.CHECK
    if post.claim_kind is not None:
        return DueKind.RESEND
    # A claim stored before rabb recorded its kind: a create was in flight if it
    # left an attempt key.
    if post.late_post_id and post.attempt_key is None:
        return DueKind.CHECK
    return DueKind.RESEND


def _retry_time_has_come(post: Post, now: datetime) -> bool:
    return post.next_attempt_at is None or post.next_attempt_at <= now


class Engine:
    """Runs `run-due` once over a store with one publisher."""

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        settings: PublishSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        alerts_requested: bool = False,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self.clock = clock
        # Jitter needs no cryptographic randomness.
        self.recorder = OutcomeRecorder(settings, rng or random.Random())  # noqa: S311
        # Whether a post that ends FAILED or PARTIAL is owed a failure alert.
        self.alerts_requested = alerts_requested
        self.run_id: int | None = None
        self.token = ""
        self._stop = threading.Event()
        # Set by SIGINT or SIGTERM: finish the requests in flight, start no more.
        self.stop_request = StopRequest()
        self._accounts_error: str | None = None
        self._accounts_unreachable = False
        self._accounts_not_before: datetime | None = None

    def run(self) -> RunReport:
        """Publish every due post and record the run.

        A run-level error that rabb reports to the user, such as a 401 from Late, ends
        the run and is returned in `report.error`. Any other exception is raised.
        """
        report = RunReport(None, self.clock(), self.settings.publisher)
        report.run_id = self.run_id = self._start_run(report.started_at)
        self.token = f"run-{report.run_id}"
        logger.info("run %d started (publisher %s)", report.run_id, report.publisher)
        wait_note = (
            "waiting for the requests in flight, each of which times out after"
            f" {format_duration(self.settings.timeout)} without a response"
        )
        try:
            with stop_on_signals(self.stop_request, wait_note):
                due = self._select_due(report.started_at)
                report.due = len(due)
                self._prepare_accounts(due)
                report.outcomes = self._publish_all(due)
            if self._stop.is_set():
                raise LateUnauthorized()
        except RabbError as error:
            report.error = error
        except BaseException as error:
            self._finish_run(report, error)
            raise
        report.stopped_by = self.stop_request.signal_number
        self._finish_run(report, report.error or self._stop_error())
        return report

    def _stop_error(self) -> RabbError | None:
        number = self.stop_request.signal_number
        if number is None:
            return None
        return RabbError(f"the run was stopped by {signal.Signals(number).name}")

    # Selection and accounts

    def _select_due(self, now: datetime) -> list[int]:
        return select_due(self.store, now, self.settings.lease)

    def _prepare_accounts(self, due: Sequence[int]) -> None:
        """Fetch the accounts from Late once when a due post's target needs them."""
        if not self.publisher.needs_account_ids or not due:
            return
        with self.store.read() as session:
            cache = accounts.cached_accounts(session)
            posts = [session.get(Post, post_id) for post_id in due]
            needed = any(
                _unresolved(post, cache) for post in posts if post and _creates(post)
            )
        if not needed:
            return
        logger.info("fetching the connected accounts from Late")
        try:
            remote = self.publisher.list_accounts()
        except LateUnauthorized:
            raise
        except RabbError as error:
            # Posts that need the accounts are retried later; the others go ahead.
            self._accounts_error = error.message
            # Fetching the accounts creates no post, so a passing failure spends
            # no attempt of the posts that wait for it.
            self._accounts_unreachable = isinstance(
                error, (LateUnreachable, AccountsUnavailable)
            )
            self._accounts_not_before = getattr(error, "not_before", None)
            logger.warning("cannot fetch the accounts: %s", error.message)
            return
        accounts.replace_cache(self.store, remote, self.clock())

    # Publishing

    def _publish_all(self, due: Sequence[int]) -> list[PostOutcome]:
        if not due:
            return []
        workers = max(1, min(self.settings.concurrency, len(due)))
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="publish"
        ) as pool:
            futures = [pool.submit(self._process, post_id) for post_id in due]
        results: list[PostOutcome] = []
        first_error: BaseException | None = None
        for future in futures:
            error = future.exception()
            if error is not None:
                logger.error("publishing a post failed: %s", error)
                first_error = first_error or error
                continue
            outcome = future.result()
            if outcome is not None:
                results.append(outcome)
        if first_error is not None:
            raise first_error
        return results

    def _process(self, post_id: int) -> PostOutcome | None:
        if self._stop.is_set() or self.stop_request.is_set():
            return None
        claim = self._claim(post_id)
        if claim is None:
            return None
        try:
            outcome = claim.preflight or self._send_unless_stopping(claim)
        except Exception as error:
            outcome = _failed_send(claim.post_id, error)
        if outcome.kind is OutcomeKind.UNAUTHORIZED:
            self._stop.set()
        return self._record(claim, outcome)

    def _send_unless_stopping(self, claim: Claim) -> Outcome:
        if self.stop_request.is_set():
            # Released unchanged: no attempt spent, no unknown outcome.
            return Outcome(
                OutcomeKind.DEFERRED,
                reason="not sent: the run was stopping",
                not_sent=True,
            )
        return self._send(claim)

    def _send(self, claim: Claim) -> Outcome:
        if claim.kind is DueKind.CHECK:
            assert claim.late_post_id is not None
            logger.info(
                "post %d: checking Late post %s", claim.post_id, claim.late_post_id
            )
            return self.publisher.get_post(claim.late_post_id)
        if claim.late_retry:
            assert claim.late_post_id is not None
            logger.info(
                "post %d: attempt %d of %d: asking Late to retry its post %s",
                claim.post_id,
                claim.attempt,
                self.settings.max_attempts,
                claim.late_post_id,
            )
            return self.publisher.retry_post(claim.late_post_id)
        assert claim.request is not None
        logger.info(
            "post %d: attempt %d of %d",
            claim.post_id,
            claim.attempt,
            self.settings.max_attempts,
        )
        outcome = self.publisher.create_post(claim.request)
        if outcome.kind is not OutcomeKind.DUPLICATE or not outcome.late_post_id:
            return outcome
        return self._settle_duplicate(outcome)

    def _settle_duplicate(self, duplicate: Outcome) -> Outcome:
        """Record the Late post a 409 names as the original; never post again."""
        late_id = duplicate.late_post_id
        assert late_id is not None
        checked = self.publisher.get_post(late_id)
        note = duplicate.reason or f"Late already has this content as post {late_id}"
        if checked.kind in (OutcomeKind.RETRY, OutcomeKind.DEFERRED):
            return Outcome(
                OutcomeKind.WAITING,
                reason=f"{note}; its status could not be read yet ({checked.reason})",
                late_post_id=late_id,
                not_before=checked.not_before,
                other_post=True,
            )
        if checked.kind is OutcomeKind.UNAUTHORIZED:
            return checked
        # The recorder applies only the results for this post's own targets: Late
        # rejected the whole request, so a target the original lacks was not sent.
        reason = f"{note}; {checked.reason}" if checked.reason else note
        return replace(checked, reason=reason, late_post_id=late_id, other_post=True)

    # Claiming

    def _claim(self, post_id: int) -> Claim | None:
        with self.store.write() as session:
            post = session.get(Post, post_id)
            now = self.clock()
            kind = classify_due(post, now, self.settings.lease) if post else None
            if post is None or kind is None:
                return None  # Another run claimed or changed it since the selection.
            previous = PostState.of(post)
            preflight = self._preflight(session, post, kind, now)
            claim = self._claim_values(post, kind, previous, preflight, now)
            if not _transition(session, post, _claimed_values(claim, self.token, now)):
                return None
        return claim

    def _claim_values(
        self,
        post: Post,
        kind: DueKind,
        previous: PostState,
        preflight: Outcome | None,
        now: datetime,
    ) -> Claim:
        sends = kind is not DueKind.CHECK
        # A post failed before sending (too late, unknown target) spent no attempt,
        # but a transient failure to fetch the accounts counts as one.
        spends = sends and (preflight is None or preflight.kind is OutcomeKind.RETRY)
        attempt = post.attempts + 1 if spends else post.attempts
        request = None
        key_sent_at = None
        late_retry = sends and preflight is None and post.retries_on_late
        if sends and preflight is None and not late_retry:
            # A retry after a settled failure has a key of its own (see
            # Post.idempotency_key), unless an attempt's outcome is unknown: then
            # the same key lets Late return the post it may already have. The
            # content cannot change while that is so, and the body leaves out the
            # targets already published, so it is the body of that attempt too.
            key = post.attempt_key or post.idempotency_key
            body = create_post_body(
                post, placeholder_accounts=not self.publisher.needs_account_ids
            )
            request = PublishRequest(_post_id(post), key, body)
            key_sent_at = post.attempt_sent_at if key == post.attempt_key else now
        return Claim(
            post_id=_post_id(post),
            kind=kind,
            claim_kind=_claim_kind(post, kind),
            attempt=attempt,
            previous=previous,
            check_interval=_check_interval(kind, previous),
            request=request,
            key_sent_at=key_sent_at,
            late_post_id=post.late_post_id,
            preflight=preflight,
            late_retry=late_retry,
            checks_other_post=kind is DueKind.CHECK and not post.late_post_current,
        )

    def _preflight(
        self, session: Session, post: Post, kind: DueKind, now: datetime
    ) -> Outcome | None:
        """Return an outcome known without a request, or None to send the post."""
        if kind is DueKind.CHECK:
            return None
        due_at = post.scheduled_for or now
        lateness = now - due_at
        if lateness > self.settings.max_lateness:
            late = (
                f"it was due {format_duration(lateness)} ago, more than max_lateness"
                f" ({format_duration(self.settings.max_lateness)})"
            )
            if post.outcome_unknown:
                # An earlier attempt may have gone out, so "not published" would
                # be a claim rabb cannot make.
                reason = (
                    f"not sent again: {late}; an earlier attempt got no answer, so"
                    f" {UNKNOWN_OUTCOME_NOTE}"
                )
            elif post.attempts and post.last_error:
                # The post ran out of time between attempts: the error is the cause.
                reason = (
                    f"not published in time: {late}, and attempt {post.attempts} of"
                    f" {self.settings.max_attempts} had failed: {post.last_error}"
                )
            elif post.last_error:
                # Every try failed before reaching Late, so none spent an attempt.
                reason = (
                    f"not published in time: {late}, and the last try had failed"
                    f" before reaching Late: {post.last_error}"
                )
            else:
                reason = (
                    f"not published: {late}; the computer was probably asleep or off"
                )
            return Outcome(OutcomeKind.FAILED, reason=reason)
        if post.attempt_key_expired(now):
            return Outcome(OutcomeKind.FAILED, reason=_expired_key_reason(post, now))
        if kind is DueKind.RESEND and post.attempts >= self.settings.max_attempts:
            return Outcome(
                OutcomeKind.FAILED,
                reason=f"gave up after {post.attempts} attempts: the last one was"
                f" stopped before Late answered, so {UNKNOWN_OUTCOME_NOTE}",
            )
        if post.retries_on_late:
            return None  # Late's own post already names the accounts.
        return self._resolve_accounts(session, post)

    def _resolve_accounts(self, session: Session, post: Post) -> Outcome | None:
        """Give each target its Late account id, or return why that is impossible."""
        missing = [target for target in post.targets if target.account_id is None]
        if not missing:
            return _repeated_account(post)
        cache = accounts.cached_accounts(session)
        for target in missing:
            spec = TargetSpec(target.platform, target.account)
            try:
                target.account_id = accounts.resolve_target(spec, cache).id
            except InvalidInput as error:
                if not self.publisher.needs_account_ids:
                    continue  # The outbox names the target as written.
                if self._accounts_error:
                    return Outcome(
                        OutcomeKind.RETRY,
                        reason=f"cannot resolve -p {target.selector}:"
                        f" {self._accounts_error}",
                        not_sent=self._accounts_unreachable,
                        not_before=self._accounts_not_before,
                    )
                return Outcome(
                    OutcomeKind.FAILED,
                    reason=f"cannot publish to -p {target.selector}: {error}",
                )
        session.add_all(missing)
        return _repeated_account(post)

    # Recording

    def _record(self, claim: Claim, outcome: Outcome) -> PostOutcome | None:
        with self.store.write() as session:
            post = session.get(Post, claim.post_id)
            if post is None or post.claimed_by != self.token:
                logger.warning(
                    "post %d: another run took it over after the lease ran out, so"
                    " that run records its outcome",
                    claim.post_id,
                )
                return None
            now = self.clock()
            result = self.recorder.apply(post, claim, outcome, now)
            if result.ended_failed:
                # In the same transaction, so a run that stops right after it
                # still leaves the alert for the next run to send.
                record_failure(
                    session, post, self.run_id, now, alert=self.alerts_requested
                )
            session.add(post)
        if outcome.kind is OutcomeKind.UNAUTHORIZED:
            return None
        _log_outcome(result)
        return result

    # Run records

    def _start_run(self, started_at: datetime) -> int:
        record = Run(
            started_at=started_at,
            pid=os.getpid(),
            status="running",
            publisher=self.settings.publisher,
        )
        with self.store.write() as session:
            session.add(record)
            session.flush()
            assert record.id is not None
            return record.id

    def _finish_run(self, report: RunReport, error: BaseException | None) -> None:
        report.finished_at = self.clock()
        if report.run_id is None:
            return
        with self.store.write() as session:
            record = session.get(Run, report.run_id)
            if record is None:
                return
            record.finished_at = report.finished_at
            record.status = "ok" if error is None else "error"
            record.error = None if error is None else _error_text(error)
            record.due = report.due
            record.published = report.count(Action.PUBLISHED)
            record.partial = report.count(Action.PARTIAL)
            record.failed = report.count(Action.FAILED)
            record.retrying = report.count(Action.RETRY) + report.count(Action.DEFERRED)
            record.waiting = report.count(Action.WAITING)
            session.add(record)
        logger.info(
            "run %d finished: %d due, %d published, %d failed",
            report.run_id,
            report.due,
            report.count(Action.PUBLISHED),
            report.count(Action.FAILED),
        )


def select_due(store: Store, now: datetime, lease: timedelta) -> list[int]:
    """Return the ids of the posts due at `now`, oldest scheduled time first."""
    query = text(
        f"SELECT id FROM post WHERE {DUE_CONDITION}"  # noqa: S608 - constant text.
        " ORDER BY scheduled_for, id"
    )
    with store.read() as session:
        rows = session.connection().execute(query, due_parameters(now, lease)).all()
    return [int(row[0]) for row in rows]


def _transition(session: Session, post: Post, values: dict[str, Any]) -> bool:
    """Apply `values` only if the post is still as read; return whether it was."""
    claimed_by = col(Post.claimed_by)
    statement = (
        update(Post)
        .where(col(Post.id) == post.id)
        .where(col(Post.status) == post.status)
        .where(col(Post.revision) == post.revision)
        .where(
            claimed_by.is_(None)
            if post.claimed_by is None
            else claimed_by == post.claimed_by
        )
        .values(**values)
    )
    result = session.exec(statement)
    return bool(getattr(result, "rowcount", 0) == 1)


def _check_interval(kind: DueKind, previous: PostState) -> timedelta | None:
    """Return the interval the last check on Late planned, if this is a check."""
    if kind is not DueKind.CHECK or previous.next_attempt_at is None:
        return None
    # The record of the last check set updated_at and planned next_attempt_at.
    return previous.next_attempt_at - previous.updated_at


def _creates(post: Post) -> bool:
    """Return whether a due post's next request creates a post (needs account ids)."""
    if post.post_status is PostStatus.PUBLISHING:
        if post.claimed_by is None:
            # Waiting for a check on Late, unless Late named no post.
            return post.late_post_id is None
        if stale_claim_kind(post) is DueKind.CHECK:
            return False
    return not post.retries_on_late


def _claim_kind(post: Post, kind: DueKind) -> ClaimKind:
    if kind is DueKind.CHECK:
        return ClaimKind.CHECK
    return ClaimKind.LATE_RETRY if post.retries_on_late else ClaimKind.CREATE


def _claimed_values(claim: Claim, token: str, now: datetime) -> dict[str, Any]:
    """Return the columns a claim sets, before any request is sent.

    The unknown-outcome markers are set here already, so a run stopped while the
    request is in flight leaves them for the next run.
    """
    values: dict[str, Any] = {
        "status": PostStatus.PUBLISHING.value,
        "claimed_at": now,
        "claimed_by": token,
        "claim_kind": claim.claim_kind.value,
        "attempts": claim.attempt,
        "updated_at": now,
    }
    if claim.request is not None:
        values["attempt_key"] = claim.request.idempotency_key
        values["attempt_sent_at"] = claim.key_sent_at
    if claim.late_retry:
        values["late_unsettled"] = True
    return values


def _expired_key_reason(post: Post, now: datetime) -> str:
    if post.attempt_sent_at is None:
        when = "at a time rabb did not record"
    else:
        when = f"{format_duration(now - post.attempt_sent_at)} ago"
    return (
        f"not sent again: an attempt with idempotency key {post.attempt_key} got no"
        f" answer {when}, and Late recognizes a key for 24 hours only, so sending"
        " it again could publish it twice: check Late, and if the post is not"
        f" there, run 'rabb retry {post.id} --confirm-unpublished'"
    )


def _repeated_account(post: Post) -> Outcome | None:
    """Return a failure when two targets resolved to the same Late account.

    Targets are checked against the cached accounts when a post is composed or
    edited, but not while the cache is empty: `-p twitter` and `-p twitter:@me`
    can both turn out to be @me here. Sending both, or sending one that is already
    published, would publish the post twice on that account.
    """
    resolved = [(t.selector, t.account_id) for t in post.targets if t.account_id]
    repeated = accounts.repeated_account(resolved)
    if repeated is None:
        return None
    first, second, account_id = repeated
    return Outcome(
        OutcomeKind.FAILED,
        reason=f"not sent: -p {first} and -p {second} name the same account"
        f" ({account_id}), and a post goes to each account once; remove one with"
        f" 'rabb edit {post.id} -p ...'",
    )


def _unresolved(post: Post, cache: list[Any]) -> bool:
    for target in post.targets:
        if target.account_id:
            continue
        try:
            accounts.resolve_target(TargetSpec(target.platform, target.account), cache)
        except InvalidInput:
            return True
    return False


def _log_outcome(outcome: PostOutcome) -> None:
    if outcome.action is Action.PUBLISHED:
        logger.info("post %d: published", outcome.post_id)
    elif outcome.action in (Action.FAILED, Action.PARTIAL):
        logger.warning(
            "post %d: %s: %s", outcome.post_id, outcome.action.upper(), outcome.reason
        )
    elif outcome.action is Action.RETRY and outcome.next_attempt_at:
        _log_retry(outcome, format_utc(outcome.next_attempt_at))
    else:
        logger.info("post %d: %s: %s", outcome.post_id, outcome.action, outcome.reason)


def _log_retry(outcome: PostOutcome, when: str) -> None:
    if outcome.attempt_spent:
        logger.warning(
            "post %d: attempt %d failed, next attempt at %s: %s",
            outcome.post_id,
            outcome.attempt,
            when,
            outcome.reason,
        )
        return

    # Name no attempt number: the try did not count as one.
    delivery = "not sent" if outcome.not_sent else "sent"
    logger.warning(
        "post %d: %s, no attempt spent, next try at %s: %s",
        outcome.post_id,
        delivery,
        when,
        outcome.reason,
    )


def _error_text(error: BaseException) -> str:
    if isinstance(error, (RabbError, StopNow)):
        return redact(str(error))
    return redact(f"{type(error).__name__}: {error}")


def _post_id(post: Post) -> int:
    assert post.id is not None  # Posts read from the store have an id.
    return post.id


def make_publisher(settings: PublishSettings, paths: Paths) -> Publisher:
    """Return the configured publisher; the Late one needs an API key."""
    if settings.publisher == OUTBOX:
        from rabb_cli.publish.outbox import OutboxPublisher

        return OutboxPublisher(paths.outbox_dir)
    return LateClient(
        require_api_key(settings),
        settings.base_url,
        settings.timeout,
        max_connections=settings.concurrency + 1,
    )


def run_due(
    store: Store,
    settings: PublishSettings,
    paths: Paths,
    clock: Callable[[], datetime] = utc_now,
    alerts: AlertSettings | None = None,
) -> RunReport:
    """Publish every due post once, record the run, send alerts, return the report.

    A run-level error, such as a 401 from Late, is in `report.error`, after the
    outcomes of the posts handled before it. Failure alerts never change a post
    or the report's outcomes; what they did is in `report.alerts`.
    """
    if settings.publisher == LATE and settings.lease <= settings.timeout:
        logger.warning(
            "publish.lease (%s) is not longer than publish.timeout (%s), so another"
            " run may send a slow post again; Late's deduplication keeps it single",
            format_duration(settings.lease),
            format_duration(settings.timeout),
        )
    publisher = make_publisher(settings, paths)
    requested = alerts is not None and alerts.requested
    try:
        engine = Engine(
            store, publisher, settings, clock=clock, alerts_requested=requested
        )
        report = engine.run()
    finally:
        publisher.close()
    if alerts is not None and report.stopped_by is None:
        # A stopped run sends no email: the alerts stay queued for the next run.
        report.alerts = send_alerts(store, alerts, report, settings.lease, clock)
    return report


def _failed_send(post_id: int, error: Exception) -> Outcome:
    """Turn an error raised while sending (a local fault, or a bug) into a retry.

    The claim is given back instead of left to the lease. Whether the request
    reached Late is unknown, so the post keeps its idempotency key for the retry.
    """
    message = error.message if isinstance(error, RabbError) else f"{error}"
    message = redact(" ".join(message.split()))
    logger.error("post %d: sending failed: %s", post_id, message)
    return Outcome(
        OutcomeKind.RETRY,
        reason=f"sending failed: {message}",
        outcome_unknown=True,
    )
