"""respx helpers for the Late API: routes that check every request body they see."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx

from tests.late_schema import assert_valid_create_post

# The default base URL. respx intercepts every request to it, so nothing leaves the
# machine, and a request without a route fails the test.
BASE_URL = "https://zernio.com/api"
API_KEY = "sk_" + "7c" * 32
# The connected accounts the shared `late` fixture serves.
ACCOUNTS = [
    {"_id": "acc-x", "platform": "twitter", "username": "me", "isActive": True},
    {"_id": "acc-li", "platform": "linkedin", "username": "me-li", "isActive": True},
    {"_id": "acc-bsky", "platform": "bluesky", "username": "me.bsky", "isActive": True},
]


@contextmanager
def mock_late(base_url: str = BASE_URL) -> Iterator[respx.MockRouter]:
    """Route requests to the Late API to respx for the length of the block.

    Every createPost request the block sends must be valid, whatever route
    responded: a test that mocks POST /posts itself is checked too.
    """
    with respx.mock(base_url=base_url + "/v1", assert_all_called=False) as router:
        yield router
        check_create_requests(router, base_url)


def check_create_requests(router: respx.MockRouter, base_url: str = BASE_URL) -> None:
    """Fail unless every POST /posts request the router saw is a valid createPost."""
    path = httpx.URL(base_url + "/v1/posts").path
    for call in router.calls:
        request = call.request
        if request.method == "POST" and request.url.path == path:
            assert_valid_create_post(json.loads(request.content), request.headers)


def route_creates(
    router: respx.MockRouter, *results: httpx.Response | Exception
) -> respx.Route:
    """Respond to POST /v1/posts with `results` in order, the last one from then on.

    Every request body and its headers must be a valid createPost request.
    """
    remaining = list(results)

    def answer(request: httpx.Request) -> httpx.Response:
        assert_valid_create_post(json.loads(request.content), request.headers)
        result = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(result, Exception):
            raise result
        return result

    return router.post("/posts").mock(side_effect=answer)


def late_post(
    post_id: str = "65f1c0a9e2b5af0012ab34cd",
    status: str = "published",
    targets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a Late post object as createPost and getPost return it."""
    if targets is None:
        targets = [published_target("twitter", "acc-x")]
    post: dict[str, Any] = {
        "_id": post_id,
        "content": "text",
        "status": status,
        "platforms": targets,
    }
    if status == "published":
        post["publishedAt"] = "2026-06-01T12:00:05.000Z"
    return post


def published_target(platform: str, account_id: str) -> dict[str, Any]:
    return {
        "platform": platform,
        "accountId": {"_id": account_id, "platform": platform, "username": "me"},
        "status": "published",
        "platformPostId": f"{platform}-1",
        "platformPostUrl": f"https://{platform}.example/me/1",
        "publishedAt": "2026-06-01T12:00:04.000Z",
    }


def failed_target(platform: str, account_id: str, error: str) -> dict[str, Any]:
    return {
        "platform": platform,
        "accountId": account_id,
        "status": "failed",
        "errorMessage": error,
    }


def created(post: dict[str, Any], status: int = 201) -> httpx.Response:
    return httpx.Response(status, json={"message": "Post created", "post": post})


def error(status: int, message: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    return httpx.Response(status, json={"error": message, **extra}, headers=headers)
