"""Logging to stderr, with keys masked and timestamps when stderr is not a terminal."""

import logging
import sys
import time

from rabb_cli.redact import redact

LOGGER_NAME = "rabb"


class RedactingFilter(logging.Filter):
    """Mask registered keys and bearer tokens in every record before it is written.

    The message also becomes one line with control characters shown as escapes,
    because it may quote a response from Late, and a line break or an escape
    sequence in it would forge log lines or act on the terminal.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from rabb_cli.output import printable

        record.msg = printable(redact(record.getMessage()), one_line=True)
        record.args = None
        return True


class UTCFormatter(logging.Formatter):
    """Format record times as ISO 8601 UTC, whatever the machine's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


def setup_logging(*, debug: bool = False, verbose: bool = False) -> None:
    """Send rabb's log records to stderr at the level the flags ask for.

    On a terminal a record reads `rabb: message`. Elsewhere (cron mail, journald,
    a log file) each line starts with a UTC timestamp and the level.
    """
    logger = logging.getLogger(LOGGER_NAME)
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logger.setLevel(level)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)

    handler = logging.StreamHandler(sys.stderr)
    if sys.stderr.isatty():
        handler.setFormatter(logging.Formatter("rabb: %(message)s"))
    else:
        handler.setFormatter(
            UTCFormatter("%(asctime)s rabb[%(process)d] %(levelname)s %(message)s")
        )
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)

    # httpx logs each request line at INFO; with --debug, route it through the same
    # handler. Without it, undo an earlier call's routing, whose stream may be gone.
    http_logger = logging.getLogger("httpx")
    http_logger.setLevel(logging.INFO if debug else logging.NOTSET)
    http_logger.propagate = not debug
    http_logger.handlers = [handler] if debug else []
