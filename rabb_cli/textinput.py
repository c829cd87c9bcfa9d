"""Reading post text from an argument, stdin or the user's editor."""

import codecs
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from rabb_cli.errors import InvalidInput, RabbError
from rabb_cli.textrules import MAX_TEXT_LENGTH

STDIN_MARKER = "-"
# The longest text any platform accepts, plus a byte-order mark and a final CRLF,
# which rabb removes. Four bytes is the longest UTF-8 encoding of a character.
MAX_STDIN_CHARACTERS = MAX_TEXT_LENGTH + 3
MAX_STDIN_BYTES = 4 * MAX_STDIN_CHARACTERS
# Bytes per read: small enough that invalid input fails early, large enough that
# the maximum text takes a handful of reads.
STDIN_CHUNK_BYTES = 64 * 1024
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
    """Decode stdin as strict UTF-8, whatever the locale, minus one final newline.

    Reading stops as soon as the text is longer than any platform accepts, or
    at the first invalid byte, so a large or binary file piped in by mistake
    fails after a few hundred kilobytes at most.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    characters = 0
    consumed = 0
    while True:
        chunk = stream.read(min(STDIN_CHUNK_BYTES, MAX_STDIN_BYTES + 1 - consumed))
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise _invalid_utf8(error, consumed - len(pending)) from error
        consumed += len(chunk)
        characters += len(text)
        parts.append(text)
        if characters > MAX_STDIN_CHARACTERS or consumed > MAX_STDIN_BYTES:
            raise _stdin_too_long()
        if not chunk:
            break

    return _strip_stdin_text("".join(parts))


def _invalid_utf8(error: UnicodeDecodeError, chunk_offset: int) -> InvalidInput:
    # The decoder reports positions within the bytes of one read, plus any bytes of
    # a character left over from the read before.
    byte = error.object[error.start : error.start + 1].hex()
    offset = chunk_offset + error.start
    return InvalidInput(
        f"stdin is not valid UTF-8 (byte 0x{byte} at offset {offset})",
        "convert the text to UTF-8, for example with 'iconv -t UTF-8'",
    )


def _stdin_too_long() -> InvalidInput:
    # Either limit means more than MAX_TEXT_LENGTH characters once the mark and
    # the newline are removed, because no character takes more than four bytes.
    return InvalidInput(
        f"text too long: stdin has more than {MAX_TEXT_LENGTH:,} characters, where"
        " no platform accepts more",
        "shorten it, or check that the right file was piped in",
    )


def _strip_stdin_text(text: str) -> str:
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
