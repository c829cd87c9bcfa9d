"""The `[publish]` and `[alerts]` settings of one run, and the check that a publisher
can be used.

This module imports only light rabb modules, so `rabb run-due` can read its settings
and find out that nothing is due without loading the HTTP or database libraries.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo

from rabb_cli.config import Config
from rabb_cli.errors import ConfigError

OUTBOX = "outbox"
LATE = "late"


@dataclass(frozen=True)
class PublishSettings:
    """Settings of `run-due`: publisher, attempts, backoff, lateness, lease, pool."""

    publisher: str
    max_attempts: int
    backoff_base: timedelta
    backoff_max: timedelta
    max_lateness: timedelta
    lease: timedelta
    concurrency: int
    timeout: timedelta
    api_key: str | None
    base_url: str

    @classmethod
    def from_config(cls, config: Config) -> "PublishSettings":
        return cls(
            publisher=config.get("publish.publisher"),
            max_attempts=config.get("publish.max_attempts"),
            backoff_base=config.get("publish.backoff_base"),
            backoff_max=config.get("publish.backoff_max"),
            max_lateness=config.get("publish.max_lateness"),
            lease=config.get("publish.lease"),
            concurrency=config.get("publish.concurrency"),
            timeout=config.get("publish.timeout"),
            api_key=config.get("late_api_key"),
            base_url=config.get("late_base_url"),
        )


@dataclass(frozen=True)
class AlertSettings:
    """Settings of failure alerts: who gets them, who sends them, and through what."""

    email: str | None
    sender: str | None
    # alerts.on_failure as set; None means on once an address is set.
    on_failure: bool | None
    api_key: str | None
    api_url: str
    # The user's zone, for the times in the emails.
    zone: tzinfo = UTC

    @classmethod
    def from_config(cls, config: Config, zone: tzinfo = UTC) -> "AlertSettings":
        return cls(
            email=config.get("alerts.email"),
            sender=config.get("alerts.from"),
            on_failure=config.get("alerts.on_failure"),
            api_key=config.get("resend_api_key"),
            api_url=config.get("resend_api_url"),
            zone=zone,
        )

    @property
    def requested(self) -> bool:
        """Return whether a post that fails is owed an alert."""
        return bool(self.email) and self.on_failure is not False

    def off_reason(self) -> str | None:
        """Return why no alert is owed, or None when alerts are on."""
        if not self.email:
            return "no alerts.email address is set"
        if self.on_failure is False:
            return "alerts.on_failure is false"
        return None

    def missing(self) -> list[tuple[str, str]]:
        """Return what else sending an email needs: (what is missing, how to set it)."""
        needed = []
        if not self.sender:
            needed.append(
                (
                    "no sender address is set",
                    "set RESEND_FROM_EMAIL, or alerts.from in config.toml"
                    " ('rabb notify --from ADDRESS'), to an address on a domain"
                    " verified in Resend",
                )
            )
        if not self.api_key:
            needed.append(
                (
                    "no Resend API key is set",
                    "set RESEND_API_KEY, or resend_api_key in config.toml with"
                    " mode 0600",
                )
            )
        return needed


def require_api_key(settings: PublishSettings) -> str:
    """Return the Late API key, or raise ConfigError saying how to set one."""
    if settings.api_key:
        return settings.api_key
    raise ConfigError(
        "no Late API key is set",
        "set LATE_API_KEY (or ZERNIO_API_KEY), or late_api_key in config.toml"
        " with mode 0600; to publish to JSON files instead, set RABB_PUBLISHER=outbox"
        ' or publisher = "outbox" under [publish]',
    )


def require_publisher_ready(settings: PublishSettings) -> None:
    """Raise ConfigError when the Late publisher is chosen but no key is set."""
    if settings.publisher == LATE:
        require_api_key(settings)
