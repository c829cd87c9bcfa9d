"""The Late (Zernio) API client: one httpx client, explicit timeouts, typed outcomes.

The client turns every response, and every way a request can fail, into an `Outcome`
the engine acts on without reading HTTP statuses itself. Two facts about Late drive
the mapping (from the createPost operation of Late's OpenAPI document, version
1.127.0):

- 207 is a success status, but it means the inline publish did not fully succeed:
  `post.status` tells whether it is partial, failed, or still scheduled on Late's side.
- Late deduplicates retries by the `Idempotency-Key` header for 24 hours, including
  posts it stored before a timeout or a 5xx. So any attempt whose outcome is unknown
  is retried with the same key, never with a new one.
"""

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx

from rabb_cli import __version__
from rabb_cli.errors import ConfigError, RabbError
from rabb_cli.publish.backoff import RateLimitPacer, server_wait
from rabb_cli.redact import redact
from rabb_cli.status import TargetStatus

if TYPE_CHECKING:
    from rabb_cli.models import Post

logger = logging.getLogger("rabb.publish")

API_VERSION_PATH = "/v1"
CONNECT_TIMEOUT = timedelta(seconds=10)
# Read timeout of every request except a publish, which takes `publish.timeout`.
READ_TIMEOUT = timedelta(seconds=30)
# x-request-id values are UUIDs derived from the idempotency key, so a retry of the
# same content sends the same request id.
REQUEST_ID_NAMESPACE = uuid.UUID("5d3c2f0e-8a7b-4c1d-9e6f-2b4a7c9d1e30")
# Late's messages are shown on one line; longer ones are cut.
MAX_MESSAGE_LENGTH = 300

TRANSIENT_STATUSES = frozenset({408, 425, 429})
# Late statuses of a post that it is still working on.
LATE_PENDING_STATUSES = frozenset(
    {"scheduled", "publishing", "pending", "pending_approval", "processing"}
)


class OutcomeKind(StrEnum):
    """The kind of result of an attempt, or of a check on Late."""

    PUBLISHED = "published"
    PARTIAL = "partial"
    # Permanent: Late rejected the post, or publishing failed on every platform.
    FAILED = "failed"
    # Late has the post and keeps publishing it on its side: check again later.
    WAITING = "waiting"
    # 409: the same content is already a Late post, named in `late_post_id`.
    DUPLICATE = "duplicate"
    # Transient: try again after the backoff.
    RETRY = "retry"
    # 409: Late is still processing a request with the same idempotency key.
    CONFLICT = "conflict"
    # Not sent, because the rate limit leaves no room before `not_before`.
    DEFERRED = "deferred"
    # 401: the API key is wrong. Nothing was processed.
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True)
class TargetResult:
    """The outcome on one platform, as Late reports it."""

    platform: str
    account_id: str | None
    status: TargetStatus
    url: str | None = None
    platform_post_id: str | None = None
    published_at: datetime | None = None
    error: str | None = None
    # Late's errorCategory of a failure, such as auth_expired or user_content.
    error_category: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The result of one request to Late."""

    kind: OutcomeKind
    reason: str | None = None
    late_post_id: str | None = None
    late_status: str | None = None
    published_at: datetime | None = None
    targets: tuple[TargetResult, ...] = ()
    # The earliest time Late allows another request (Retry-After, rate-limit reset).
    not_before: datetime | None = None
    # True when the request may have created the post without a response saying so.
    outcome_unknown: bool = False
    # True when the failure proves Late created nothing: no connection was made, the
    # run stopped before sending, or Late returned 429. Such a failure spends no
    # attempt, and the post is tried again until its max_lateness runs out.
    not_sent: bool = False
    # True when Late refused to retry its failed post, so the next attempt creates a
    # new post with the platforms that failed.
    late_refused_retry: bool = False
    # True when the outcome describes a Late post that rabb did not create for this
    # content: the original that a 409 duplicate names. Only its results for the
    # post's own targets apply.
    other_post: bool = False


@dataclass(frozen=True)
class PublishRequest:
    """A createPost request: the post it publishes, its idempotency key and body."""

    post_id: int
    idempotency_key: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return str(uuid.uuid5(REQUEST_ID_NAMESPACE, self.idempotency_key))


@dataclass(frozen=True)
class RemoteAccount:
    """A social account as GET /v1/accounts returns it."""

    id: str
    platform: str
    username: str | None
    display_name: str | None
    profile_id: str | None
    active: bool
    can_post: bool


class LateUnreachable(RabbError):
    """No connection to Late could be made, so no request reached it."""


class AccountsUnavailable(RabbError):
    """A passing failure to fetch the accounts (429, 5xx, no response).

    A GET of the accounts creates no post, so the posts that wait for it spend no
    attempt, and wait at least until `not_before` when Late names a time.
    """

    def __init__(
        self, message: str, hint: str, not_before: datetime | None = None
    ) -> None:
        super().__init__(message, hint)
        self.not_before = not_before


class LateUnauthorized(ConfigError):
    """A 401 from Late: the API key is missing, wrong or revoked."""

    def __init__(self) -> None:
        super().__init__(
            "Late rejected the API key (HTTP 401 Unauthorized)",
            "check LATE_API_KEY, or late_api_key in config.toml, and create a new key"
            " in Late if it was revoked",
        )


def create_post_body(
    post: "Post", *, placeholder_accounts: bool = False
) -> dict[str, Any]:
    """Build the createPost body that publishes `post` at once (`publishNow`).

    The body uses only fields of Late's createPost schema and never sends
    `platformSpecificData`. It names only the targets not published yet, so a
    retry of a PARTIAL post never publishes a platform twice. Every target needs
    its Late account id. With `placeholder_accounts` (the outbox), a target without
    one is named as written, such as `twitter:@me`.
    """
    platforms = []
    for target in post.targets:
        if target.status == TargetStatus.PUBLISHED.value:
            continue
        account_id = target.account_id
        if account_id is None:
            if not placeholder_accounts:
                raise ValueError(f"target {target.selector} has no account id")
            account_id = target.selector
        item: dict[str, Any] = {"platform": target.platform, "accountId": account_id}
        if target.text:
            item["customContent"] = target.text
        platforms.append(item)

    body: dict[str, Any] = {"content": post.text, "platforms": platforms}
    if post.media:
        body["mediaItems"] = [
            {"type": item["type"], "url": item["url"]} for item in post.media
        ]
    body["publishNow"] = True
    return body


def api_root(base_url: str) -> str:
    """Return the base URL with the API version path appended once.

    The default base is `https://zernio.com/api`. A base that already ends in `/v1`,
    as older Late documentation wrote it, is used as it is.
    """
    base = base_url.strip().rstrip("/")
    if base.endswith(API_VERSION_PATH):
        return base
    return base + API_VERSION_PATH


class LateClient:
    """Requests to the Late API over one connection pool, safe to share by threads."""

    # Late requires an account id for every target.
    needs_account_ids = True

    def __init__(
        self,
        api_key: str,
        base_url: str,
        publish_timeout: timedelta,
        *,
        pacer: RateLimitPacer | None = None,
        max_connections: int = 8,
    ) -> None:
        self.publish_timeout = publish_timeout
        self.pacer = pacer or RateLimitPacer()
        self._client = httpx.Client(
            base_url=api_root(base_url),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"rabb/{__version__}",
            },
            timeout=_timeout(READ_TIMEOUT),
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def create_post(self, request: PublishRequest) -> Outcome:
        """Send POST /v1/posts with publishNow and map the response to an Outcome."""
        until = self.pacer.reserve()
        if until is not None:
            return _deferred(until)
        headers = {
            "Idempotency-Key": request.idempotency_key,
            "x-request-id": request.request_id,
        }
        logger.debug(
            "POST /posts for post %d, idempotency key %s",
            request.post_id,
            request.idempotency_key,
        )
        try:
            response = self._client.post(
                "/posts",
                json=request.body,
                headers=headers,
                timeout=_timeout(self.publish_timeout),
            )
        except httpx.TransportError as error:
            return _transport_outcome(error, self.publish_timeout)
        except RuntimeError:
            if not self._client.is_closed:
                raise
            return _stopping_outcome()
        self.pacer.observe(response.headers, response.status_code)
        return _create_outcome(response)

    def get_post(self, late_post_id: str) -> Outcome:
        """Read a post with GET /v1/posts/{id} and map its status to an Outcome."""
        until = self.pacer.reserve()
        if until is not None:
            return _deferred(until)
        try:
            response = self._client.get(f"/posts/{late_post_id}")
        except httpx.TransportError as error:
            return _transport_outcome(error, READ_TIMEOUT)
        except RuntimeError:
            if not self._client.is_closed:
                raise
            return _stopping_outcome()
        self.pacer.observe(response.headers, response.status_code)
        return _get_outcome(response, late_post_id)

    def retry_post(self, late_post_id: str) -> Outcome:
        """Ask Late to publish its failed post again (POST /v1/posts/{id}/retry).

        Late publishes only the platforms that failed. The request has no
        idempotency key, but a repeat cannot publish a platform twice either:
        Late responds with 409 while the post is publishing and with 400 (invalid
        state) once it is no longer failed. After a 400 the post is read: a post
        Late published or keeps publishing is reported as such, and a post that is
        still failed gets an outcome that makes the next attempt create a new post.
        """
        until = self.pacer.reserve()
        if until is not None:
            return _deferred(until)
        logger.debug("POST /posts/%s/retry", late_post_id)
        try:
            response = self._client.post(
                f"/posts/{late_post_id}/retry", timeout=_timeout(self.publish_timeout)
            )
        except httpx.TransportError as error:
            return _transport_outcome(error, self.publish_timeout)
        except RuntimeError:
            if not self._client.is_closed:
                raise
            return _stopping_outcome()
        self.pacer.observe(response.headers, response.status_code)
        if response.status_code != 400:
            return _retry_outcome(response, late_post_id)
        refusal = f"Late refused to retry post {late_post_id}: {_status_text(response)}"
        checked = self.get_post(late_post_id)
        if checked.kind not in (OutcomeKind.FAILED, OutcomeKind.PARTIAL):
            return checked
        # The platforms that failed on Late are not published, so a new post with
        # just those cannot publish anything twice. Late's refusal costs no attempt.
        return Outcome(
            OutcomeKind.CONFLICT,
            reason=f"{refusal}; the next attempt sends the platforms that failed"
            " as a new post",
            late_post_id=late_post_id,
            late_refused_retry=True,
        )

    def list_accounts(self) -> list[RemoteAccount]:
        """Return the connected accounts (GET /v1/accounts), or raise RabbError."""
        until = self.pacer.reserve()
        if until is not None:
            raise AccountsUnavailable(
                "Late's rate limit is used up, so the accounts cannot be fetched now",
                f"try again after {until:%H:%M:%S} UTC",
                not_before=until,
            )
        try:
            response = self._client.get("/accounts")
        except httpx.TransportError as error:
            unreachable = _is_connect_failure(error)
            error_type = LateUnreachable if unreachable else AccountsUnavailable
            raise error_type(
                f"cannot fetch the accounts from Late: {_describe(error)}",
                "check the network and late_base_url, then try again",
            ) from error
        self.pacer.observe(response.headers, response.status_code)
        status = response.status_code
        if status == 401:
            raise LateUnauthorized()
        if status in (408, 425, 429) or status >= 500:
            raise AccountsUnavailable(
                f"cannot fetch the accounts from Late: {_status_text(response)}",
                "try again later",
                not_before=server_wait(response.headers, status, _now()),
            )
        if status != 200:
            raise RabbError(
                f"cannot fetch the accounts from Late: {_status_text(response)}",
                "try again later",
            )
        try:
            body = _json_object(response)
        except ValueError as error:
            raise RabbError(
                "cannot read the accounts from Late: its answer is not a JSON object",
                "check late_base_url, which should point at Late's API, such as"
                " https://zernio.com/api",
            ) from error
        return _parse_accounts(body)


def _timeout(read: timedelta) -> httpx.Timeout:
    return httpx.Timeout(
        read.total_seconds(),
        connect=CONNECT_TIMEOUT.total_seconds(),
        pool=CONNECT_TIMEOUT.total_seconds(),
    )


def _stopping_outcome() -> Outcome:
    """Map the RuntimeError httpx raises, before sending, on a closed client.

    rabb closes the client only when the run stops, so the request never left.
    """
    return Outcome(
        OutcomeKind.DEFERRED, reason="not sent: the run was stopping", not_sent=True
    )


def _deferred(until: datetime) -> Outcome:
    return Outcome(
        OutcomeKind.DEFERRED,
        reason="Late's rate limit is used up",
        not_before=until,
    )


def _transport_outcome(error: httpx.TransportError, timeout: timedelta) -> Outcome:
    """Map a request without a response. Only a failed connect means it was not sent."""
    if _is_connect_failure(error):
        return Outcome(
            OutcomeKind.RETRY,
            reason=f"cannot connect to Late: {_describe(error)}",
            not_sent=True,
        )
    if isinstance(error, httpx.TimeoutException):
        seconds = f"{timeout.total_seconds():g}"
        reason = f"no answer from Late within {seconds}s ({type(error).__name__})"
    else:
        reason = f"the connection to Late failed: {_describe(error)}"
    return Outcome(OutcomeKind.RETRY, reason=reason, outcome_unknown=True)


def _is_connect_failure(error: httpx.TransportError) -> bool:
    """Return whether `error` came before any byte of the request was sent.

    A refused connection, a failed DNS lookup, a connect timeout and a wait for a
    free connection all end before the request is written. A read timeout or a
    dropped connection may come after Late received the request.
    """
    return isinstance(
        error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _create_outcome(response: httpx.Response) -> Outcome:  # noqa: PLR0911 - one return per status family.
    status = response.status_code
    if status in (200, 201, 207):
        return _post_body_outcome(response)
    if status == 202:
        return _accepted_outcome(response)
    if status == 401:
        return Outcome(OutcomeKind.UNAUTHORIZED, reason=_status_text(response))
    if status == 409:
        return _conflict_outcome(response)
    not_before = server_wait(response.headers, status, _now())
    if status in TRANSIENT_STATUSES:
        return Outcome(
            OutcomeKind.RETRY,
            reason=_status_text(response),
            not_before=not_before,
            # Late's rate limit rejects a request before it creates anything.
            not_sent=status == 429,
        )
    if status >= 500:
        # Late may have stored the post before failing: the outcome is unknown.
        return Outcome(
            OutcomeKind.RETRY,
            reason=_status_text(response),
            not_before=not_before,
            outcome_unknown=True,
        )
    return Outcome(
        OutcomeKind.FAILED, reason=f"Late rejected the post: {_status_text(response)}"
    )


def _retry_outcome(response: httpx.Response, late_post_id: str) -> Outcome:
    """Map the response to POST /v1/posts/{id}/retry, other than a 400."""
    status = response.status_code
    if status in (200, 201, 207):
        outcome = _post_body_outcome(response)
        return replace(outcome, late_post_id=outcome.late_post_id or late_post_id)
    if status == 401:
        return Outcome(OutcomeKind.UNAUTHORIZED, reason=_status_text(response))
    if status == 409:
        # Late is already publishing the post, for example after an earlier retry
        # request whose answer was lost: check on it later.
        return Outcome(
            OutcomeKind.WAITING,
            reason=f"Late is already publishing post {late_post_id} again",
            late_post_id=late_post_id,
            late_status="publishing",
            not_before=server_wait(response.headers, status, _now()),
        )
    if status == 404:
        # late_status stays unset, so the next `rabb retry` creates the post anew.
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"Late has no post {late_post_id} any more (HTTP 404), so it"
            " cannot retry it; it may have been deleted in Late",
        )
    if status in TRANSIENT_STATUSES or status >= 500:
        return Outcome(
            OutcomeKind.RETRY,
            reason=_status_text(response),
            not_before=server_wait(response.headers, status, _now()),
            # Late may have started publishing again before it failed.
            outcome_unknown=status >= 500,
            not_sent=status == 429,
        )
    return Outcome(
        OutcomeKind.FAILED,
        reason=f"Late did not retry post {late_post_id}: {_status_text(response)}",
        late_post_id=late_post_id,
    )


def _get_outcome(response: httpx.Response, late_post_id: str) -> Outcome:
    """Map the response to GET /v1/posts/{id}.

    Only 404 and 410 mean that Late has no such post. Any other error leaves the
    post's state unknown, and Late may still be publishing it, so the outcome is
    RETRY: the post is checked again later, never marked FAILED on a guess.
    """
    status = response.status_code
    if status == 200:
        return _post_body_outcome(response)
    if status == 401:
        return Outcome(OutcomeKind.UNAUTHORIZED, reason=_status_text(response))
    if status in (404, 410):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"Late has no post {late_post_id} any more (HTTP {status}); it"
            " may have been deleted in Late",
            late_post_id=late_post_id,
        )
    if status in TRANSIENT_STATUSES or status >= 500:
        reason = _status_text(response)
    else:
        reason = f"cannot read post {late_post_id} from Late: {_status_text(response)}"
    return Outcome(
        OutcomeKind.RETRY,
        reason=reason,
        not_before=server_wait(response.headers, status, _now()),
    )


def _post_body_outcome(response: httpx.Response) -> Outcome:
    """Map a 200, 201 or 207 response, which carries the post, by the post's status."""
    try:
        body = _json_object(response)
    except ValueError:
        # Late reported success but the body is unreadable, so it may have the post.
        return Outcome(
            OutcomeKind.RETRY,
            reason=f"unreadable answer from Late (HTTP {response.status_code})",
            outcome_unknown=True,
        )
    post = body.get("post") or body.get("existingPost")
    if not isinstance(post, dict):
        return Outcome(
            OutcomeKind.RETRY,
            reason=f"Late's answer (HTTP {response.status_code}) contains no post",
            outcome_unknown=True,
        )
    errors = _platform_result_errors(body)
    outcome = outcome_from_post(post, errors)
    if outcome.kind is OutcomeKind.FAILED and not outcome.reason:
        message = _clip(str(body.get("error") or body.get("message") or ""))
        return replace(outcome, reason=message or "publishing failed on Late")
    return outcome


def _accepted_outcome(response: httpx.Response) -> Outcome:
    """Map a 202: Late is still saving the original of a repeated request."""
    try:
        body = _json_object(response)
    except ValueError:
        body = {}
    post_id = body.get("postId")
    if isinstance(post_id, str) and post_id:
        return Outcome(
            OutcomeKind.WAITING,
            reason="Late is still saving the post",
            late_post_id=post_id,
            late_status="saving",
        )
    return Outcome(
        OutcomeKind.CONFLICT,
        reason="Late is still saving the post (HTTP 202)",
        not_before=server_wait(response.headers, 202, _now()),
    )


def _conflict_outcome(response: httpx.Response) -> Outcome:
    try:
        body = _json_object(response)
    except ValueError:
        body = {}
    details = body.get("details")
    existing = details.get("existingPostId") if isinstance(details, dict) else None
    if isinstance(existing, str) and existing:
        return Outcome(
            OutcomeKind.DUPLICATE,
            reason=f"Late already has the same content as post {existing}",
            late_post_id=existing,
        )
    not_before = server_wait(response.headers, 409, _now())
    if body.get("code") == "idempotency_conflict":
        return Outcome(
            OutcomeKind.CONFLICT,
            reason="Late is still processing an earlier attempt",
            not_before=not_before,
            outcome_unknown=True,
        )
    return Outcome(
        OutcomeKind.RETRY,
        reason=_status_text(response),
        not_before=not_before,
        outcome_unknown=True,
    )


def outcome_from_post(
    post: dict[str, Any], platform_errors: dict[str, str] | None = None
) -> Outcome:
    """Map a Late post object by its `status` to an Outcome."""
    errors = platform_errors or {}
    status = (_text(post.get("status")) or "").lower()
    targets = tuple(
        _target_result(item, errors) for item in _list(post.get("platforms"))
    )
    kind, reason = _classify_post_status(status, targets)
    return Outcome(
        kind,
        reason=reason,
        late_post_id=_text(post.get("_id")) or _text(post.get("id")),
        late_status=status or None,
        targets=targets,
        published_at=_time(post.get("publishedAt")),
    )


def _classify_post_status(
    status: str, targets: tuple[TargetResult, ...]
) -> tuple[OutcomeKind, str | None]:
    if status == "published":
        return OutcomeKind.PUBLISHED, None
    if status == "partial":
        return OutcomeKind.PARTIAL, _target_errors(targets) or "some platforms failed"
    if status == "failed":
        return OutcomeKind.FAILED, _target_errors(targets)
    if status == "cancelled":
        return OutcomeKind.FAILED, "Late cancelled the post"
    if status == "draft":
        return (
            OutcomeKind.FAILED,
            "Late stored the post as a draft, so it will not be published",
        )
    return (
        OutcomeKind.WAITING,
        f"Late is still publishing the post (status {status or 'unknown'})",
    )


def _target_result(item: Any, errors: dict[str, str]) -> TargetResult:
    data = item if isinstance(item, dict) else {}
    # Platform names are compared with the post's lowercase ones, as for accounts.
    platform = (_text(data.get("platform")) or "unknown").lower()
    account = data.get("accountId")
    account_id = (
        _text(account.get("_id")) if isinstance(account, dict) else _text(account)
    )
    late_status = (_text(data.get("status")) or "").lower()
    if late_status == "published":
        status = TargetStatus.PUBLISHED
    elif late_status in ("failed", "cancelled"):
        status = TargetStatus.FAILED
    else:
        status = TargetStatus.PENDING
    platform_error = data.get("platformError")
    error = (
        _text(data.get("errorMessage"))
        or (
            _text(platform_error.get("message"))
            if isinstance(platform_error, dict)
            else None
        )
        or errors.get(platform)
    )
    failed = status is TargetStatus.FAILED
    return TargetResult(
        platform=platform,
        account_id=account_id,
        status=status,
        url=_text(data.get("platformPostUrl")) or _text(data.get("publishedUrl")),
        platform_post_id=_text(data.get("platformPostId")),
        published_at=_time(data.get("publishedAt")),
        error=_clip(error) if error and failed else None,
        error_category=_text(data.get("errorCategory")) if failed else None,
    )


def _platform_result_errors(body: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in _list(body.get("platformResults")):
        if isinstance(item, dict) and item.get("error"):
            platform = (_text(item.get("platform")) or "unknown").lower()
            errors[platform] = _clip(str(item["error"]))
    return errors


def _target_errors(targets: tuple[TargetResult, ...]) -> str | None:
    failed = [t for t in targets if t.status is TargetStatus.FAILED]
    if not failed:
        return None
    return "; ".join(f"{t.platform}: {t.error or 'failed'}" for t in failed)


def _parse_accounts(body: dict[str, Any]) -> list[RemoteAccount]:
    accounts = []
    for item in _list(body.get("accounts")):
        if not isinstance(item, dict) or not _text(item.get("_id")):
            continue
        profile = item.get("profileId")
        active = item.get("isActive") is not False
        usable = item.get("enabled") is not False and not item.get("needsReconnection")
        accounts.append(
            RemoteAccount(
                id=str(item["_id"]),
                platform=(_text(item.get("platform")) or "unknown").lower(),
                username=_text(item.get("username")),
                display_name=_text(item.get("displayName")),
                profile_id=_text(profile.get("_id"))
                if isinstance(profile, dict)
                else _text(profile),
                active=active,
                can_post=active and usable,
            )
        )
    return accounts


def _json_object(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _status_text(response: httpx.Response) -> str:
    """Return `HTTP 400: Late's message` for an error response."""
    message = ""
    try:
        body = _json_object(response)
    except ValueError:
        message = response.text
    else:
        message = str(body.get("error") or body.get("message") or "")
        code = body.get("code")
        if code and str(code) not in message:
            message = f"{message} ({code})" if message else str(code)
    label = f"HTTP {response.status_code}"
    if response.reason_phrase:
        label += f" {response.reason_phrase}"
    message = _clip(message)
    return f"{label}: {message}" if message else label


def _describe(error: Exception) -> str:
    # An exception's text may quote a URL or header, so it is redacted here, before
    # it reaches a reason that is stored.
    text = redact(" ".join(str(error).split()))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _clip(text: str) -> str:
    one_line = redact(" ".join(text.split()))
    if len(one_line) <= MAX_MESSAGE_LENGTH:
        return one_line
    return one_line[: MAX_MESSAGE_LENGTH - 1] + "…"


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)
