"""Database tables as SQLModel classes.

The schema itself is created by the ordered migrations in `migrations.py`; these
classes map onto it, and a test checks that both agree column by column.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Relationship, SQLModel

from rabb_cli.status import PostStatus, TargetStatus

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Late statuses of a post that Late's retry endpoint publishes again.
LATE_RETRYABLE_STATUSES = ("failed", "partial")
# Late recognizes an Idempotency-Key for 24 hours after the first request with it.
# rabb reuses a key for 23 hours after it first sent it, which leaves an hour for a
# clock that is off.
ATTEMPT_KEY_LIFETIME = timedelta(hours=23)
# Checks on a post that Late keeps publishing stop this long after Late first
# reported it unfinished, and the post ends FAILED (or PARTIAL). Late's longest
# documented holds, an account's cooldown after failures and its daily publishing
# caps, end within 24 hours. Twice that leaves room for Late's own retries.
MAX_WAIT_ON_LATE = timedelta(hours=48)


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as fixed-width ISO 8601 UTC text.

    SQLAlchemy's DateTime on SQLite drops the offset and reads back naive values.
    This type rejects naive values on the way in, stores `2026-08-23T07:00:00.000000Z`
    so that text order is time order, and reads back aware UTC datetimes.
    """

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        return value.astimezone(UTC).strftime(TIME_FORMAT)

    def process_result_value(self, value: str | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # fromisoformat took 0.2 µs per value against 18 µs for strptime (Python
        # 3.11), which shows when a calendar reads thousands of rows. It also
        # accepts naive forms, which the check on the trailing Z keeps out.
        if not value.endswith("Z"):
            raise ValueError(f"stored time {value!r} is not in UTC")
        return datetime.fromisoformat(value)


class Post(SQLModel, table=True):
    """A post: its text, targets, media, schedule and publishing outcome."""

    __tablename__ = "post"

    id: int | None = Field(default=None, primary_key=True)
    # A random id that makes idempotency keys unique across installations that
    # share one Late account, where the integer ids overlap.
    uid: str
    text: str
    status: str = Field(default=PostStatus.DRAFT.value)
    media: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late_post_id: str | None = None
    failure_reason: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Goes up whenever text, targets or media change, so that an edited post gets a
    # new idempotency key while a retry of the same content reuses the old one.
    revision: int = 1
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    # Set while the outcome of an attempt is unknown: retries must send this key,
    # and the content must not change, until Late has answered.
    attempt_key: str | None = None
    # Late's status of the post while Late keeps publishing it on its side.
    late_status: str | None = None
    last_error: str | None = None
    # How many times the post ended FAILED or PARTIAL. Each failure gets one alert.
    failures: int = 0
    # The revision of the content that the Late post `late_post_id` carries. None
    # when that post is not one rabb created for this post, such as the original
    # that a 409 duplicate names.
    late_revision: int | None = None
    # The request the claiming run sends: create, late_retry or check
    # (`rabb_cli.publish.report.ClaimKind`). None while no run has claimed the post.
    claim_kind: str | None = None
    # When `attempt_key` was first sent, since Late recognizes a key for 24 hours.
    attempt_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # True while Late may still publish `late_post_id` without rabb knowing: a retry
    # request to Late got no answer, or Late had not finished when rabb stopped
    # checking. Only Late's retry endpoint, which never publishes a platform twice,
    # is used on such a post, and its content must not change.
    late_unsettled: bool = False
    # When Late first reported the post as still publishing. Checks on Late stop
    # some time after this (see `rabb_cli.publish.record`).
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)

    targets: list["Target"] = Relationship(
        back_populates="post",
        sa_relationship_kwargs={
            "order_by": "Target.position",
            "cascade": "all, delete-orphan",
            "lazy": "selectin",
        },
    )

    @property
    def post_status(self) -> PostStatus:
        return PostStatus(self.status)

    @property
    def idempotency_key(self) -> str:
        """Return the key of a new attempt at the current content.

        After failure N, `rabb retry` sends with a key that ends in `-fN`. The key
        is new for that retry, because Late returns the post it created for a key
        it has seen within 24 hours, and the same for every attempt of that retry.
        """
        key = f"rabb-{self.uid}-r{self.revision}"
        return f"{key}-f{self.failures}" if self.failures else key

    @property
    def retries_on_late(self) -> bool:
        """Return whether the next attempt requests a retry of Late's own post.

        That is the case when Late's retry endpoint applies to `late_post_id` and
        no create is waiting to be sent again with its key.
        """
        return self.late_post_retryable and self.attempt_key is None

    @property
    def late_post_retryable(self) -> bool:
        """Return whether Late's retry endpoint applies to `late_post_id`.

        It does when Late has the current content as a post that failed on some or
        all platforms, or that Late may still publish (`late_unsettled`). POST
        /v1/posts/{id}/retry publishes only the failed platforms of that post, and
        Late rejects it while the post is publishing or once it is no longer
        failed, so nothing Late published is sent twice.
        """
        failed_on_late = self.late_status in LATE_RETRYABLE_STATUSES
        return self.late_post_current and (failed_on_late or self.late_unsettled)

    @property
    def late_post_current(self) -> bool:
        """Return whether `late_post_id` names a Late post with the current content."""
        return self.late_post_id is not None and self.late_revision == self.revision

    @property
    def outcome_unknown(self) -> bool:
        """Return whether Late may have published the post without rabb knowing."""
        return self.attempt_key is not None or self.late_unsettled

    def attempt_key_expired(self, now: datetime) -> bool:
        """Return whether `attempt_key` is too old for Late to recognize it.

        A key without a recorded send time counts as expired, since its age is
        unknown.
        """
        if self.attempt_key is None:
            return False
        if self.attempt_sent_at is None:
            return True
        return now - self.attempt_sent_at >= ATTEMPT_KEY_LIFETIME


class Target(SQLModel, table=True):
    """One platform (and account) a post goes to, with its own outcome."""

    __tablename__ = "target"

    id: int | None = Field(default=None, primary_key=True)
    # None only until the session flushes a new post and its targets together.
    post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="CASCADE")
    position: int = 0
    platform: str
    # The account as the user named it (`@handle`), and Late's account id once known.
    account: str | None = None
    account_id: str | None = None
    # Text for this platform alone, used instead of the post's text.
    text: str | None = None
    status: str = Field(default=TargetStatus.PENDING.value)
    url: str | None = None
    error: str | None = None
    platform_post_id: str | None = None
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Late's errorCategory of a failure on this platform, such as auth_expired.
    error_category: str | None = None

    post: Post | None = Relationship(back_populates="targets")

    @property
    def selector(self) -> str:
        return f"{self.platform}:{self.account}" if self.account else self.platform


class Run(SQLModel, table=True):
    """One `rabb run-due`: when it ran, what it did, and how it ended."""

    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pid: int
    # running, ok or error.
    status: str
    error: str | None = None
    publisher: str | None = None
    due: int = 0
    published: int = 0
    partial: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0


class Account(SQLModel, table=True):
    """A social account connected in Late, as `rabb accounts` last fetched it."""

    __tablename__ = "account"

    # Late's account id (`_id`), sent as `accountId` when publishing.
    id: str = Field(primary_key=True)
    platform: str
    username: str | None = None
    display_name: str | None = None
    profile_id: str | None = None
    active: bool = True
    can_post: bool = True
    fetched_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)

    @property
    def handle(self) -> str:
        """Return the username with one leading `@`, or the id when there is none."""
        if not self.username:
            return self.id
        return "@" + self.username.lstrip("@")


class AlertEmail(SQLModel, table=True):
    """One failure alert email: for one failure, or a digest of several."""

    __tablename__ = "alert_email"

    id: int | None = Field(default=None, primary_key=True)
    # Sent as Idempotency-Key on every attempt, so Resend sends the email once.
    idempotency_key: str = Field(unique=True)
    # pending (to send, or to send again), sent or failed.
    status: str
    digest: bool = False
    # The message as built when the failure was recorded. Every attempt sends
    # exactly this, because Resend rejects a known key with a different payload.
    recipient: str
    sender: str
    subject: str
    html: str
    text: str
    # The id Resend gave the email.
    resend_id: str | None = None
    last_error: str | None = None
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # True once an attempt got no clear answer, so Resend may have sent the email.
    # Such an email is not sent again once Resend no longer recognizes its key.
    outcome_unknown: bool = False
    # How many failures the email covered when it was queued. A deleted post takes
    # its alert rows with it, so fewer rows than this mean a post is gone.
    covered: int = 0


class Alert(SQLModel, table=True):
    """The alert owed for one failure of a post, and the email that carries it."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("post_id", "failure"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE")
    # The post's failure count after that failure: 1 for the first one.
    failure: int
    # The run that recorded the failure.
    run_id: int | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    # None until a run puts the alert into an email.
    alert_email_id: int | None = Field(default=None, foreign_key="alert_email.id")
