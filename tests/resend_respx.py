"""respx helpers for the Resend API: routes that check every email they see."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx

from tests.resend_check import assert_valid_email

# The default base URL. respx intercepts every request to it, so nothing leaves the
# machine, and a request without a route fails the test.
RESEND_URL = "https://api.resend.com"
RESEND_KEY = "re_" + "Zq7" * 11
ALERTS_CONFIG = (
    '[alerts]\nemail = "me@example.com"\nfrom = "rabb <alerts@example.com>"\n'
)


@contextmanager
def mock_resend(base_url: str = RESEND_URL) -> Iterator[respx.MockRouter]:
    """Route requests to the Resend API to respx for the length of the block."""
    with respx.mock(base_url=base_url, assert_all_called=False) as router:
        yield router


def route_emails(
    router: respx.MockRouter, *results: httpx.Response | Exception
) -> respx.Route:
    """Respond to POST /emails with `results` in order, the last one from then on.

    Every request must be a valid send-email request.
    """
    remaining = list(results)

    def answer(request: httpx.Request) -> httpx.Response:
        assert_valid_email(json.loads(request.content), request.headers)
        result = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(result, Exception):
            raise result
        return result

    return router.post("/emails").mock(side_effect=answer)


def accepted(email_id: str = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c") -> httpx.Response:
    return httpx.Response(200, json={"id": email_id})


def rejected(
    status: int, name: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"statusCode": status, "name": name, "message": message}
    return httpx.Response(status, json=body, headers=headers)


def sent_emails(route: respx.Route) -> list[dict[str, Any]]:
    """Return the JSON body of every request the route received."""
    return [json.loads(call.request.content) for call in route.calls]


def sent_keys(route: respx.Route) -> list[str]:
    return [call.request.headers["idempotency-key"] for call in route.calls]
