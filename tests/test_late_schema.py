"""The request checks themselves: each must reject what Late would reject."""

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.late_respx import API_KEY, BASE_URL, created, late_post, mock_late
from tests.late_schema import assert_valid_create_post, body_errors, header_errors

VALID_BODY: dict[str, Any] = {
    "content": "Good morning",
    "platforms": [{"platform": "twitter", "accountId": "acc-x"}],
    "publishNow": True,
    "mediaItems": [{"type": "image", "url": "https://cdn.example/a.png"}],
}
VALID_HEADERS = {
    "Authorization": f"Bearer {API_KEY}",
    "Idempotency-Key": "rabb-abc-r1",
    "x-request-id": str(uuid.uuid4()),
}


def test_valid_request_passes() -> None:
    assert body_errors(VALID_BODY) == []
    assert header_errors(VALID_HEADERS) == []
    assert_valid_create_post(VALID_BODY, VALID_HEADERS)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"content": 42}, "content: 42 is not of type 'string'"),
        ({"platforms": [{"platform": "twitter"}]}, "'accountId' is a required"),
        ({"platforms": "twitter"}, "platforms: 'twitter' is not of type 'array'"),
        ({"publishNow": "yes"}, "publishNow: 'yes' is not of type 'boolean'"),
        ({"accountIds": ["acc-x"]}, "unknown key 'accountIds'"),
        (
            {"platforms": [{"platform": "twitter", "accountId": "a", "handle": "@me"}]},
            "platforms/0: unknown key 'handle'",
        ),
        (
            {"mediaItems": [{"type": "image", "url": "https://a", "alt": "x"}]},
            "mediaItems/0: unknown key 'alt'",
        ),
    ],
)
def test_invalid_body_rejected(change: dict[str, Any], expected: str) -> None:
    body = {**VALID_BODY, **change}

    errors = body_errors(body)

    assert any(expected in error for error in errors), errors
    with pytest.raises(AssertionError, match="invalid createPost request"):
        assert_valid_create_post(body, VALID_HEADERS)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Idempotency-Key", "", "Idempotency-Key missing"),
        ("Idempotency-Key", "k" * 256, "longer than 255"),
        ("x-request-id", "request-1", "x-request-id is not a UUID"),
        ("Authorization", API_KEY, "not a bearer token"),
    ],
)
def test_invalid_header_rejected(name: str, value: str, expected: str) -> None:
    headers = {**VALID_HEADERS, name: value}

    errors = header_errors(headers)

    assert len(errors) == 1
    assert expected in errors[0]


def test_router_checks_every_create() -> None:
    """A route a test mocks itself is checked when the block ends."""
    invalid = {**VALID_BODY, "content": None}

    block = mock_late()
    router = block.__enter__()
    router.post("/posts").mock(return_value=created(late_post()))
    response = httpx.post(f"{BASE_URL}/v1/posts", json=invalid, headers=VALID_HEADERS)
    assert response.status_code == 201

    with pytest.raises(AssertionError, match="content: None is not of type"):
        block.__exit__(None, None, None)


def test_router_passes_valid_create() -> None:
    with mock_late() as router:
        route = router.post("/posts").mock(return_value=created(late_post()))
        httpx.post(f"{BASE_URL}/v1/posts", json=VALID_BODY, headers=VALID_HEADERS)

    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == VALID_BODY
