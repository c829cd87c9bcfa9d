"""Writing posts: compose, schedule, edit, cancel and delete, with every check.

Each function validates all of its input before it opens a write transaction, and
re-reads the post's status inside that transaction, so a failed command stores
nothing and an edit never races a run that is publishing the post.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session

from rabb_cli import accounts
from rabb_cli.errors import InvalidInput
from rabb_cli.models import MAX_WAIT_ON_LATE, Post, Target, utc_now
from rabb_cli.status import PostStatus, TargetStatus
from rabb_cli.store import Store
from rabb_cli.targets import is_published, match_targets
from rabb_cli.textrules import (
    PLATFORMS,
    MediaItem,
    TargetSpec,
    check_media,
    check_text,
    normalize_text,
    parse_media,
    parse_platform,
    parse_targets,
    require_text,
)
from rabb_cli.timeparse import format_duration, format_local

EDITABLE = (
    PostStatus.DRAFT,
    PostStatus.SCHEDULED,
    PostStatus.FAILED,
    PostStatus.PARTIAL,
)


@dataclass
class Content:
    """The parts of a post that the checks cover: text, targets, per-platform text
    and media."""

    text: str
    targets: list[TargetSpec]
    custom_texts: dict[str, str] = field(default_factory=dict)
    media: list[MediaItem] = field(default_factory=list)


@dataclass
class Changes:
    """The changes `rabb edit` makes; None leaves a part as it is."""

    text: str | None = None
    targets: list[TargetSpec] | None = None
    custom_texts: dict[str, str | None] = field(default_factory=dict)
    media: list[MediaItem] | None = None
    scheduled_for: datetime | None = None


def build_content(
    text: str,
    platforms: Sequence[str],
    media_urls: Sequence[str] = (),
    text_for: Sequence[str] = (),
) -> Content:
    """Parse command-line values into checked Content, or raise InvalidInput."""
    targets = parse_targets(list(platforms))
    custom = {name: value for name, value in parse_text_for(text_for).items() if value}
    media = [parse_media(url) for url in media_urls]
    content = Content(normalize_text(text), targets, custom, media)
    check_content(content)
    return content


def parse_text_for(values: Sequence[str]) -> dict[str, str | None]:
    """Parse `--text-for PLATFORM=TEXT` values; an empty TEXT clears the override."""
    result: dict[str, str | None] = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator:
            raise InvalidInput(
                f"invalid --text-for value {value!r}",
                "write PLATFORM=TEXT, for example --text-for twitter='Short version'",
            )
        platform = parse_platform(name).name
        result[platform] = (
            normalize_text(text, f"the --text-for {platform} text") or None
        )
    return result


def check_content(content: Content) -> None:
    """Check the text against every target platform's limit and rule."""
    platforms = {target.platform for target in content.targets}
    for name in content.custom_texts:
        if name not in platforms:
            raise InvalidInput(
                f"--text-for {name} names a platform the post does not go to",
                f"add -p {name}, or drop --text-for {name}",
            )
    require_text(content.text)
    for name in sorted(platforms):
        text = content.custom_texts.get(name, content.text)
        check_text(text, name, has_media=bool(content.media))
        check_media(name, content.media)


def create_post(
    store: Store, content: Content, scheduled_for: datetime | None = None
) -> Post:
    """Store a new post: a draft, or scheduled when a time is given."""
    status = PostStatus.SCHEDULED if scheduled_for else PostStatus.DRAFT
    post = Post(
        uid=uuid.uuid4().hex,
        text=content.text,
        status=status.value,
        media=[{"url": item.url, "type": item.type} for item in content.media],
        scheduled_for=scheduled_for,
    )
    post.targets = _targets_for(content, [])
    with store.write() as session:
        accounts.check_targets(session, content.targets)
        session.add(post)
        session.flush()
        session.refresh(post)
    return post


def schedule_post(store: Store, post_id: int, when: datetime) -> Post:
    """Make a draft (or an already scheduled post) due at `when`."""
    with store.write() as session:
        post = store.get_post(session, post_id)
        status = post.post_status
        if status in (PostStatus.FAILED, PostStatus.PARTIAL):
            raise InvalidInput(
                f"post {post_id} is {status.label}, so it cannot be scheduled again",
                f"use 'rabb retry {post_id} --at WHEN' to send it again",
            )
        if status not in (PostStatus.DRAFT, PostStatus.SCHEDULED):
            raise InvalidInput(
                f"post {post_id} is {status.label}, so it cannot be scheduled",
                f"see 'rabb show {post_id}'",
            )
        accounts.check_targets(session, _content_of(post).targets)
        if status is PostStatus.DRAFT:
            # A draft scheduled again starts with all its attempts, even after retries
            # before it was cancelled.
            post.attempts = 0
            post.last_error = None
        post.status = PostStatus.SCHEDULED.value
        post.scheduled_for = when
        post.next_attempt_at = None
        post.updated_at = utc_now()
        session.add(post)
    return post


def edit_post(store: Store, post_id: int, changes: Changes) -> Post:
    """Apply `changes` to a post that has not been published yet."""
    with store.write() as session:
        post = store.get_post(session, post_id)
        require_editable(post)
        if changes.scheduled_for is not None:
            _require_schedulable_by_edit(post)

        content = _content_of(post)
        content_changed = _apply_changes(content, changes)
        check_content(content)

        if content_changed:
            require_content_editable(post)
            rows = _rows_for_edit(session, post, content, changes)
            post.text = content.text
            post.media = [{"url": m.url, "type": m.type} for m in content.media]
            post.targets = _targets_for(content, rows)
            post.revision += 1
        if changes.scheduled_for is not None:
            post.scheduled_for = changes.scheduled_for
            post.next_attempt_at = None
        post.updated_at = utc_now()
        if content_changed and all_published(post):
            # The edit left out the last platform still to publish.
            settle_published(post, post.updated_at)
        session.add(post)
        session.flush()
        session.refresh(post)
    return post


def cancel_post(store: Store, post_id: int) -> Post:
    """Turn a scheduled post back into a draft; its planned time is kept."""
    with store.write() as session:
        post = store.get_post(session, post_id)
        if post.post_status is not PostStatus.SCHEDULED:
            raise InvalidInput(
                f"post {post_id} is {post.post_status.label}, and only a SCHEDULED"
                " post can be cancelled",
                f"see 'rabb show {post_id}'",
            )
        post.status = PostStatus.DRAFT.value
        post.next_attempt_at = None
        post.updated_at = utc_now()
        session.add(post)
    return post


def delete_post(store: Store, post_id: int) -> Post:
    """Remove a post and its targets from the store."""
    with store.write() as session:
        post = store.get_post(session, post_id)
        check_deletable(post)
        session.delete(post)
    return post


def check_deletable(
    post: Post, lease: timedelta | None = None, zone: tzinfo | None = None
) -> None:
    """Raise InvalidInput while a run has claimed the post.

    A PUBLISHING post without a claim is waiting for Late to finish on its side.
    Deleting it is allowed, because only the local copy goes. With `lease` and
    `zone`, the error says when the next run takes over the claim of a stopped run.
    """
    if post.post_status is PostStatus.PUBLISHING and post.claimed_by is not None:
        raise InvalidInput(
            f"post {post.id} is being published right now, so it cannot be deleted",
            claimed_hint(post, lease, zone),
        )


def lease_end(post: Post, lease: timedelta) -> datetime | None:
    """Return when a run's claim on the post runs out, or None when unclaimed."""
    if post.claimed_by is None or post.claimed_at is None:
        return None
    return post.claimed_at + lease


def claimed_hint(
    post: Post, lease: timedelta | None = None, zone: tzinfo | None = None
) -> str:
    """Return what to do about a post that a run has claimed."""
    hint = f"wait for the run to finish, then check 'rabb show {post.id}'"
    ends = lease_end(post, lease) if lease is not None else None
    if ends is None or zone is None:
        return hint
    return (
        f"{hint}; if no run is active (it was stopped), the next run takes the post"
        f" over after {format_local(ends, zone, seconds=True)}"
    )


def reject_unknown_delete(post: Post) -> None:
    """Raise InvalidInput for a delete without --yes of a post Late may have published.

    Deleting removes rabb's only record of the unanswered attempt, so a prompt's
    "y" is not enough: the command must include --yes, and rabb warns as it deletes.
    """
    raise InvalidInput(
        f"post {post.id} was not deleted: {unknown_outcome_cause(post)}, and"
        " deleting it drops rabb's only record of that attempt",
        f"settle it first: {settle_hint(post)}; to delete it anyway, run"
        f" 'rabb delete {post.id} --yes'",
    )


def waiting_on_late(post: Post) -> bool:
    """Return whether Late has the post and may still publish it."""
    if not post.late_post_id:
        return False
    return post.post_status is PostStatus.PUBLISHING or post.late_unsettled


@dataclass(frozen=True)
class RetryPlan:
    """The change `rabb retry` makes, or would make, to one post."""

    post_id: int
    previous_status: PostStatus
    scheduled_for: datetime
    # Targets sent again, and targets already published that are never sent again.
    retried: list[str]
    published: list[str]
    # Set when Late retries its own post (the platforms that failed on it).
    late_post_id: str | None
    # Set when rabb creates the post anew: the idempotency key it sends.
    idempotency_key: str | None
    # True when an earlier attempt got no response, so Late may have the post.
    outcome_unknown: bool
    # True when that attempt's key is too old for Late to recognize, and the user
    # confirmed that Late did not publish the post.
    confirmed_unpublished: bool = False


@dataclass(frozen=True)
class SettledPost:
    """A PARTIAL post that `rabb retry` skips: every target it goes to is published.

    Such a post is left from an edit that removed its last failed platform, before
    rabb marked that post PUBLISHED at once. The retry marks it PUBLISHED.
    """

    post_id: int
    published: list[str]


@dataclass(frozen=True)
class RetryResult:
    """The outcome of `rabb retry`: the posts it retries and the posts it skips."""

    plans: list[RetryPlan]
    settled: list[SettledPost] = field(default_factory=list)


def retry_posts(
    store: Store,
    post_ids: Sequence[int] | None,
    when: datetime,
    *,
    dry_run: bool = False,
    confirm_unpublished: bool = False,
) -> RetryResult:
    """Schedule FAILED and PARTIAL posts again at `when` (None: every such post).

    Every post is checked before any changes, so one that cannot be retried leaves
    all of them as they were. A post with no target left to publish is not retried
    but marked PUBLISHED. A dry run changes nothing. A post whose unanswered
    attempt is older than Late remembers its key is retried only with
    `confirm_unpublished`: the user checked Late, so that attempt is settled and
    the retry gets a new key.
    """
    now = utc_now()
    session_scope = store.read() if dry_run else store.write()
    with session_scope as session:
        if post_ids is None:
            posts = store.list_posts(
                session, statuses=(PostStatus.FAILED, PostStatus.PARTIAL)
            )
        else:
            unique = dict.fromkeys(post_ids)
            posts = [store.get_post(session, post_id) for post_id in unique]
        settled = [post for post in posts if _nothing_left(post)]
        retried = [post for post in posts if not _nothing_left(post)]
        for post in retried:
            require_retryable(post, now, confirm_unpublished=confirm_unpublished)
        result = RetryResult(
            plans=[_retry_plan(post, when, now) for post in retried],
            settled=[_settled(post) for post in settled],
        )
        if not dry_run:
            for post in retried:
                _schedule_retry(post, when, now)
            for post in settled:
                settle_published(post, now)
            session.add_all(posts)
    return result


def all_published(post: Post) -> bool:
    """Return whether the post has targets and every one of them is published."""
    return bool(post.targets) and not _unpublished(post)


def settle_published(post: Post, now: datetime) -> None:
    """Mark PUBLISHED a post whose every target is published."""
    post.status = PostStatus.PUBLISHED.value
    post.failure_reason = None
    post.last_error = None
    post.next_attempt_at = None
    times = [target.published_at for target in post.targets if target.published_at]
    post.published_at = post.published_at or (max(times) if times else now)
    post.updated_at = now


def _nothing_left(post: Post) -> bool:
    failed = post.post_status in (PostStatus.FAILED, PostStatus.PARTIAL)
    return failed and all_published(post)


def _settled(post: Post) -> SettledPost:
    assert post.id is not None  # Posts read from the store have an id.
    return SettledPost(post.id, [target.selector for target in post.targets])


def require_retryable(
    post: Post, now: datetime, *, confirm_unpublished: bool = False
) -> None:
    """Raise InvalidInput, saying why and what to do, unless `rabb retry` applies."""
    status = post.post_status
    post_id = post.id
    if status in (PostStatus.FAILED, PostStatus.PARTIAL):
        if post.attempt_key_expired(now) and not confirm_unpublished:
            raise InvalidInput(
                f"post {post_id} cannot be retried as it is: an earlier attempt got"
                " no answer, so Late may have published it, and that attempt is"
                " more than 23 hours old, too old for Late to recognize its"
                " idempotency key, so a retry could publish it twice",
                f"check the post in Late; if it was not published there, run 'rabb"
                f" retry {post_id} --confirm-unpublished'",
            )
        return
    reasons = {
        PostStatus.PUBLISHED: (
            "there is nothing to retry",
            "to publish the same text again, compose a new post",
        ),
        PostStatus.PUBLISHING: (
            "a run or Late is publishing it right now",
            f"wait until it settles, then check 'rabb show {post_id}'",
        ),
        PostStatus.DRAFT: (
            "it was never sent",
            f"schedule it with 'rabb schedule {post_id} --at WHEN'",
        ),
        PostStatus.SCHEDULED: (
            "it is waiting for its time already",
            f"'rabb run-due' publishes it when it is due; see 'rabb show {post_id}'",
        ),
    }
    why, hint = reasons[status]
    raise InvalidInput(
        f"post {post_id} is {status.label}, so it cannot be retried: {why}", hint
    )


def _retry_plan(post: Post, when: datetime, now: datetime) -> RetryPlan:
    assert post.id is not None  # Posts read from the store have an id.
    # require_retryable let an expired key through only with the user's word that
    # Late did not publish the post, which settles that attempt: its key goes.
    confirmed = post.attempt_key_expired(now)
    on_late = post.late_post_retryable if confirmed else post.retries_on_late
    key = None if confirmed else post.attempt_key
    return RetryPlan(
        post_id=post.id,
        previous_status=post.post_status,
        scheduled_for=when,
        retried=[target.selector for target in _unpublished(post)],
        published=[
            target.selector
            for target in post.targets
            if target.status == TargetStatus.PUBLISHED.value
        ],
        late_post_id=post.late_post_id if on_late else None,
        idempotency_key=None if on_late else key or post.idempotency_key,
        outcome_unknown=post.outcome_unknown and not confirmed,
        confirmed_unpublished=confirmed,
    )


def _schedule_retry(post: Post, when: datetime, now: datetime) -> None:
    """Make a failed post due at `when` with all its attempts and no failure reason.

    The failure count stays, so the retry sends with a key of its own (see
    Post.idempotency_key) and a new failure gets a new alert. An expired attempt
    key is dropped: `require_retryable` lets such a post through only once the
    user confirmed that Late did not publish it.
    """
    if post.attempt_key_expired(now):
        post.attempt_key = post.attempt_sent_at = None
    post.status = PostStatus.SCHEDULED.value
    post.scheduled_for = when
    post.next_attempt_at = None
    post.attempts = 0
    post.failure_reason = None
    post.last_error = None
    post.updated_at = now
    for target in _unpublished(post):
        target.status = TargetStatus.PENDING.value
        target.error = None
        target.error_category = None


def _unpublished(post: Post) -> list[Target]:
    return [t for t in post.targets if not is_published(t)]


def _require_schedulable_by_edit(post: Post) -> None:
    status = post.post_status
    if status in (PostStatus.FAILED, PostStatus.PARTIAL):
        raise InvalidInput(
            f"post {post.id} is {status.label}, and a new time alone would not send"
            " it again",
            f"use 'rabb retry {post.id} --at WHEN' to schedule it again",
        )


def require_editable(
    post: Post, lease: timedelta | None = None, zone: tzinfo | None = None
) -> None:
    status = post.post_status
    if status in EDITABLE:
        return
    if status is PostStatus.PUBLISHED:
        hint = "compose a new post instead"
    elif post.claimed_by is None and post.late_post_id:
        raise _waiting_on_late_error(post, utc_now())
    else:
        hint = claimed_hint(post, lease, zone)
    raise InvalidInput(
        f"post {post.id} is {status.label}, so it cannot be edited", hint
    )


def _waiting_on_late_error(post: Post, now: datetime) -> InvalidInput:
    """Return the error for an unclaimed post that Late is still publishing."""
    if post.next_attempt_at is None or post.next_attempt_at <= now:
        check = "the next 'rabb run-due' checks it on Late"
    else:
        wait = format_duration(post.next_attempt_at - now)
        check = f"the next check on Late is in {wait}"
    if post.waiting_since is None:
        stop = f"{format_duration(MAX_WAIT_ON_LATE)} after Late first reported it"
        stop += " unfinished"
    else:
        left = max(post.waiting_since + MAX_WAIT_ON_LATE - now, timedelta())
        stop = f"in {format_duration(left)}"
    return InvalidInput(
        f"post {post.id} is PUBLISHING, so it cannot be edited: Late is still"
        f" publishing it as Late post {post.late_post_id}",
        f"see 'rabb show {post.id}' for its state. {check[0].upper()}{check[1:]};"
        f" checks stop {stop}, and the post then ends FAILED or PARTIAL if Late has"
        " not finished. To publish other text, compose a new post",
    )


def require_content_editable(post: Post) -> None:
    """Raise InvalidInput while an attempt's outcome is unknown.

    Retries of such an attempt must send the same content with the same idempotency
    key, so that Late recognizes a post it already has. New text would get a new key,
    and Late could then publish both versions. The same applies while Late may still
    publish its own post (`late_unsettled`): new text would go out as a new post.
    """
    if not post.outcome_unknown:
        return
    raise InvalidInput(
        f"the text, platforms and media of post {post.id} cannot change now:"
        f" {unknown_outcome_cause(post)}",
        f"{settle_hint(post)}; to publish other text, compose a new post",
    )


def unknown_outcome_cause(post: Post) -> str:
    """Return why Late may have published a post whose outcome is unknown."""
    if post.late_unsettled:
        return (
            f"Late may still publish its post {post.late_post_id}, since a request"
            " to Late got no answer or Late had not finished publishing it"
        )
    return (
        "Late may already have published it, since the outcome of an attempt is unknown"
    )


def settle_hint(post: Post) -> str:
    """Return the command that settles an unknown outcome, for the post's status."""
    if post.late_unsettled:
        again = "asks Late to retry its post"
        recognized = "which Late never publishes twice"
    else:
        again = "sends the same content again"
        recognized = "which Late recognizes"
    if post.post_status is PostStatus.SCHEDULED:
        return f"'rabb run-due' {again}, {recognized}"
    if post.post_status is PostStatus.DRAFT:
        return f"schedule it again ('rabb schedule {post.id} --at now') to settle it"
    if post.attempt_key_expired(utc_now()):
        return (
            "check the post in Late; if it was not published there, 'rabb retry"
            f" {post.id} --confirm-unpublished' settles it"
        )
    return f"'rabb retry {post.id}' {again} to settle it"


def _content_of(post: Post) -> Content:
    return Content(
        text=post.text,
        targets=[TargetSpec(t.platform, t.account) for t in post.targets],
        custom_texts={t.platform: t.text for t in post.targets if t.text},
        media=[MediaItem(m["url"], m["type"]) for m in post.media],
    )


def _apply_changes(content: Content, changes: Changes) -> bool:
    before = (
        content.text,
        list(content.targets),
        dict(content.custom_texts),
        list(content.media),
    )
    if changes.text is not None:
        content.text = normalize_text(changes.text)
    if changes.targets is not None:
        content.targets = changes.targets
        kept = {target.platform for target in changes.targets}
        content.custom_texts = {
            name: text for name, text in content.custom_texts.items() if name in kept
        }
    for name, text in changes.custom_texts.items():
        if text is None:
            content.custom_texts.pop(name, None)
        else:
            content.custom_texts[name] = text
    if changes.media is not None:
        content.media = changes.media
    after = (content.text, content.targets, content.custom_texts, content.media)
    return after != before


def _rows_for_edit(
    session: Session, post: Post, content: Content, changes: Changes
) -> list[Target | None]:
    """Return the existing row of each target in `content`, None for a new one.

    Raises InvalidInput for new `-p` values that drop a published target or that
    the cached accounts cannot resolve.
    """
    if changes.targets is None:
        # `content.targets` came from these rows, in this order.
        return list(post.targets)
    published = {(t.platform, t.account) for t in post.targets if is_published(t)}
    unpublished = [
        spec
        for spec in content.targets
        if (spec.platform, spec.account) not in published
    ]
    # A published platform stays as it is, even when its account can no longer post.
    accounts.check_targets(session, unpublished)
    cache = accounts.cached_accounts(session)
    return match_targets(post.id, content.targets, post.targets, cache)


def _targets_for(content: Content, rows: Sequence[Target | None]) -> list[Target]:
    """Build the target rows of `content` from `rows`, the row kept for each target
    (None, or a missing entry, for a new target).

    A kept row keeps its outcome, so a published platform is never sent again.
    """
    targets = []
    for position, spec in enumerate(content.targets):
        target = rows[position] if position < len(rows) else None
        if target is None:
            target = Target(platform=spec.platform, account=spec.account)
        elif not is_published(target):
            # The same account, perhaps written another way: take the new spelling.
            target.account = spec.account
        target.position = position
        target.text = content.custom_texts.get(spec.platform)
        targets.append(target)
    return targets


def platform_label(name: str) -> str:
    platform = PLATFORMS.get(name)
    return platform.label if platform else name


def next_commands(post: Post) -> list[str]:
    """Return the commands that apply to the post in its current status."""
    post_id = post.id
    status = post.post_status
    if status is PostStatus.DRAFT:
        return [
            f'rabb schedule {post_id} --at "tomorrow 9am"',
            f"rabb edit {post_id}",
            f"rabb delete {post_id}",
        ]
    if status is PostStatus.SCHEDULED:
        return [
            f"rabb cancel {post_id}",
            f'rabb edit {post_id} --at "in 1h"',
            "rabb run-due --dry-run",
        ]
    if status is PostStatus.PUBLISHING:
        # doctor reports a post stuck in PUBLISHING and what the next run does.
        return ["rabb doctor", "rabb run-due --dry-run"]
    if status in (PostStatus.FAILED, PostStatus.PARTIAL):
        return [f"rabb retry {post_id}", f"rabb edit {post_id}"]
    return []
