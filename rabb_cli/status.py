"""Post and target statuses, kept free of database imports so `--help` stays fast."""

from enum import StrEnum


class PostStatus(StrEnum):
    """Where a post is in its life: stored lowercase, shown uppercase."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIAL = "partial"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.upper()


class TargetStatus(StrEnum):
    """The outcome of a post on one platform."""

    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"


def parse_status(text: str) -> PostStatus:
    """Return the status named `text`, in any case."""
    from rabb_cli.errors import InvalidInput

    try:
        return PostStatus(text.strip().lower())
    except ValueError:
        names = ", ".join(status.value for status in PostStatus)
        raise InvalidInput(f"unknown status {text!r}", f"use one of {names}") from None
