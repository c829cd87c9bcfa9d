"""Reading post text from stdin: bounded reads and UTF-8 checks, also against a
real writer process."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rabb_cli.errors import InvalidInput
from rabb_cli.textinput import MAX_STDIN_BYTES, read_stdin
from rabb_cli.textrules import MAX_TEXT_LENGTH
from tests.helpers import _BOOTSTRAP, run_rabb
from tests.test_compose import stored_texts

# A writer that sends FIRST (hex) and then up to TOTAL bytes of 'a' lines, and
# prints how many bytes the pipe took before the reader closed it.
WRITER = """
import sys
first = bytes.fromhex(sys.argv[1])
total = int(sys.argv[2])
block = b"a" * 1023 + b"\\n"
written = 0
try:
    sys.stdout.buffer.write(first)
    written = len(first)
    while written < total:
        sys.stdout.buffer.write(block)
        sys.stdout.buffer.flush()
        written += len(block)
    sys.stdout.buffer.close()
except BrokenPipeError:
    pass
sys.stderr.write(str(written))
"""
# Far more than rabb ever reads, so a reader that reads to the end is caught.
WRITER_TOTAL = 64 * 1024 * 1024
# A Linux pipe buffers 64 KiB unless resized (up to 1 MiB by default), and the
# writer fills it before it sees the reader close its end.
PIPE_SLACK = 1024 * 1024 + 1024


class CountingStream(io.BytesIO):
    """An in-memory stdin that records the furthest byte read."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data


def pipe_into_rabb(first: bytes, home: Path) -> tuple[int, bytes, int]:
    """Pipe 64 MiB from a writer into `rabb compose` and return rabb's exit code,
    its stderr and the bytes the writer got into the pipe."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, first.hex(), str(WRITER_TOTAL)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None
    reader = subprocess.run(
        [sys.executable, "-c", _BOOTSTRAP, "compose", "-p", "facebook"],
        stdin=writer.stdout,
        capture_output=True,
        timeout=120,
        check=False,
    )
    writer.stdout.close()
    _, written = writer.communicate(timeout=120)
    return reader.returncode, reader.stderr, int(written)


def test_endless_stdin_stops_at_limit(home: Path) -> None:
    code, stderr, written = pipe_into_rabb(b"", home)

    assert code == 2
    assert stderr.startswith(b"rabb: error: text too long: stdin has more than")
    assert stderr.count(b"\n") == 1
    assert written < MAX_STDIN_BYTES + PIPE_SLACK
    assert stored_texts(home) == []


def test_binary_stdin_fails_at_first_byte(home: Path) -> None:
    code, stderr, written = pipe_into_rabb(b"\xff\xfe", home)

    assert code == 2
    assert stderr == (
        b"rabb: error: stdin is not valid UTF-8 (byte 0xff at offset 0). Convert the"
        b" text to UTF-8, for example with 'iconv -t UTF-8'.\n"
    )
    # One read of at most 64 KiB, plus what the pipe holds.
    assert written < 64 * 1024 + PIPE_SLACK
    assert stored_texts(home) == []


def test_read_stops_after_limit() -> None:
    stream = CountingStream(b"a" * (10 * MAX_STDIN_BYTES))

    with pytest.raises(InvalidInput, match="stdin has more than 63,206 characters"):
        read_stdin(stream)
    assert stream.furthest <= MAX_STDIN_BYTES + 1


def test_wide_characters_stop_at_byte_limit() -> None:
    stream = CountingStream("𝄞".encode() * (MAX_TEXT_LENGTH + 1000))

    with pytest.raises(InvalidInput, match="text too long"):
        read_stdin(stream)
    assert stream.furthest == MAX_STDIN_BYTES + 1


def test_longest_text_with_mark_fits() -> None:
    text = "𝄞" * MAX_TEXT_LENGTH
    raw = ("\ufeff" + text + "\r\n").encode()

    assert read_stdin(io.BytesIO(raw)) == text


def test_one_character_over_rejected() -> None:
    with pytest.raises(InvalidInput, match="text too long"):
        read_stdin(io.BytesIO(b"a" * (MAX_TEXT_LENGTH + 4)))


def test_character_split_across_reads() -> None:
    # 65,535 bytes put the four bytes of the clef across the first read's end.
    text = "é" * 32767 + "a" + "𝄞b"

    assert read_stdin(io.BytesIO(text.encode())) == text


def test_invalid_byte_offset_in_later_read() -> None:
    # The last 'é' starts at byte 65,535, so its second byte is in the next read.
    raw = ("é" * 32767 + "aé").encode() + b"\xff"

    with pytest.raises(InvalidInput, match=r"byte 0xff at offset 65537\)"):
        read_stdin(io.BytesIO(raw))


def test_truncated_character_at_end() -> None:
    raw = b"abc" + "𝄞".encode()[:3]

    with pytest.raises(InvalidInput, match=r"byte 0xf0 at offset 3\)"):
        read_stdin(io.BytesIO(raw))


def test_nul_byte_rejected(home: Path) -> None:
    result = run_rabb("compose", "-p", "facebook", stdin=b"hello\0world")

    assert result.returncode == 2
    assert result.stderr == (
        b"rabb: error: the post text contains the control character U+0000 (NUL) at"
        b" line 1, column 6. Remove it, because post text may contain tabs and line"
        b" breaks but no other control characters.\n"
    )
    assert stored_texts(home) == []


@pytest.mark.parametrize(
    ("raw", "name", "line", "column"),
    [
        (b"\x01start", "U+0001", 1, 1),
        (b"bell\x07", "U+0007 (BEL)", 1, 5),
        (b"one\r\ntwo \x1b[31m", "U+001B (ESC)", 2, 5),
        (b"one\rtwo\x0b", "U+000B", 2, 4),
        (b"form\x0cfeed", "U+000C", 1, 5),
        (b"del\x7f", "U+007F", 1, 4),
        ("csi\u009b".encode(), "U+009B", 1, 4),
    ],
)
def test_control_character_position(
    home: Path, raw: bytes, name: str, line: int, column: int
) -> None:
    result = run_rabb("compose", "-p", "threads", stdin=raw)

    assert result.returncode == 2
    expected = f"control character {name} at line {line}, column {column}."
    assert expected.encode() in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert stored_texts(home) == []


def test_line_ends_become_newlines(home: Path) -> None:
    raw = b"windows\r\nold mac\rtab\there\r\n"

    result = run_rabb("compose", "-p", "threads", stdin=raw)

    assert result.returncode == 0, result.stderr
    assert stored_texts(home) == ["windows\nold mac\ntab\there"]


def test_text_for_checked_and_normalized(home: Path) -> None:
    rejected = run_rabb(
        "compose", "main", "-p", "threads", "--text-for", "threads=bad\x01"
    )
    assert rejected.returncode == 2
    assert b"the --text-for threads text contains the control character" in (
        rejected.stderr
    )

    accepted = run_rabb(
        "compose", "main", "-p", "threads", "--text-for", "threads=a\r\nb", "--json"
    )
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["targets"][0]["text"] == "a\nb"


def test_edit_text_normalized(home: Path) -> None:
    run_rabb("compose", "old", "-p", "threads")

    rejected = run_rabb("edit", "1", stdin=b"new\x00")
    normalized = run_rabb("edit", "1", stdin=b"new\r\ntext\r\n")

    assert rejected.returncode == 2
    assert b"U+0000 (NUL) at line 1, column 4" in rejected.stderr
    assert normalized.returncode == 0, normalized.stderr
    assert stored_texts(home) == ["new\ntext"]
