"""Reading post text from an argument, stdin or the user's editor."""

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from rabb_cli.errors import InvalidInput, RabbError

STDIN_MARKER = "-"
SCISSORS = "# ------------------------ >8 ------------------------"
EDITOR_TEMPLATE = f"""
{SCISSORS}
# Write the post above this line. Everything from the line above down is removed,
# so lines starting with '#' above it (hashtags) are kept. Save an empty post to
# cancel.
"""


def resolve_text(argument: str | None, *, initial: str = "") -> str:
    """Return the post text from the argument, stdin or the editor, in that order.

    Stdin is read when the argument is `-`, or when there is no argument and stdin
    is not a terminal (a shell script piping text in). Otherwise `$VISUAL` or
    `$EDITOR` opens on a temporary file, as `git commit` does.
    """
    if argument == STDIN_MARKER:
        return read_stdin(sys.stdin.buffer)
    if argument is not None:
        return argument
    if not sys.stdin.isatty():
        return read_stdin(sys.stdin.buffer)
    return edit_text(initial)


def read_stdin(stream: BinaryIO) -> str:
    """Decode stdin as strict UTF-8, whatever the locale, minus one final newline."""
    data = stream.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = data[error.start : error.start + 1].hex()
        raise InvalidInput(
            f"stdin is not valid UTF-8 (byte 0x{byte} at offset {error.start})",
            "convert the text to UTF-8, for example with 'iconv -t UTF-8'",
        ) from error
    text = text.removeprefix("\ufeff")
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def edit_text(initial: str = "") -> str:
    """Open the user's editor on `initial` and return the text above the scissors.

    Raises RabbError (exit 1) when the editor fails or the saved text is empty,
    which is how the user cancels.
    """
    command = _editor_command()
    with tempfile.TemporaryDirectory(prefix="rabb-") as folder:
        path = Path(folder) / "POST_EDITMSG"
        path.write_text(initial + "\n" + EDITOR_TEMPLATE, encoding="utf-8")
        try:
            completed = subprocess.run([*command, str(path)], check=False)
        except FileNotFoundError as error:
            raise RabbError(
                f"editor {command[0]!r} not found",
                "set $EDITOR, or pass the text as an argument or on stdin",
            ) from error
        if completed.returncode != 0:
            raise RabbError(
                f"editor {command[0]!r} exited with status {completed.returncode},"
                " so nothing was saved",
                "save and quit the editor normally to keep the text, or set $VISUAL"
                " or $EDITOR to an editor that works here",
            )
        raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "the edited text is not valid UTF-8", "save the file as UTF-8"
        ) from error
    text = text.split(SCISSORS, 1)[0].rstrip()
    if not text.strip():
        # As with `git commit`, saving an empty post cancels: exit 1, not an error
        # in the input (2).
        raise RabbError(
            "the post is empty, so it was cancelled and nothing was saved",
            "to save it, write the text above the scissors line",
        )
    return text


def _editor_command() -> list[str]:
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    return ["vi"]
