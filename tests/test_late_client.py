"""The Late client: request format, timeouts, and the mapping of every response."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from rabb_cli.errors import RabbError
from rabb_cli.publish.late import (
    LateClient,
    LateUnauthorized,
    OutcomeKind,
    PublishRequest,
    api_root,
    create_post_body,
)
from rabb_cli.redact import register_secret
from rabb_cli.status import TargetStatus
from tests.late_respx import (
    API_KEY,
    BASE_URL,
    created,
    error,
    failed_target,
    late_post,
    mock_late,
    published_target,
    route_creates,
)
from tests.test_store import make_post

BODY = {
    "content": "Hello",
    "platforms": [
        {"platform": "twitter", "accountId": "acc-x"},
        {"platform": "linkedin", "accountId": "acc-li", "customContent": "Longer"},
    ],
    "mediaItems": [{"type": "image", "url": "https://example.com/a.jpg"}],
    "publishNow": True,
}
REQUEST = PublishRequest(7, "rabb-abc-r1", BODY)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with mock_late() as mock:
        yield mock


@pytest.fixture
def client() -> Iterator[LateClient]:
    late = LateClient(API_KEY, BASE_URL, timedelta(seconds=300))
    yield late
    late.close()


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("https://zernio.com/api", "https://zernio.com/api/v1"),
        ("https://zernio.com/api/", "https://zernio.com/api/v1"),
        ("https://getlate.dev/api/v1", "https://getlate.dev/api/v1"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/v1"),
    ],
)
def test_api_root(base: str, root: str) -> None:
    assert api_root(base) == root


def test_body_from_post() -> None:
    post = make_post(
        text="Hi there", media=[{"url": "https://e.com/v.mp4", "type": "video"}]
    )
    post.targets[0].account_id = "acc-x"
    post.targets[0].text = "Short"
    body = create_post_body(post)
    assert body == {
        "content": "Hi there",
        "platforms": [
            {"platform": "twitter", "accountId": "acc-x", "customContent": "Short"}
        ],
        "mediaItems": [{"type": "video", "url": "https://e.com/v.mp4"}],
        "publishNow": True,
    }


def test_body_needs_account_id() -> None:
    post = make_post()
    with pytest.raises(ValueError, match="no account id"):
        create_post_body(post)
    body = create_post_body(post, placeholder_accounts=True)
    assert body["platforms"] == [{"platform": "twitter", "accountId": "twitter"}]


def test_create_request_format(router: respx.MockRouter, client: LateClient) -> None:
    route = route_creates(router, created(late_post()))
    client.create_post(REQUEST)
    request = route.calls.last.request
    assert str(request.url) == "https://zernio.com/api/v1/posts"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == "rabb-abc-r1"
    assert json.loads(request.content) == BODY
    timeout = request.extensions["timeout"]
    assert timeout["read"] == 300
    assert timeout["connect"] == 10


def test_request_id_stable_per_key() -> None:
    first = PublishRequest(1, "rabb-abc-r1", BODY).request_id
    again = PublishRequest(1, "rabb-abc-r1", {}).request_id
    edited = PublishRequest(1, "rabb-abc-r2", BODY).request_id
    assert first == again
    assert first != edited
    assert uuid.UUID(first).version == 5


def test_created_maps_to_published(
    router: respx.MockRouter, client: LateClient
) -> None:
    route_creates(router, created(late_post()))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.PUBLISHED
    assert outcome.late_post_id == "65f1c0a9e2b5af0012ab34cd"
    assert outcome.published_at == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
    target = outcome.targets[0]
    assert target.account_id == "acc-x"
    assert target.url == "https://twitter.example/me/1"
    assert target.status is TargetStatus.PUBLISHED


def test_idempotent_replay_maps_to_published(
    router: respx.MockRouter, client: LateClient
) -> None:
    replay = httpx.Response(
        200,
        json={"message": "Post already exists (idempotent retry)", "post": late_post()},
    )
    route_creates(router, replay)
    assert client.create_post(REQUEST).kind is OutcomeKind.PUBLISHED


def test_existing_post_field_accepted(
    router: respx.MockRouter, client: LateClient
) -> None:
    route_creates(router, httpx.Response(200, json={"existingPost": late_post()}))
    assert client.create_post(REQUEST).kind is OutcomeKind.PUBLISHED


def test_207_partial(router: respx.MockRouter, client: LateClient) -> None:
    post = late_post(
        status="partial",
        targets=[
            published_target("twitter", "acc-x"),
            {"platform": "linkedin", "accountId": "acc-li", "status": "failed"},
        ],
    )
    body = {
        "post": post,
        "message": "Post partially published",
        "platformResults": [
            {"platform": "twitter", "status": "published"},
            {"platform": "linkedin", "status": "failed", "error": "Token expired"},
        ],
    }
    route_creates(router, httpx.Response(207, json=body))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.PARTIAL
    assert outcome.reason == "linkedin: Token expired"
    assert outcome.targets[1].status is TargetStatus.FAILED
    assert outcome.targets[1].error == "Token expired"


def test_207_failed(router: respx.MockRouter, client: LateClient) -> None:
    post = late_post(
        status="failed", targets=[failed_target("twitter", "acc-x", "Duplicate tweet")]
    )
    route_creates(router, httpx.Response(207, json={"post": post, "error": "Failed"}))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.reason == "twitter: Duplicate tweet"


def test_207_failed_without_details(
    router: respx.MockRouter, client: LateClient
) -> None:
    post = late_post(status="failed", targets=[])
    route_creates(router, httpx.Response(207, json={"post": post, "error": "Boom"}))
    assert client.create_post(REQUEST).reason == "Boom"


def test_207_scheduled_waits(router: respx.MockRouter, client: LateClient) -> None:
    pending = {"platform": "twitter", "accountId": "acc-x", "status": "pending"}
    post = late_post(status="scheduled", targets=[pending])
    route_creates(router, httpx.Response(207, json={"post": post}))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.WAITING
    assert outcome.late_status == "scheduled"
    assert outcome.late_post_id == "65f1c0a9e2b5af0012ab34cd"


def test_202_waits_for_saving(router: respx.MockRouter, client: LateClient) -> None:
    route_creates(router, httpx.Response(202, json={"postId": "abc123"}))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.WAITING
    assert outcome.late_post_id == "abc123"


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (
            error(400, "content is required"),
            "HTTP 400 Bad Request: content is required",
        ),
        (
            error(403, "Account disconnected", code="ACCOUNT_DISCONNECTED"),
            "Account disconnected (ACCOUNT_DISCONNECTED)",
        ),
        (error(404, "Account not found"), "HTTP 404 Not Found: Account not found"),
        (error(422, "Idempotency-Key reused"), "HTTP 422"),
        (httpx.Response(302, headers={"Location": "https://x"}), "HTTP 302"),
    ],
)
def test_permanent_failures(
    router: respx.MockRouter,
    client: LateClient,
    response: httpx.Response,
    fragment: str,
) -> None:
    route_creates(router, response)
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.reason is not None
    assert outcome.reason.startswith("Late rejected the post: ")
    assert fragment in outcome.reason
    assert not outcome.outcome_unknown


def test_401_is_unauthorized(router: respx.MockRouter, client: LateClient) -> None:
    route_creates(router, error(401, "Unauthorized"))
    assert client.create_post(REQUEST).kind is OutcomeKind.UNAUTHORIZED


def test_409_duplicate(router: respx.MockRouter, client: LateClient) -> None:
    details = {"platform": "twitter", "accountId": "acc-x", "existingPostId": "old1"}
    route_creates(router, error(409, "This exact content exists", details=details))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.DUPLICATE
    assert outcome.late_post_id == "old1"


def test_409_idempotency_conflict(router: respx.MockRouter, client: LateClient) -> None:
    route_creates(
        router,
        error(
            409,
            "Still processing",
            code="idempotency_conflict",
            headers={"Retry-After": "7"},
        ),
    )
    before = datetime.now(UTC)
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.CONFLICT
    assert outcome.not_before is not None
    assert outcome.not_before >= before + timedelta(seconds=7)
    assert outcome.outcome_unknown


@pytest.mark.parametrize("status", [408, 425, 429])
def test_transient_rejections(
    router: respx.MockRouter, client: LateClient, status: int
) -> None:
    route_creates(router, error(status, "slow down"))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.RETRY
    # The server refused the request, so it created nothing.
    assert not outcome.outcome_unknown


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_unknown(
    router: respx.MockRouter, client: LateClient, status: int
) -> None:
    route_creates(router, error(status, "oops"))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.outcome_unknown


def test_retry_after_seconds_read(router: respx.MockRouter, client: LateClient) -> None:
    route_creates(router, error(429, "Too many", headers={"Retry-After": "120"}))
    before = datetime.now(UTC)
    outcome = client.create_post(REQUEST)
    assert outcome.not_before is not None
    assert before + timedelta(seconds=119) <= outcome.not_before
    assert outcome.not_before <= datetime.now(UTC) + timedelta(seconds=121)


def test_retry_after_date_read(router: respx.MockRouter, client: LateClient) -> None:
    moment = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    headers = {"Retry-After": format_datetime(moment, usegmt=True)}
    route_creates(router, error(503, "Maintenance", headers=headers))
    outcome = client.create_post(REQUEST)
    assert outcome.not_before == moment


def test_rate_limit_reset_read(router: respx.MockRouter, client: LateClient) -> None:
    reset = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    route_creates(router, error(429, "Rate limit", headers=headers))
    outcome = client.create_post(REQUEST)
    assert outcome.not_before == datetime.fromtimestamp(reset, UTC)


@pytest.mark.parametrize(
    ("exception", "unknown"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.WriteTimeout("stuck"), True),
        (httpx.RemoteProtocolError("closed"), True),
        (httpx.ReadError("reset"), True),
    ],
)
def test_transport_errors(
    router: respx.MockRouter, client: LateClient, exception: Exception, unknown: bool
) -> None:
    route_creates(router, exception)
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.outcome_unknown is unknown


def test_unreadable_success_unknown(
    router: respx.MockRouter, client: LateClient
) -> None:
    route_creates(router, httpx.Response(201, text="<html>gateway</html>"))
    outcome = client.create_post(REQUEST)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.outcome_unknown


def test_exhausted_limit_defers_next_request(
    router: respx.MockRouter, client: LateClient
) -> None:
    reset = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    route = route_creates(
        router, httpx.Response(201, json={"post": late_post()}, headers=headers)
    )
    assert client.create_post(REQUEST).kind is OutcomeKind.PUBLISHED
    deferred = client.create_post(REQUEST)
    assert deferred.kind is OutcomeKind.DEFERRED
    assert deferred.not_before == datetime.fromtimestamp(reset, UTC)
    assert route.call_count == 1


def test_get_post_outcomes(router: respx.MockRouter, client: LateClient) -> None:
    router.get("/posts/p1").mock(
        return_value=httpx.Response(200, json={"post": late_post("p1")})
    )
    router.get("/posts/gone").mock(return_value=error(404, "Post not found"))
    router.get("/posts/busy").mock(return_value=error(503, "Busy"))
    assert client.get_post("p1").kind is OutcomeKind.PUBLISHED
    gone = client.get_post("gone")
    assert gone.kind is OutcomeKind.FAILED
    assert "deleted in Late" in (gone.reason or "")
    assert client.get_post("busy").kind is OutcomeKind.RETRY


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (error(400, "Bad id"), OutcomeKind.RETRY),
        (error(403, "Forbidden"), OutcomeKind.RETRY),
        (error(409, "Busy"), OutcomeKind.RETRY),
        (error(410, "Gone"), OutcomeKind.FAILED),
        (error(404, "Post not found"), OutcomeKind.FAILED),
    ],
)
def test_get_post_4xx_outcomes(
    router: respx.MockRouter,
    client: LateClient,
    response: httpx.Response,
    kind: OutcomeKind,
) -> None:
    """Only 404 and 410 say the post is gone; other errors leave it to check again."""
    router.get("/posts/p2").mock(return_value=response)
    outcome = client.get_post("p2")
    assert outcome.kind is kind
    assert outcome.outcome_unknown is False


def test_list_accounts(router: respx.MockRouter, client: LateClient) -> None:
    accounts = [
        {
            "_id": "a1",
            "platform": "twitter",
            "username": "me",
            "profileId": {"_id": "p1"},
            "isActive": True,
        },
        {"_id": "a2", "platform": "linkedin", "isActive": True, "enabled": False},
        {"_id": "a3", "platform": "threads", "isActive": False},
        {"platform": "bluesky"},
    ]
    router.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": accounts})
    )
    found = client.list_accounts()
    assert [a.id for a in found] == ["a1", "a2", "a3"]
    assert found[0].profile_id == "p1"
    assert [a.can_post for a in found] == [True, False, False]


def test_list_accounts_401(router: respx.MockRouter, client: LateClient) -> None:
    router.get("/accounts").mock(return_value=error(401, "Unauthorized"))
    with pytest.raises(LateUnauthorized):
        client.list_accounts()


def test_list_accounts_server_error(
    router: respx.MockRouter, client: LateClient
) -> None:
    router.get("/accounts").mock(return_value=error(500, "Down"))
    with pytest.raises(
        RabbError, match="cannot fetch the accounts from Late: HTTP 500"
    ):
        client.list_accounts()


def test_key_never_in_reason(router: respx.MockRouter, client: LateClient) -> None:
    register_secret(API_KEY)
    route_creates(router, error(400, f"bad header Authorization: Bearer {API_KEY}"))
    outcome = client.create_post(REQUEST)
    assert API_KEY not in (outcome.reason or "")
    assert "***" in (outcome.reason or "")


def test_body_skips_published_targets() -> None:
    post = make_post(text="Again")
    post.targets[0].account_id = "acc-x"
    post.targets[0].status = TargetStatus.PUBLISHED.value
    second = make_post().targets[0]
    second.platform = "bluesky"
    second.account_id = "acc-b"
    post.targets.append(second)
    body = create_post_body(post)
    assert body["platforms"] == [{"platform": "bluesky", "accountId": "acc-b"}]


def test_error_category_read(router: respx.MockRouter, client: LateClient) -> None:
    target = failed_target("bluesky", "acc-b", "Session ended")
    target["errorCategory"] = "auth_expired"
    post = late_post(status="failed", targets=[target])
    route_creates(router, httpx.Response(207, json={"post": post}))
    outcome = client.create_post(REQUEST)
    assert outcome.targets[0].error_category == "auth_expired"
    assert outcome.targets[0].error == "Session ended"


@pytest.mark.parametrize(
    ("response", "kind", "reason"),
    [
        (
            httpx.Response(200, json={"message": "ok", "post": late_post("late-1")}),
            OutcomeKind.PUBLISHED,
            None,
        ),
        (
            httpx.Response(
                207,
                json={
                    "post": late_post(
                        "late-1",
                        status="partial",
                        targets=[
                            published_target("twitter", "acc-x"),
                            failed_target("bluesky", "acc-b", "Nope"),
                        ],
                    )
                },
            ),
            OutcomeKind.PARTIAL,
            "bluesky: Nope",
        ),
        (
            error(409, "Post is currently publishing"),
            OutcomeKind.WAITING,
            "Late is already publishing post late-1 again",
        ),
        (
            error(404, "Post not found"),
            OutcomeKind.FAILED,
            "Late has no post late-1 any more (HTTP 404), so it cannot retry it; it"
            " may have been deleted in Late",
        ),
        (
            error(402, "Payment required"),
            OutcomeKind.FAILED,
            "Late did not retry post late-1: HTTP 402 Payment Required: Payment"
            " required",
        ),
        (
            error(429, "Slow down"),
            OutcomeKind.RETRY,
            "HTTP 429 Too Many Requests: Slow down",
        ),
        (error(503, "Down"), OutcomeKind.RETRY, "HTTP 503 Service Unavailable: Down"),
        (
            error(401, "Unauthorized"),
            OutcomeKind.UNAUTHORIZED,
            "HTTP 401 Unauthorized: Unauthorized",
        ),
    ],
)
def test_retry_post_outcomes(
    router: respx.MockRouter,
    client: LateClient,
    response: httpx.Response,
    kind: OutcomeKind,
    reason: str | None,
) -> None:
    route = router.post("/posts/late-1/retry").mock(return_value=response)
    outcome = client.retry_post("late-1")
    assert route.call_count == 1
    assert outcome.kind is kind
    assert outcome.reason == reason
    assert route.calls.last.request.content == b""
    assert "idempotency-key" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    ("late_status", "kind"),
    [
        ("published", OutcomeKind.PUBLISHED),
        ("publishing", OutcomeKind.WAITING),
        ("failed", OutcomeKind.CONFLICT),
        ("partial", OutcomeKind.CONFLICT),
    ],
)
def test_retry_refused_reads_post(
    router: respx.MockRouter, client: LateClient, late_status: str, kind: OutcomeKind
) -> None:
    router.post("/posts/late-1/retry").mock(
        return_value=error(400, "Post is not in a failed state")
    )
    targets = [failed_target("twitter", "acc-x", "x")]
    if late_status == "published":
        targets = [published_target("twitter", "acc-x")]
    current = late_post("late-1", status=late_status, targets=targets)
    check = router.get("/posts/late-1").mock(
        return_value=httpx.Response(200, json={"post": current})
    )
    outcome = client.retry_post("late-1")
    assert check.call_count == 1
    assert outcome.kind is kind
    assert outcome.late_refused_retry is (kind is OutcomeKind.CONFLICT)
    if kind is OutcomeKind.CONFLICT:
        assert outcome.reason == (
            "Late refused to retry post late-1: HTTP 400 Bad Request: Post is not in"
            " a failed state; the next attempt sends the platforms that failed as a"
            " new post"
        )


def test_retry_post_timeout(router: respx.MockRouter, client: LateClient) -> None:
    router.post("/posts/late-1/retry").mock(side_effect=httpx.ReadTimeout("slow"))
    outcome = client.retry_post("late-1")
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.reason == "no answer from Late within 300s (ReadTimeout)"


@pytest.mark.parametrize(
    ("failure", "unknown"),
    [
        (error(503, "Down"), True),
        (error(500, "Oops"), True),
        (error(429, "Slow down"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.ConnectError("refused"), False),
    ],
)
def test_retry_post_unknown_outcomes(
    router: respx.MockRouter,
    client: LateClient,
    failure: httpx.Response | Exception,
    unknown: bool,
) -> None:
    """A retry request that may have reached Late's publishing is marked unknown."""
    route = router.post("/posts/late-1/retry")
    if isinstance(failure, Exception):
        route.mock(side_effect=failure)
    else:
        route.mock(return_value=failure)
    outcome = client.retry_post("late-1")
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.outcome_unknown is unknown


def test_transport_reason_redacted(
    router: respx.MockRouter, client: LateClient
) -> None:
    register_secret(API_KEY)
    router.post("/posts").mock(side_effect=httpx.ReadError(f"reset: {API_KEY}"))
    request = PublishRequest(1, "key-1", {"content": "x", "platforms": []})
    outcome = client.create_post(request)
    assert outcome.reason == "the connection to Late failed: ReadError: reset: ***"
