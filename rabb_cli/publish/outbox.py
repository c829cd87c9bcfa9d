"""The outbox publisher: writes each publication as a JSON file instead of calling Late.

It lets `run-due` run end to end without a Late account (the demo uses it) and shows
exactly what would be sent. Each file contains the createPost request body, and the
post is marked PUBLISHED with the file's `file://` URL.
"""

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rabb_cli.errors import ConfigError
from rabb_cli.paths import ensure_private_dir
from rabb_cli.publish.late import (
    Outcome,
    OutcomeKind,
    PublishRequest,
    RemoteAccount,
    TargetResult,
)
from rabb_cli.status import TargetStatus


class OutboxPublisher:
    """Writes request bodies to files in `folder`, one per post and idempotency key."""

    # Bodies may name a target as written (`twitter:@me`) when no account is cached.
    needs_account_ids = False

    def __init__(
        self,
        folder: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.folder = folder
        self._clock = clock

    def create_post(self, request: PublishRequest) -> Outcome:
        """Write the body to the outbox, once per idempotency key, and report it."""
        ensure_private_dir(self.folder)
        path = self.folder / f"post-{request.post_id}-{request.idempotency_key}.json"
        if not path.exists():
            # A retry with the same key finds the file and reports it again, as
            # Late's idempotency would.
            body = json.dumps(request.body, ensure_ascii=False, indent=2)
            _write_atomically(path, body + "\n")
        url = path.as_uri()
        published_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        targets = tuple(
            TargetResult(
                platform=item["platform"],
                account_id=item.get("accountId"),
                status=TargetStatus.PUBLISHED,
                url=url,
                published_at=published_at,
            )
            for item in request.body.get("platforms", [])
        )
        return Outcome(
            OutcomeKind.PUBLISHED,
            late_status="published",
            published_at=published_at,
            targets=targets,
        )

    def get_post(self, late_post_id: str) -> Outcome:
        # The outbox never leaves a post waiting on Late, but a post that waited
        # before the publisher was switched can reach this.
        return Outcome(
            OutcomeKind.RETRY,
            reason=f"the outbox publisher cannot check Late post {late_post_id};"
            " switch back to the late publisher to settle it",
        )

    def retry_post(self, late_post_id: str) -> Outcome:
        # Only a post that failed on Late has a Late post to retry.
        return Outcome(
            OutcomeKind.RETRY,
            reason=f"the outbox publisher cannot retry Late post {late_post_id};"
            " switch back to the late publisher to retry it",
        )

    def list_accounts(self) -> list[RemoteAccount]:
        raise ConfigError(
            "the outbox publisher has no accounts",
            "set a Late API key and use the late publisher to fetch them",
        )

    def close(self) -> None:
        return None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
