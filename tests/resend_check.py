"""Checks that a request is one Resend's send-email endpoint accepts."""

from collections.abc import Mapping
from typing import Any

MAX_IDEMPOTENCY_KEY_LENGTH = 256
# The fields rabb sends; Resend accepts more, such as cc and attachments.
EMAIL_FIELDS = {"from", "to", "subject", "html", "text"}


def email_errors(body: Any, headers: Mapping[str, str]) -> list[str]:
    """Return every way a POST /emails request differs from what rabb must send."""
    lowered = {name.lower(): value for name, value in headers.items()}
    errors = []
    if not lowered.get("authorization", "").startswith("Bearer re_"):
        errors.append("Authorization is not a bearer token with a Resend key")
    key = lowered.get("idempotency-key", "")
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        errors.append(f"Idempotency-Key missing or longer than 256: {key!r}")
    if not isinstance(body, dict):
        return [*errors, "the body is not a JSON object"]
    if set(body) != EMAIL_FIELDS:
        errors.append(f"fields {sorted(body)} are not {sorted(EMAIL_FIELDS)}")
    for name in ("from", "subject", "html", "text"):
        if not isinstance(body.get(name), str) or not body[name]:
            errors.append(f"{name} is missing or empty")
    if "\n" in str(body.get("subject", "")):
        errors.append("the subject has a line break")
    recipients = body.get("to")
    if not isinstance(recipients, list) or len(recipients) != 1:
        errors.append(f"to is not a list of one address: {recipients!r}")
    return errors


def assert_valid_email(body: Any, headers: Mapping[str, str]) -> None:
    """Fail the test unless the request is a valid send-email request."""
    problems = email_errors(body, headers)
    assert not problems, "invalid send-email request: " + "; ".join(problems)
