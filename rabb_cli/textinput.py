"""Reading post text from an argument, stdin or the user's editor."""

import codecs
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
EDITOR_FILE_NAME = "POST_EDITMSG"
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


@contextmanager
def post_text(
    argument: str | None, *, initial: str = "", rerun: Callable[[], str]
) -> Iterator[str]:
    """Yield the post text as resolve_text finds it, and keep text from the editor
    until the block that stores it succeeds.

    When the block raises RabbError (the text is too long, or the post changed
    while the editor was open), the text stays in a private file. The error's hint
    then names that file and the command, from `rerun()`, that reads it back. Any
    other failure keeps the file too and names it on stderr.
    """
    if argument is not None or not sys.stdin.isatty():
        yield resolve_text(argument, initial=initial)
        return

    folder, text = _edit_in_folder(initial)
    try:
        yield text
    except RabbError as error:
        saved = _keep_text(folder, text)
        error.hint = _join_hints(error.hint, _saved_text_hint(saved, rerun()))
        raise
    except BaseException:
        saved = _keep_text(folder, text)
        sys.stderr.write(f"rabb: your text is saved in {saved}\n")
        raise
    shutil.rmtree(folder, ignore_errors=True)


def edit_text(initial: str = "") -> str:
    """Open the user's editor on `initial` and return the text above the scissors.

    Raises RabbError (exit 1) when the editor fails or the saved text is empty,
    which is how the user cancels.
    """
    folder, text = _edit_in_folder(initial)
    shutil.rmtree(folder, ignore_errors=True)
    return text


def _edit_in_folder(initial: str) -> tuple[Path, str]:
    """Run the editor on a file in a new private folder, and return both.

    The folder is removed when the editor fails or the text is empty, and kept
    when the file is not UTF-8, so that nothing the user wrote is lost.
    """
    command = _editor_command()
    folder = Path(tempfile.mkdtemp(prefix="rabb-"))
    path = folder / EDITOR_FILE_NAME
    try:
        _write_private(path, initial + "\n" + EDITOR_TEMPLATE)
        _run_editor(command, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "the edited text is not valid UTF-8",
            f"save the file as UTF-8. Your text is saved in {path}",
        ) from error
    text = text.split(SCISSORS, 1)[0].rstrip()
    if not text.strip():
        shutil.rmtree(folder, ignore_errors=True)
        # As with `git commit`, saving an empty post cancels: exit 1, not an error
        # in the input (2).
        raise RabbError(
            "the post is empty, so it was cancelled and nothing was saved",
            "to save it, write the text above the scissors line",
        )
    return folder, text


def _run_editor(command: list[str], path: Path) -> None:
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


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by the owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    # An editor that saves by writing a new file may have used the umask.
    path.chmod(0o600)


def _keep_text(folder: Path, text: str) -> Path:
    """Replace the editor's file with the post text alone, ready to pipe back in."""
    path = folder / EDITOR_FILE_NAME
    _write_private(path, text + "\n")
    return path


def _saved_text_hint(path: Path, command: str) -> str:
    quoted = shlex.quote(str(path))
    return (
        f"your text is saved in {path}, so change it there if needed and run"
        f" '{command} < {quoted}'"
    )


def _join_hints(first: str | None, second: str) -> str:
    if not first:
        return second
    return f"{first.rstrip('.')}. {second[0].upper()}{second[1:]}"


def _editor_command() -> list[str]:
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    return ["vi"]
