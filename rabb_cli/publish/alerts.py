"""Failure alerts: one email per failure of a post, sent through Resend after a run.

1. The transaction that records a post as FAILED or PARTIAL raises the post's
   failure count and, when alerts are on, adds an `alert` row for that failure.
   Rows are unique per (post, failure), so a failure never gets two alerts, and a
   retried post that fails again is a new failure with an alert of its own.
2. After the run, `send_alerts` puts the alerts that no email carries yet into
   emails: one each, or one digest when DIGEST_THRESHOLD or more wait. Each email
   is stored with its idempotency key and its exact content before it is sent,
   because Resend rejects a known key that comes with a different payload.
3. Each pending email that is due is claimed, so that two runs never send it at
   the same time. Then it is sent, and recorded as sent, as pending again after a
   transient error, or as failed after a permanent error or once RETRY_WINDOW has
   passed.
4. An email that an attempt may have sent (no response, a 5xx, a run stopped
   while sending) is not sent again once RETRY_WINDOW has passed since it was
   queued. Resend then no longer recognizes its key and could deliver a second
   copy, so such an email is marked failed before any request. An email that every
   attempt so far proved unsent (a 429, a refused connection) may still go out
   late, once.

Alerts never change a post's status, and no error here stops `run-due`.
"""

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, not_, or_
from sqlmodel import Session, col, select, update

from rabb_cli.models import Alert, AlertEmail, Post
from rabb_cli.publish.alert_email import (
    FailedPost,
    FailedTarget,
    alert_email,
    digest_email,
)
from rabb_cli.publish.report import AlertOutcome, RunReport
from rabb_cli.publish.settings import AlertSettings
from rabb_cli.redact import redact
from rabb_cli.status import PostStatus
from rabb_cli.store import Store
from rabb_cli.timeparse import format_duration, format_local, format_utc

if TYPE_CHECKING:
    from rabb_cli.publish.resend_client import HttpxTransport, SendResult

logger = logging.getLogger("rabb.alerts")

# This many alerts or more waiting after one run go out as one digest email.
DIGEST_THRESHOLD = 3
# Resend keeps an idempotency key for 24 hours, so a send after that could deliver a
# second copy of an email whose earlier attempt got no response. Transient errors
# are therefore retried for this long after the email was queued, and then it fails.
RETRY_WINDOW = timedelta(hours=24)
# After failed attempt n, the next one waits BACKOFF_BASE * 2**(n - 1), at most
# BACKOFF_MAX, and never less than Resend's Retry-After.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
# The state of an alert that no email carries yet.
WAITING = "waiting"
ALERTS_OFF_NOTE = "not sent: failure alerts were turned off"
SUPERSEDED_NOTE = "not sent: the post was retried or deleted before the alert went out"


@dataclass(frozen=True)
class AlertState:
    """The alert of one failure of a post, as `rabb show` reports it."""

    failure: int
    # waiting (no email yet), pending, sent or failed.
    status: str
    digest: bool = False
    recipient: str | None = None
    resend_id: str | None = None
    last_error: str | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class _Claimed:
    """An email claimed by this run, with what sending it needs."""

    id: int
    idempotency_key: str
    attempts: int
    message: dict[str, Any]
    post_ids: list[int]
    digest: bool


@dataclass(frozen=True)
class _Dropped:
    """An email closed before sending, because a failure it covers is not current."""

    outcome: AlertOutcome
    # Emails queued in its place for the failures that are still current.
    replacements: list[int]


@dataclass(frozen=True)
class _Coverage:
    """The failures an email covers, split by whether each one is still current."""

    current: list[Alert]
    # One phrase for each failure that is not, such as "post 2 was published".
    changes: list[str]


def record_failure(
    session: Session, post: Post, run_id: int | None, now: datetime, *, alert: bool
) -> None:
    """Count a failure of `post` and, when `alert`, add the alert it is owed.

    Runs in the transaction that records the post as FAILED or PARTIAL.
    """
    post.failures += 1
    if alert:
        assert post.id is not None  # Posts read from the store have an id.
        row = Alert(post_id=post.id, failure=post.failures, run_id=run_id)
        row.created_at = now
        session.add(row)


def send_alerts(
    store: Store,
    settings: AlertSettings,
    report: RunReport,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> list[AlertOutcome]:
    """Put the waiting alerts into emails and send every email that is due.

    Alerts that wait longer than `lease` come from a run that stopped, and are sent
    too. Any error is logged and ends the alert step, never the run.
    """
    try:
        if not settings.requested:
            _say_alerts_off(settings, report)
            _close_waiting(store, report.run_id, clock(), lease)
            return []
        _queue(store, settings, report.run_id, clock(), lease)
        return _send_due(store, settings, f"run-{report.run_id}", lease, clock)
    except Exception as error:  # An alert must never stop run-due.
        logger.error("failure alerts stopped: %s: %s", type(error).__name__, error)
        return []


def alert_states(session: Session, post_id: int) -> list[AlertState]:
    """Return the alert of each failure of a post, oldest first."""
    query = (
        select(Alert, AlertEmail)
        .join(
            AlertEmail,
            col(Alert.alert_email_id) == col(AlertEmail.id),
            isouter=True,
        )
        .where(col(Alert.post_id) == post_id)
        .order_by(col(Alert.failure))
    )
    return [_state(alert, email) for alert, email in session.exec(query).all()]


def count_due(store: Store, now: datetime, lease: timedelta) -> int:
    """Return how many alert emails a run at `now` would send, or at least try to.

    Alerts left without an email by a stopped run count one each, although a run
    may put several of them into one digest. Emails past their window are not
    counted, since the run marks them failed without sending.
    """
    query = _due_emails(now, lease).where(_sendable(now))
    with store.read() as session:
        emails = len(session.exec(query).all())
        alerts = len(_unsent_alerts(session, None, now - lease))
    return emails + alerts


def email_counts(session: Session) -> dict[str, int]:
    """Return how many alert emails are pending, sent and failed."""
    counts = dict.fromkeys((PENDING, SENT, FAILED), 0)
    for status in session.exec(select(col(AlertEmail.status))).all():
        counts[status] = counts.get(status, 0) + 1
    return counts


def alert_rows(
    post: Post, states: Sequence[AlertState], settings: AlertSettings
) -> list[tuple[str, str]]:
    """Return the `rabb show` row on the alert of a post's latest failure."""
    latest = states[-1] if states else None
    failed = post.post_status in (PostStatus.FAILED, PostStatus.PARTIAL)
    if failed and (latest is None or latest.failure < post.failures):
        reason = settings.off_reason()
        if reason:
            return [("Alert", f"none: failure alerts are off ({reason})")]
        return [("Alert", "none: failure alerts were off when it failed")]
    if latest is None:
        return []
    return [("Alert", describe_alert(latest, settings.zone))]


def alert_state_to_json(state: AlertState) -> dict[str, Any]:
    """Return the JSON form of an alert: lowercase words, UTC times with `Z`."""
    return {
        "failure": state.failure,
        "status": state.status,
        "digest": state.digest,
        "recipient": state.recipient,
        "resend_id": state.resend_id,
        "error": state.last_error,
        "attempts": state.attempts,
        "sent_at": format_utc(state.sent_at) if state.sent_at else None,
        "next_attempt_at": (
            format_utc(state.next_attempt_at) if state.next_attempt_at else None
        ),
        "idempotency_key": state.idempotency_key,
    }


def describe_alert(state: AlertState, zone: tzinfo) -> str:
    """Return one line on an alert: sent, pending with its error, or failed."""
    digest = " in a digest" if state.digest else ""
    if state.status == SENT:
        when = format_local(state.sent_at, zone) if state.sent_at else "-"
        return (
            f"sent {when} to {state.recipient}{digest}"
            f" (Resend email id {state.resend_id})"
        )
    if state.status == PENDING and state.attempts:
        planned = state.next_attempt_at
        when = format_local(planned, zone) if planned else "-"
        return (
            f"not sent yet: attempt {state.attempts} failed ({state.last_error});"
            f" next try at {when}"
        )
    if state.status == FAILED and (state.last_error or "").startswith("not sent: "):
        return state.last_error or ""  # Closed before it went out, such as _drop.
    if state.status == FAILED:
        return f"failed, not retried: {state.last_error}"
    return "not sent yet; the next run sends it"


# Queueing


def _queue(
    store: Store,
    settings: AlertSettings,
    run_id: int | None,
    now: datetime,
    lease: timedelta,
) -> None:
    with store.write() as session:
        alerts = _unsent_alerts(session, run_id, now - lease)
        if not alerts:
            return
        posts = {alert.post_id: session.get(Post, alert.post_id) for alert in alerts}
        current = [alert for alert in alerts if _is_current(alert, posts)]
        for alert in alerts:
            if not _is_current(alert, posts):
                _attach(session, [alert], _closed(_alert_key(alert, posts), now))
        if len(current) >= DIGEST_THRESHOLD:
            groups = [current]
        else:
            groups = [[alert] for alert in current]
        for group in groups:
            _attach(session, group, _new_email(group, posts, settings, now))


def _unsent_alerts(
    session: Session, run_id: int | None, cutoff: datetime
) -> list[Alert]:
    """Return the alerts without an email, of run `run_id` or left by a stopped run."""
    left_by_stopped_run = col(Alert.created_at) <= cutoff
    condition = (
        left_by_stopped_run
        if run_id is None
        else or_(col(Alert.run_id) == run_id, left_by_stopped_run)
    )
    query = (
        select(Alert)
        .where(col(Alert.alert_email_id).is_(None))
        .where(condition)
        .order_by(col(Alert.post_id), col(Alert.failure))
    )
    return list(session.exec(query).all())


def _is_current(alert: Alert, posts: dict[int, Post | None]) -> bool:
    """Return whether the alert's failure is still the post's latest outcome."""
    post = posts.get(alert.post_id)
    if post is None:
        return False
    failed = post.post_status in (PostStatus.FAILED, PostStatus.PARTIAL)
    return failed and post.failures == alert.failure


def _new_email(
    group: Sequence[Alert],
    posts: dict[int, Post | None],
    settings: AlertSettings,
    now: datetime,
) -> AlertEmail:
    failed = [_failed_post(posts[alert.post_id], now) for alert in group]
    digest = len(group) > 1
    if digest:
        message = digest_email(failed, settings.zone)
        key = _digest_key(group, posts)
    else:
        message = alert_email(failed[0], settings.zone)
        key = _alert_key(group[0], posts)
    email = AlertEmail(
        idempotency_key=key,
        status=PENDING,
        digest=digest,
        recipient=settings.email or "",
        sender=settings.sender or "",
        subject=message.subject,
        html=message.html,
        text=message.text,
        covered=len(group),
    )
    email.created_at = email.next_attempt_at = now
    return email


def _closed(key: str, now: datetime, note: str = SUPERSEDED_NOTE) -> AlertEmail:
    """Return an email record that stores why an alert was never sent."""
    email = AlertEmail(
        idempotency_key=key,
        status=FAILED,
        recipient="",
        sender="",
        subject="",
        html="",
        text="",
        last_error=note,
    )
    email.created_at = now
    return email


def _attach(session: Session, group: Sequence[Alert], email: AlertEmail) -> None:
    session.add(email)
    session.flush()
    for alert in group:
        alert.alert_email_id = email.id
        session.add(alert)


def _failed_post(post: Post | None, now: datetime) -> FailedPost:
    # _is_current checked that the post exists.
    assert post is not None
    assert post.id is not None
    return FailedPost(
        post_id=post.id,
        status=post.post_status,
        text=post.text,
        scheduled_for=post.scheduled_for,
        reason=post.failure_reason,
        targets=tuple(
            FailedTarget(
                platform=target.platform,
                account=target.account,
                status=target.status,
                error=target.error,
                error_category=target.error_category,
                url=target.url,
            )
            for target in post.targets
        ),
        outcome_unknown=post.outcome_unknown,
        late_unsettled=post.late_unsettled,
        key_expired=post.attempt_key_expired(now),
    )


def _alert_key(alert: Alert, posts: dict[int, Post | None]) -> str:
    """Return `rabb-alert-{post uid}-{failure}`: the same on every attempt."""
    post = posts.get(alert.post_id)
    uid = post.uid if post is not None else f"post{alert.post_id}"
    return f"rabb-alert-{uid}-{alert.failure}"


def _digest_key(group: Sequence[Alert], posts: dict[int, Post | None]) -> str:
    """Return a digest's key, derived from every failure it covers."""
    covered = ",".join(sorted(_alert_key(alert, posts) for alert in group))
    return f"rabb-alert-digest-{hashlib.sha256(covered.encode()).hexdigest()[:32]}"


def _say_alerts_off(settings: AlertSettings, report: RunReport) -> None:
    """Log once in a run that handled a post that no alert email can go out.

    A run with nothing due prints nothing, because a timer runs `run-due` every
    minute and cron mails every line it prints. A run that handled a post prints
    that post's line anyway, so the note adds no email of its own.
    """
    if not report.outcomes:
        return
    failed = [outcome.post_id for outcome in report.failed_posts()]
    sent = f", so no email was sent for {_posts_text(failed)}" if failed else ""
    if settings.on_failure is False:
        # The user turned alerts off, so the note is for -v alone.
        logger.info("failure alerts are off (alerts.on_failure is false)%s", sent)
        return
    if not failed:
        sent = ", so a post that fails sends no email"
    logger.warning(
        "failure alerts are off%s; set an address with 'rabb notify --email ADDRESS'",
        sent,
    )


def _close_waiting(
    store: Store, run_id: int | None, now: datetime, lease: timedelta
) -> None:
    """Close the alerts and emails owed from before alerts were turned off.

    Otherwise they would stay due, and every run would load the full engine.
    """
    with store.write() as session:
        alerts = _unsent_alerts(session, run_id, now - lease)
        posts = {alert.post_id: session.get(Post, alert.post_id) for alert in alerts}
        for alert in alerts:
            key = _alert_key(alert, posts)
            _attach(session, [alert], _closed(key, now, ALERTS_OFF_NOTE))
        for email in session.exec(_due_emails(now, lease)).all():
            email.status = FAILED
            email.last_error = ALERTS_OFF_NOTE
            email.next_attempt_at = None
            session.add(email)


# Sending


def _due_emails(now: datetime, lease: timedelta) -> Any:
    """Return the query for pending emails that are due and that no run has claimed."""
    return select(AlertEmail).where(*_due(now, lease)).order_by(col(AlertEmail.id))


def _due(now: datetime, lease: timedelta) -> tuple[Any, ...]:
    """Return the conditions of an email to send now; a claim past `lease` is stale.

    They match `due.ALERT_DUE_CONDITION`, which a test checks.
    """
    unclaimed = or_(
        col(AlertEmail.claimed_by).is_(None),
        col(AlertEmail.claimed_at) <= now - lease,
    )
    return (
        col(AlertEmail.status) == PENDING,
        col(AlertEmail.next_attempt_at) <= now,
        unclaimed,
    )


def _sendable(now: datetime) -> Any:
    """Return the condition of an email that may be sent at `now`.

    That is one queued less than RETRY_WINDOW ago, or one that no attempt can have
    sent: every attempt proved unsent, and no run stopped while holding it.
    """
    fresh = col(AlertEmail.created_at) > now - RETRY_WINDOW
    never_sent = and_(
        col(AlertEmail.outcome_unknown).is_(False),
        col(AlertEmail.claimed_by).is_(None),
    )
    return or_(fresh, never_sent)


def _expire_unsendable(
    store: Store, now: datetime, lease: timedelta
) -> list[AlertOutcome]:
    """Mark failed, without a request, each due email that may not be sent now."""
    query = _due_emails(now, lease).where(not_(_sendable(now)))
    outcomes = []
    with store.write() as session:
        for email in session.exec(query).all():
            assert email.id is not None
            email.last_error = _expired_note(email)
            email.status = FAILED
            email.outcome_unknown = True
            email.next_attempt_at = email.claimed_by = email.claimed_at = None
            session.add(email)
            outcomes.append(
                AlertOutcome(
                    email_id=email.id,
                    post_ids=_post_ids(session, email.id),
                    status=FAILED,
                    digest=email.digest,
                    error=email.last_error,
                )
            )
    return outcomes


def _expired_note(email: AlertEmail) -> str:
    window = format_duration(RETRY_WINDOW)
    note = (
        "not sent again: an earlier attempt got no clear answer, so Resend may have"
        f" sent it, and Resend recognizes the email's idempotency key for {window}"
        " only, so another attempt could deliver a second copy"
    )
    return f"{note} (last error: {email.last_error})" if email.last_error else note


def _send_due(
    store: Store,
    settings: AlertSettings,
    token: str,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> list[AlertOutcome]:
    outcomes = _expire_unsendable(store, clock(), lease)
    for outcome in outcomes:
        _log_outcome(outcome)
    with store.read() as session:
        due = [email.id for email in session.exec(_due_emails(clock(), lease)).all()]
    if not due:
        return outcomes
    # Imported here: the resend package is needed only when an email goes out.
    from rabb_cli.publish.resend_client import HttpxTransport

    transport = HttpxTransport()
    try:
        while due:
            email_id = due.pop(0)
            assert email_id is not None
            claimed = _claim(store, email_id, token, clock(), lease, settings)
            if claimed is None:
                continue  # Another run sent or claimed it since the selection.
            if isinstance(claimed, _Dropped):
                outcomes.append(claimed.outcome)
                due.extend(claimed.replacements)
                continue
            result = _attempt(claimed, settings, transport)
            recorded = _record(store, claimed, token, result, clock())
            if recorded is not None:
                outcomes.append(recorded)
    finally:
        transport.close()
    return outcomes


def _claim(
    store: Store,
    email_id: int,
    token: str,
    now: datetime,
    lease: timedelta,
    settings: AlertSettings,
) -> _Claimed | _Dropped | None:
    """Take the email for this run and count the attempt, if it is still due.

    An email about a failure that is no longer current (the post was published,
    retried or deleted since) is closed instead; see `_drop`. A claim taken over
    from a stopped run marks the email as possibly sent, since that run may have
    sent it.
    """
    condition = (col(AlertEmail.id) == email_id, *_due(now, lease), _sendable(now))
    taken_over = col(AlertEmail.claimed_by).is_not(None)
    statement = (
        update(AlertEmail)
        .where(*condition)
        .values(
            claimed_by=token,
            claimed_at=now,
            attempts=col(AlertEmail.attempts) + 1,
            outcome_unknown=or_(col(AlertEmail.outcome_unknown), taken_over),
        )
    )
    with store.write() as session:
        # The write lock is held from here, so no command changes a post between
        # this check and the claim.
        email = session.exec(select(AlertEmail).where(*condition)).first()
        if email is None:
            return None
        coverage = _coverage(session, email)
        if coverage.changes:
            return _drop(session, email, coverage, settings, now)
        result = session.exec(statement)
        if getattr(result, "rowcount", 0) != 1:
            return None
        session.refresh(email)  # The UPDATE counted the attempt.
        post_ids = _post_ids(session, email_id)
        return _Claimed(
            id=email_id,
            idempotency_key=email.idempotency_key,
            attempts=email.attempts,
            message={
                "from": email.sender,
                "to": [email.recipient],
                "subject": email.subject,
                "html": email.html,
                "text": email.text,
            },
            post_ids=post_ids,
            digest=email.digest,
        )


def _coverage(session: Session, email: AlertEmail) -> _Coverage:
    """Return which failures of the email are still current, and what changed."""
    alerts = list(
        session.exec(
            select(Alert)
            .where(col(Alert.alert_email_id) == email.id)
            .order_by(col(Alert.post_id), col(Alert.id))
        ).all()
    )
    posts = {alert.post_id: session.get(Post, alert.post_id) for alert in alerts}
    current: list[Alert] = []
    changes: list[str] = []
    for alert in alerts:
        if _is_current(alert, posts):
            current.append(alert)
        else:
            changes.append(_change(alert, posts.get(alert.post_id)))
    # An email always covers at least one failure, so an email without alert rows
    # lost them with a deleted post, whatever the value of `covered`.
    deleted = email.covered - len(alerts) if alerts else max(email.covered, 1)
    if not alerts and deleted == 1:
        changes.append("the post was deleted")
    elif deleted == 1:
        changes.append("1 post was deleted")
    elif deleted > 1:
        changes.append(f"{deleted} posts were deleted")
    return _Coverage(current, changes)


def _change(alert: Alert, post: Post | None) -> str:
    """Return what happened to a post since the failure the alert is about."""
    if post is None:
        return f"post {alert.post_id} was deleted"
    status = post.post_status
    if status is PostStatus.PUBLISHED:
        return f"post {alert.post_id} was published"
    if status in (PostStatus.FAILED, PostStatus.PARTIAL):
        return f"post {alert.post_id} failed again, which has an alert of its own"
    return f"post {alert.post_id} was retried"


def _drop(
    session: Session,
    email: AlertEmail,
    coverage: _Coverage,
    settings: AlertSettings,
    now: datetime,
) -> _Dropped:
    """Close an email that covers a failure that is no longer current.

    Resend rejects a known idempotency key with a different payload, so the email
    cannot drop a post and keep its key. The failures that are still current go
    into a new email with a key of its own. That happens only while no attempt can
    have delivered this email, because otherwise they may have had their alert
    already, and a second email would alert them twice.
    """
    assert email.id is not None
    post_ids = _post_ids(session, email.id)
    changed = _join(coverage.changes)
    replacements: list[int] = []
    if not coverage.current:
        note = f"not sent: {changed} before the alert went out"
    elif email.outcome_unknown or email.claimed_by is not None:
        note = (
            f"not sent again: {changed} before the alert went out, and an earlier"
            " attempt may have delivered this email already, so no new email goes"
            f" out for {_posts_text(sorted({a.post_id for a in coverage.current}))}"
        )
    else:
        replacements = _requeue(session, coverage.current, settings, now)
        still = _posts_text(sorted({alert.post_id for alert in coverage.current}))
        note = (
            f"not sent: {changed} before the alert went out, so the alert for"
            f" {still} went into a new email"
        )
    email.status = FAILED
    email.last_error = note
    email.next_attempt_at = email.claimed_by = email.claimed_at = None
    session.add(email)
    logger.info("%s %s", _subject(post_ids, email.digest), note)
    outcome = AlertOutcome(
        email_id=email.id,
        post_ids=post_ids,
        status=FAILED,
        digest=email.digest,
        error=note,
    )
    return _Dropped(outcome, replacements)


def _requeue(
    session: Session, alerts: list[Alert], settings: AlertSettings, now: datetime
) -> list[int]:
    """Move still-current alerts into new emails; return the new emails' ids."""
    posts = {alert.post_id: session.get(Post, alert.post_id) for alert in alerts}
    groups = [alerts] if len(alerts) >= DIGEST_THRESHOLD else [[a] for a in alerts]
    ids = []
    for group in groups:
        email = _new_email(group, posts, settings, now)
        _attach(session, group, email)
        assert email.id is not None  # _attach flushes the new row.
        ids.append(email.id)
    return ids


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _post_ids(session: Session, email_id: int) -> list[int]:
    query = (
        select(col(Alert.post_id))
        .where(col(Alert.alert_email_id) == email_id)
        .order_by(col(Alert.post_id))
    )
    return list(session.exec(query).all())


def _attempt(
    claimed: _Claimed, settings: AlertSettings, transport: "HttpxTransport"
) -> "SendResult":
    from rabb_cli.publish.resend_client import SendResult, send_email

    # The sender was stored with the email; the key is read from today's settings.
    missing = replace(settings, sender=claimed.message["from"] or None).missing()
    if missing:
        what, how = missing[0]
        return SendResult(error=f"{what}: {how}")
    assert settings.api_key is not None  # missing() names an unset key.
    logger.info(
        "%s: attempt %d, idempotency key %s",
        _subject(claimed.post_ids, claimed.digest),
        claimed.attempts,
        claimed.idempotency_key,
    )
    return send_email(
        claimed.message,
        api_key=settings.api_key,
        api_url=settings.api_url,
        idempotency_key=claimed.idempotency_key,
        transport=transport,
    )


def _record(
    store: Store, claimed: _Claimed, token: str, result: "SendResult", now: datetime
) -> AlertOutcome | None:
    with store.write() as session:
        email = session.get(AlertEmail, claimed.id)
        if email is None or email.claimed_by != token:
            logger.warning(
                "%s: another run took it over, so that run records it",
                _subject(claimed.post_ids, claimed.digest),
            )
            return None
        email.claimed_by = email.claimed_at = None
        _apply(email, result, now)
        session.add(email)
    outcome = AlertOutcome(
        email_id=claimed.id,
        post_ids=claimed.post_ids,
        status=email.status,
        digest=claimed.digest,
        resend_id=email.resend_id,
        error=email.last_error,
        next_attempt_at=email.next_attempt_at,
    )
    _log_outcome(outcome, email.recipient)
    return outcome


def _apply(email: AlertEmail, result: "SendResult", now: datetime) -> None:
    """Update the email's record with the result of the attempt."""
    if result.sent:
        email.status = SENT
        email.resend_id = result.resend_id
        email.sent_at = now
        email.last_error = None
        email.next_attempt_at = None
        return
    email.last_error = redact(result.error) if result.error else None
    email.outcome_unknown = email.outcome_unknown or result.may_have_sent
    if result.transient and now - email.created_at < RETRY_WINDOW:
        email.status = PENDING
        email.next_attempt_at = _next_attempt(email.attempts, now, result.not_before)
        return
    if result.transient:
        # An email sent late because no attempt can have sent it gets that one try.
        waited = format_duration(now - email.created_at)
        email.last_error = (
            f"gave up after {email.attempts} attempts in {waited}: {email.last_error}"
        )
    email.status = FAILED
    email.next_attempt_at = None


def _next_attempt(
    attempts: int, now: datetime, not_before: datetime | None
) -> datetime:
    exponent = min(max(attempts - 1, 0), 20)
    planned = now + min(BACKOFF_MAX, BACKOFF_BASE * (1 << exponent))
    if not_before is not None and not_before > planned:
        return not_before
    return planned


def _log_outcome(outcome: AlertOutcome, recipient: str = "") -> None:
    subject = _subject(outcome.post_ids, outcome.digest)
    if outcome.status == SENT:
        logger.info(
            "%s sent to %s (Resend email id %s)", subject, recipient, outcome.resend_id
        )
    elif outcome.status == PENDING:
        assert outcome.next_attempt_at is not None
        logger.warning(
            "%s not sent: %s; the next try is at %s",
            subject,
            outcome.error,
            format_utc(outcome.next_attempt_at),
        )
    else:
        logger.warning("%s failed and is not retried: %s", subject, outcome.error)


def _subject(post_ids: Sequence[int], digest: bool) -> str:
    kind = "digest alert" if digest else "alert"
    return f"{kind} for {_posts_text(post_ids)}"


def _posts_text(post_ids: Sequence[int]) -> str:
    if len(post_ids) == 1:
        return f"post {post_ids[0]}"
    return "posts " + ", ".join(str(post_id) for post_id in post_ids)


def _state(alert: Alert, email: AlertEmail | None) -> AlertState:
    if email is None:
        return AlertState(failure=alert.failure, status=WAITING)
    return AlertState(
        failure=alert.failure,
        status=email.status,
        digest=email.digest,
        recipient=email.recipient,
        resend_id=email.resend_id,
        last_error=email.last_error,
        attempts=email.attempts,
        sent_at=email.sent_at,
        next_attempt_at=email.next_attempt_at,
        idempotency_key=email.idempotency_key,
    )
