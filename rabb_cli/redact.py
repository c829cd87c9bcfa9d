"""Removal of API keys from every text rabb prints or logs.

The config loader registers each key it reads. Error messages, log records and
`--debug` tracebacks pass through `redact` before they reach a stream, so a key that
slips into an exception message or a request repr is still never shown.
"""

import re

MASK = "***"

_secrets: set[str] = set()

# Bearer tokens are masked even when the key was never registered, for example a
# header echoed back by a server in an error body.
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


def register_secret(value: str | None) -> None:
    """Add a key to the set that `redact` removes."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with every registered key and bearer token replaced by a mask."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _BEARER.sub(rf"\g<1>{MASK}", text)


def mask(value: str) -> str:
    """Return a key shortened to a form that identifies it without revealing it."""
    if len(value) < 20:
        return MASK
    return f"{value[:3]}…{value[-4:]}"
