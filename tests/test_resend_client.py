"""The Resend client: the SDK over httpx, its module state, and the error verdicts."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import resend
import respx

from rabb_cli.publish.resend_client import HttpxTransport, SendResult, send_email
from tests.resend_respx import RESEND_KEY, RESEND_URL, accepted, mock_resend, rejected

MESSAGE = {
    "from": "rabb <alerts@example.com>",
    "to": ["me@example.com"],
    "subject": "Subject",
    "html": "<p>Body</p>",
    "text": "Body",
}


@pytest.fixture
def transport() -> Iterator[HttpxTransport]:
    client = HttpxTransport()
    yield client
    client.close()


def send(transport: HttpxTransport, key: str | None = "key-1") -> SendResult:
    return send_email(
        MESSAGE,
        api_key=RESEND_KEY,
        api_url=RESEND_URL,
        idempotency_key=key,
        transport=transport,
    )


def test_sends_through_httpx(transport: HttpxTransport) -> None:
    with mock_resend() as router:
        route = router.post("/emails").mock(return_value=accepted("abc"))
        result = send(transport)
    assert result == SendResult(resend_id="abc")
    assert result.sent
    request = route.calls.last.request
    assert json.loads(request.content) == MESSAGE
    assert request.headers["idempotency-key"] == "key-1"
    assert request.headers["authorization"] == f"Bearer {RESEND_KEY}"


def test_no_key_no_header(transport: HttpxTransport) -> None:
    with mock_resend() as router:
        route = router.post("/emails").mock(return_value=accepted())
        send(transport, key=None)
    assert "idempotency-key" not in route.calls.last.request.headers


def test_module_state_restored(
    transport: HttpxTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (resend.api_key, resend.api_url, resend.default_http_client)
    with mock_resend() as router:
        router.post("/emails").mock(
            return_value=rejected(500, "application_error", "x")
        )
        send(transport)
    assert (resend.api_key, resend.api_url, resend.default_http_client) == before

    seen = []

    def broken(*args: object) -> None:
        seen.append((resend.api_key, resend.api_url, resend.default_http_client))
        raise ValueError("SDK bug")

    monkeypatch.setattr(resend.Emails, "send", broken)
    with pytest.raises(ValueError, match="SDK bug"):
        send(transport)
    assert seen == [(RESEND_KEY, RESEND_URL, transport)]
    assert (resend.api_key, resend.api_url, resend.default_http_client) == before


def test_explicit_timeouts(transport: HttpxTransport) -> None:
    timeout = transport._client.timeout
    assert timeout.connect == 10
    assert timeout.read == 30
    assert timeout.pool == 10


@pytest.mark.parametrize(
    ("status", "name", "transient"),
    [
        (400, "validation_error", False),
        (401, "missing_api_key", False),
        (403, "invalid_api_key", False),
        (404, "not_found", False),
        (409, "invalid_idempotent_request", False),
        (409, "concurrent_idempotent_requests", True),
        (422, "validation_error", False),
        (429, "rate_limit_exceeded", True),
        (429, "daily_quota_exceeded", True),
        (500, "application_error", True),
        (502, "bad_gateway", True),
        (503, "service_unavailable", True),
    ],
)
def test_error_verdicts(
    transport: HttpxTransport, status: int, name: str, transient: bool
) -> None:
    with mock_resend() as router:
        router.post("/emails").mock(return_value=rejected(status, name, "It broke"))
        result = send(transport)
    assert not result.sent
    assert result.transient is transient
    assert result.error is not None
    assert result.error.startswith(f"HTTP {status} {name}:")


def test_retry_after_read(transport: HttpxTransport) -> None:
    answer = rejected(429, "rate_limit_exceeded", "Slow down", {"retry-after": "120"})
    with mock_resend() as router:
        router.post("/emails").mock(return_value=answer)
        before = datetime.now(UTC)
        result = send(transport)
    assert result.not_before is not None
    assert result.not_before >= before + timedelta(seconds=119)


def test_html_error_page_is_transient(transport: HttpxTransport) -> None:
    page = httpx.Response(502, text="<html>Bad gateway</html>")
    with mock_resend() as router:
        router.post("/emails").mock(return_value=page)
        result = send(transport)
    assert result.transient is True
    assert result.error == (
        "HTTP 502 application_error: Expected JSON response but got: text/plain;"
        " charset=utf-8"
    )


def test_answer_without_id_is_transient(transport: HttpxTransport) -> None:
    with mock_resend() as router:
        router.post("/emails").mock(return_value=httpx.Response(200, json={}))
        result = send(transport)
    assert result == SendResult(
        error="Resend's answer contains no email id", transient=True, may_have_sent=True
    )


def test_key_in_error_masked(transport: HttpxTransport) -> None:
    answer = rejected(401, "validation_error", f"API key {RESEND_KEY} is not valid")
    with mock_resend() as router:
        router.post("/emails").mock(return_value=answer)
        result = send(transport)
    assert result.error == "HTTP 401 validation_error: API key *** is not valid"


def test_long_error_clipped(transport: HttpxTransport) -> None:
    with mock_resend() as router:
        router.post("/emails").mock(
            return_value=rejected(400, "validation_error", "word " * 200)
        )
        result = send(transport)
    assert result.error is not None
    assert len(result.error) == 300
    assert result.error.endswith("…")


def test_respx_sees_every_request() -> None:
    # Without a route, respx stops the request: nothing reaches the network.
    client = HttpxTransport()
    try:
        with respx.mock(assert_all_called=False):
            result = send(client)
    finally:
        client.close()
    assert result.transient is True
    assert result.error is not None
    assert result.error.endswith("not mocked!")


@pytest.mark.parametrize(
    ("failure", "may_have_sent"),
    [
        (rejected(429, "rate_limit_exceeded", "Slow"), False),
        (rejected(425, "too_early", "Early"), False),
        (rejected(422, "validation_error", "Bad"), False),
        (rejected(409, "concurrent_idempotent_requests", "In process"), True),
        (rejected(408, "request_timeout", "Slow"), True),
        (rejected(500, "application_error", "Oops"), True),
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("no route"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("dropped"), True),
    ],
)
def test_may_have_sent_verdicts(
    transport: HttpxTransport,
    failure: httpx.Response | Exception,
    may_have_sent: bool,
) -> None:
    """Only a failure that proves the request was not processed says "not sent"."""
    with mock_resend() as router:
        route = router.post("/emails")
        if isinstance(failure, Exception):
            route.mock(side_effect=failure)
        else:
            route.mock(return_value=failure)
        result = send(transport)
    assert not result.sent
    assert result.may_have_sent is may_have_sent


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (429, "HTTP 429 Too Many Requests"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (599, "HTTP 599"),
    ],
)
def test_error_without_name_gets_reason(
    transport: HttpxTransport, status: int, label: str
) -> None:
    answer = httpx.Response(status, json={"message": "slow down"})
    with mock_resend() as router:
        router.post("/emails").mock(return_value=answer)
        result = send(transport)
    assert result.error == f"{label}: slow down"
