"""Email through Resend: the `resend` SDK's sync API over an httpx transport.

The SDK sends with `requests` by default. `HttpxTransport` replaces it, so rabb
has one HTTP stack with explicit timeouts and tests can intercept every request
with respx. The SDK keeps its key, base URL and transport in module globals.
`send_email` sets all three for one call under a lock and restores the old values
afterwards, so no state of one call stays behind for the next.

Every failure becomes a one-line error with a verdict. Transient (429, 408, 425,
5xx, a 409 for a key whose first request is still in process, no connection or no
answer) may work later with the same idempotency key. Permanent (400, 401, 403,
404, 422, and any other 4xx) needs the user to change something. A failure also
says whether Resend may have sent the email anyway: after no answer, a 408, a 5xx
or a 409 for a key in process it may have; after a refused connection, a 429, a
425 or a permanent error it has not.
"""

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx
import resend
from resend.exceptions import ResendError

from rabb_cli.publish.backoff import parse_retry_after
from rabb_cli.redact import redact, register_secret

CONNECT_TIMEOUT = timedelta(seconds=10)
READ_TIMEOUT = timedelta(seconds=30)
TRANSIENT_STATUSES = frozenset({408, 425, 429})
# The 409 error name while the first request with the same key is in process.
CONCURRENT_REQUEST = "concurrent_idempotent_requests"
# The error type the SDK gives an exception raised by the transport.
TRANSPORT_ERROR = "HttpClientError"
MAX_MESSAGE_LENGTH = 300
# The name the resend SDK (2.52, request.py) gives an error response without a
# `name` field, whatever its status.
SDK_DEFAULT_NAME = "InternalServerError"

_sdk_lock = threading.Lock()


class HttpxTransport(resend.HTTPClient):
    """The SDK's sync transport on one `httpx.Client`, with explicit timeouts."""

    def __init__(
        self, connect: timedelta = CONNECT_TIMEOUT, read: timedelta = READ_TIMEOUT
    ) -> None:
        timeout = httpx.Timeout(
            read.total_seconds(),
            connect=connect.total_seconds(),
            pool=connect.total_seconds(),
        )
        self._read = read
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json: dict[str, object] | list[object] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """Send one request and return the body, status and headers of the response."""
        try:
            response = self._client.request(
                method.upper(),
                url,
                headers=dict(headers),
                json=json,
                files=files,
                data=data,
            )
        except httpx.TransportError as error:
            # The SDK turns any exception into a ResendError that keeps only the
            # message, so the message must describe what happened. The exception
            # stays reachable as that error's __context__.
            unsent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
            unsent = unsent or isinstance(error, httpx.PoolTimeout)
            raise TransportFailure(_describe(error, self._read), unsent) from error
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        self._client.close()


class TransportFailure(RuntimeError):
    """A request to Resend that got no response; `unsent` if it never left."""

    def __init__(self, message: str, unsent: bool) -> None:
        super().__init__(message)
        self.unsent = unsent


@dataclass(frozen=True)
class SendResult:
    """Resend's response to one send: its email id, or an error and a verdict."""

    resend_id: str | None = None
    error: str | None = None
    # True when the same request may succeed later.
    transient: bool = False
    # The earliest time Resend allows another request (Retry-After).
    not_before: datetime | None = None
    # True when Resend may have sent the email although the attempt failed.
    may_have_sent: bool = False

    @property
    def sent(self) -> bool:
        return self.resend_id is not None


def send_email(
    message: dict[str, Any],
    *,
    api_key: str,
    api_url: str,
    idempotency_key: str | None,
    transport: HttpxTransport,
) -> SendResult:
    """Send `message` (Resend's send-email parameters) and return the result.

    An error response, a network failure or a timeout comes back as a SendResult
    with an error. Only an exception outside the SDK's handling, such as a bug,
    is raised.
    """
    register_secret(api_key)
    options: dict[str, Any] = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    try:
        with _sdk_configured(api_key, api_url, transport):
            response = resend.Emails.send(message, options)  # type: ignore[arg-type]
    except ResendError as error:
        return _failure(error)
    resend_id = response.get("id") if isinstance(response, Mapping) else None
    if not isinstance(resend_id, str) or not resend_id:
        # Resend may have sent it: the same key finds out on the next attempt.
        return SendResult(
            error="Resend's answer contains no email id",
            transient=True,
            may_have_sent=True,
        )
    return SendResult(resend_id=resend_id)


@contextmanager
def _sdk_configured(
    api_key: str, api_url: str, transport: HttpxTransport
) -> Iterator[None]:
    with _sdk_lock:
        saved = (resend.api_key, resend.api_url, resend.default_http_client)
        resend.api_key = api_key
        resend.api_url = api_url.rstrip("/")
        resend.default_http_client = transport
        try:
            yield
        finally:
            resend.api_key, resend.api_url, resend.default_http_client = saved


def _failure(error: ResendError) -> SendResult:
    status = _status(error)
    name = str(error.error_type or "")
    if name == TRANSPORT_ERROR:
        cause = error.__context__
        unsent = isinstance(cause, TransportFailure) and cause.unsent
        return SendResult(
            error=_clip(str(error.message)), transient=True, may_have_sent=not unsent
        )
    in_process = status == 409 and name == CONCURRENT_REQUEST
    may_have_sent = status >= 500 or status == 408 or in_process
    transient = status in TRANSIENT_STATUSES or may_have_sent
    headers = {key.lower(): value for key, value in (error.headers or {}).items()}
    return SendResult(
        error=_clip(f"{_error_label(status, name)}: {error.message}"),
        transient=transient,
        not_before=parse_retry_after(headers.get("retry-after"), datetime.now(UTC)),
        may_have_sent=may_have_sent,
    )


def _error_label(status: int, name: str) -> str:
    """Return a label such as `HTTP 422 validation_error`.

    An error without a name of its own gets the HTTP reason phrase instead.
    """
    if name in ("", SDK_DEFAULT_NAME):
        try:
            name = HTTPStatus(status).phrase
        except ValueError:
            name = ""
    return f"HTTP {status} {name}".rstrip()


def _status(error: ResendError) -> int:
    try:
        return int(str(error.code))
    except ValueError:
        return 500


def _describe(error: Exception, read: timedelta) -> str:
    text = str(error).strip()
    kind = type(error).__name__
    unsent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    if isinstance(error, httpx.TimeoutException) and not unsent:
        seconds = f"{read.total_seconds():g}"
        return f"no answer from Resend within {seconds}s ({kind})"
    detail = f"{kind}: {text}" if text else kind
    return f"cannot reach Resend: {detail}"


def _clip(text: str) -> str:
    one_line = redact(" ".join(text.split()))
    if len(one_line) <= MAX_MESSAGE_LENGTH:
        return one_line
    return one_line[: MAX_MESSAGE_LENGTH - 1] + "…"
