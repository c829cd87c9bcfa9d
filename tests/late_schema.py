"""Checks that a createPost request is one Late accepts: schema, keys and headers."""

import json
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).parent / "data" / "late-create-post.schema.json"
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@cache
def _schema() -> dict[str, Any]:
    data = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@cache
def _validator() -> Draft202012Validator:
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def body_errors(body: Any) -> list[str]:
    """Return every way `body` breaks the createPost schema or has unknown keys."""
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in _validator().iter_errors(body)
    ]
    if isinstance(body, dict):
        errors += _unknown_keys(body)
    return errors


def header_errors(headers: Mapping[str, str]) -> list[str]:
    """Return what is wrong with the headers of a createPost request."""
    lowered = {name.lower(): value for name, value in headers.items()}
    errors = []
    key = lowered.get("idempotency-key", "")
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        errors.append(f"Idempotency-Key missing or longer than 255: {key!r}")
    try:
        uuid.UUID(lowered.get("x-request-id", ""))
    except ValueError:
        errors.append(f"x-request-id is not a UUID: {lowered.get('x-request-id')!r}")
    if not lowered.get("authorization", "").startswith("Bearer "):
        errors.append("Authorization is not a bearer token")
    return errors


def assert_valid_create_post(body: Any, headers: Mapping[str, str]) -> None:
    """Fail the test unless the request is a valid createPost request."""
    problems = body_errors(body) + header_errors(headers)
    assert not problems, "invalid createPost request: " + "; ".join(problems)


def _unknown_keys(body: dict[str, Any]) -> list[str]:
    schema = _schema()
    top = set(schema["properties"])
    target_item = schema["properties"]["platforms"]["items"]
    target_keys = set(target_item["properties"])
    media_keys = set(schema["components"]["schemas"]["MediaItem"]["properties"])

    errors = [f"unknown key {key!r}" for key in body if key not in top]
    for index, item in enumerate(body.get("platforms") or []):
        for key in item:
            if key not in target_keys:
                errors.append(f"platforms/{index}: unknown key {key!r}")
        if "platformSpecificData" in item:
            errors.append(f"platforms/{index}: platformSpecificData is never sent")
    for index, item in enumerate(body.get("mediaItems") or []):
        errors += [
            f"mediaItems/{index}: unknown key {key!r}"
            for key in item
            if key not in media_keys
        ]
    return errors
