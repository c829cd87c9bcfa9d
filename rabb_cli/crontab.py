"""Adding and removing rabb's line in a crontab, leaving every other byte alone.

A crontab is handled as text decoded with `surrogateescape`, so bytes that are not
UTF-8 survive the round trip. Lines are split at `\\n` only: a `\\r` before it, a
missing newline at the end and blank lines all stay as they were.

rabb's line goes at the end. cron applies a `NAME=value` line only to the entries
below it, because cronie and the Vixie cron family copy the environment as they
read each entry. At the end, the user's MAILTO, PATH and SHELL apply to rabb's
line as they do to the user's own lines. So the line uses only syntax that the
usual shells read alike (see `rabb_cli.timer.cron_line`).
"""

from rabb_cli.timer import CRON_MARKER


def decode(data: bytes) -> str:
    """Return crontab bytes as text that encodes back to the same bytes."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_lines(text: str) -> list[str]:
    """Split `text` into lines that keep their `\\n`; the last may lack one."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def is_rabb_line(line: str) -> bool:
    """Return whether `line` is the one that `rabb timer install` wrote."""
    return line.rstrip("\r\n").endswith(CRON_MARKER)


def rabb_lines(text: str) -> list[str]:
    """Return rabb's lines in `text`, without their line endings."""
    return [line.rstrip("\r\n") for line in split_lines(text) if is_rabb_line(line)]


def with_line(text: str, line: str) -> str:
    """Return `text` with rabb's line set to `line`.

    An existing rabb line is replaced in place, and any further copies are
    dropped. Without one, `line` goes last: after the final line break, or before
    a last line that has none, so that removing it restores `text` byte for byte.
    """
    new_line = line + "\n"
    lines = split_lines(text)
    positions = [index for index, old in enumerate(lines) if is_rabb_line(old)]
    if not positions:
        if lines and not lines[-1].endswith("\n"):
            return "".join(lines[:-1]) + new_line + lines[-1]
        return text + new_line

    kept = [old for index, old in enumerate(lines) if index not in positions[1:]]
    kept[positions[0]] = new_line
    return "".join(kept)


def without_line(text: str) -> str:
    """Return `text` without rabb's lines."""
    return "".join(line for line in split_lines(text) if not is_rabb_line(line))


def schedule_of(line: str) -> str:
    """Return the five time fields at the start of a crontab line."""
    return " ".join(line.split()[:5])
