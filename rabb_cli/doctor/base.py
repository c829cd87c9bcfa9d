"""The building blocks of the doctor's checks: results, the Setup, read-only access.

`Setup` loads what several checks need (the settings, the installed timers, the
zone) once, on first use. A check that cannot use the settings returns
`no_config`, which names the setting to fix.
"""

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rabb_cli.errors import RabbError
from rabb_cli.paths import Paths
from rabb_cli.redact import register_secret

if TYPE_CHECKING:
    from rabb_cli.config import Config
    from rabb_cli.schedulers import TimerStatus

# Seconds to wait for a lock on the database before a check gives up.
DATABASE_TIMEOUT_SECONDS = 5


SECRET_VARIABLES = ("LATE_API_KEY", "ZERNIO_API_KEY", "RESEND_API_KEY")


class Status(StrEnum):
    """The outcome of a check."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """The finding of one check: a status, a one-line message and the fix."""

    status: Status
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The finding of one named check, as `rabb doctor` prints it."""

    name: str
    status: Status
    message: str
    fix: str | None = None
    # The exception of a check that raised, for the --debug traceback.
    exception: BaseException | None = field(default=None, compare=False)


def ok(message: str) -> Finding:
    return Finding(Status.OK, message)


def warning(message: str, fix: str | None = None) -> Finding:
    return Finding(Status.WARNING, message, fix)


def error(message: str, fix: str | None = None) -> Finding:
    return Finding(Status.ERROR, message, fix)


def no_config(setup: "Setup") -> Finding:
    """Return the finding of a check that needs the settings, which did not load."""
    failure = setup.config_or_error
    setting = getattr(failure, "setting", None)
    hint = failure.hint if isinstance(failure, RabbError) else None
    if setting and hint:
        return warning(f"not checked, because {setting} is invalid", hint)
    return warning(
        "not checked, because the settings cannot be read",
        hint or f"fix {setup.paths.config_file}, as the config check says",
    )


@dataclass
class Setup:
    """The installation under check: its files, environment and clock.

    The settings and the installed timers are read once, on first use, and
    shared by the checks that need them.
    """

    paths: Paths
    environ: Mapping[str, str]
    now: datetime

    @cached_property
    def config_or_error(self) -> "Config | RabbError":
        from rabb_cli.config import load_config

        _register_secrets(self.paths.config_file, self.environ)
        try:
            return load_config(self.paths, dict(self.environ))
        except RabbError as failure:
            return failure

    @property
    def config(self) -> "Config | None":
        loaded = self.config_or_error
        return None if isinstance(loaded, RabbError) else loaded

    @cached_property
    def zone(self) -> tzinfo:
        """The zone for times in messages; UTC when the settings cannot be read."""
        from rabb_cli.timeparse import detect_system_zone, load_zone

        name = self.config.get("timezone") if self.config else None
        return load_zone(name) if name else detect_system_zone().zone

    @cached_property
    def timers(self) -> "list[TimerStatus]":
        """The timers installed for run-due; raises RabbError if unreadable."""
        from rabb_cli.schedulers import Cron, Systemd

        found = [Systemd(self.environ).status(), Cron().status(self.now)]
        return [timer for timer in found if timer is not None]

    @property
    def interval(self) -> timedelta | None:
        """The interval of the first installed timer whose schedule rabb wrote."""
        from rabb_cli.timer import parse_interval

        for timer in self.timers:
            if timer.interval:
                return parse_interval(timer.interval).span
        return None


def secret_names() -> list[str]:
    from rabb_cli.config import SETTINGS

    return [setting.name for setting in SETTINGS if setting.secret]


def _register_secrets(config_file: Path, environ: Mapping[str, str]) -> None:
    """Register every key that may appear in a message, even in an unusable file."""
    from rabb_cli.config import read_file

    for variable in SECRET_VARIABLES:
        register_secret(environ.get(variable, "").strip())
    try:
        raw = read_file(config_file)
    except RabbError:
        return
    for name in secret_names():
        value = raw.get(name)
        if isinstance(value, str):
            register_secret(value.strip())


@contextmanager
def read_only(database: Path) -> Iterator[sqlite3.Connection]:
    """Yield a connection that can only read `database`, which must exist.

    mode=ro never creates or writes the file. SQLite may leave empty `-wal` and
    `-shm` files beside a WAL database; the next rabb command removes them.
    """
    uri = f"{database.absolute().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=DATABASE_TIMEOUT_SECONDS)
    try:
        yield connection
    finally:
        connection.close()


def duration(span: timedelta) -> str:
    from rabb_cli.timeparse import format_duration

    return format_duration(max(span, timedelta()))
