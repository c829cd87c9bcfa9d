"""The error type every command raises, and the exit codes scripts can rely on."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README for script writers."""

    OK = 0
    FAILURE = 1
    INVALID_INPUT = 2
    POST_FAILED = 3


class RabbError(Exception):
    """A failure to report to the user as one line on stderr.

    `message` names what failed and the value. `hint` is the next step for the user,
    printed after it as a second sentence on the same line.
    """

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        # Messages quoted from a server may end in a full stop already.
        message = self.message.rstrip(".")
        hint = self.hint[0].upper() + self.hint[1:].rstrip(".")
        return f"{message}. {hint}."


class InvalidInput(RabbError):
    """A value from the command line, stdin or config.toml that cannot be used."""

    exit_code = ExitCode.INVALID_INPUT
    # The setting whose value is invalid, such as "late_api_key in config.toml".
    setting: str | None = None


class NotFound(InvalidInput):
    """A post id or other name that the store does not contain."""


class ConfigError(RabbError):
    """A missing or unreadable setting, or a config file with unsafe permissions."""
