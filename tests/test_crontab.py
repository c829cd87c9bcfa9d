"""Editing the crontab text: rabb's line in, rabb's line out, nothing else touched."""

import pytest

from rabb_cli.crontab import (
    decode,
    encode,
    rabb_lines,
    split_lines,
    with_line,
    without_line,
)
from rabb_cli.timer import CRON_MARKER

LINE = f"* * * * * /usr/bin/flock -n /s/run-due.lock /bin/rabb run-due {CRON_MARKER}"
OTHER_LINE = f"*/5 * * * * /usr/bin/flock -n /s/l /bin/rabb run-due {CRON_MARKER}"

CRONTABS = {
    "empty": b"",
    "plain": b"MAILTO=me@example.com\n0 3 * * * /usr/bin/backup\n",
    "comments and blanks": b"# m h dom mon dow command\n\n\n# nightly\n0 3 * * * x\n\n",
    "no trailing newline": b"SHELL=/bin/bash\n0 3 * * * /usr/bin/backup",
    "crlf": b"# windows editor\r\n0 3 * * * backup\r\n",
    "not utf-8": b"# caf\xe9 latin-1\n0 3 * * * echo \xff\n",
    "percent and spaces": b"  0 3 * * *   date +\\%F   >> /tmp/x.log  \n",
    "only blank lines": b"\n\n",
}


@pytest.mark.parametrize("name", CRONTABS)
def test_install_then_uninstall_restores(name: str) -> None:
    original = CRONTABS[name]
    installed = with_line(decode(original), LINE)
    assert rabb_lines(installed) == [LINE]
    assert encode(without_line(installed)) == original


@pytest.mark.parametrize("name", CRONTABS)
def test_install_keeps_other_lines(name: str) -> None:
    original = decode(CRONTABS[name])
    installed = with_line(original, LINE)
    assert installed.replace(LINE + "\n", "", 1) == original
    assert installed.count(LINE) == 1


def test_install_appends_after_settings() -> None:
    original = "MAILTO=me@example.com\nPATH=/opt/bin:/usr/bin\nSHELL=/bin/bash\n"
    installed = with_line(original + "0 3 * * * backup\n", LINE)
    assert installed == original + "0 3 * * * backup\n" + LINE + "\n"


def test_install_before_unterminated_last_line() -> None:
    original = "SHELL=/bin/bash\n0 3 * * * /usr/bin/backup"
    installed = with_line(original, LINE)
    assert installed == f"SHELL=/bin/bash\n{LINE}\n0 3 * * * /usr/bin/backup"
    assert without_line(installed) == original


def test_install_twice_one_line() -> None:
    original = decode(CRONTABS["plain"])
    once = with_line(original, LINE)
    twice = with_line(once, LINE)
    assert twice == once
    assert len(rabb_lines(twice)) == 1


def test_install_replaces_in_place() -> None:
    text = f"# top\n{OTHER_LINE}\n0 3 * * * backup\n"
    updated = with_line(text, LINE)
    assert updated == f"# top\n{LINE}\n0 3 * * * backup\n"


def test_install_into_empty_crontab() -> None:
    assert with_line("", LINE) == LINE + "\n"
    assert with_line("\n\n", LINE) == "\n\n" + LINE + "\n"


def test_install_drops_duplicates() -> None:
    text = f"{OTHER_LINE}\n# keep\n{OTHER_LINE}\r\nlast"
    updated = with_line(text, LINE)
    assert updated == f"{LINE}\n# keep\nlast"


def test_uninstall_removes_every_copy() -> None:
    text = f"{LINE}\n# keep\n{OTHER_LINE}\n"
    assert without_line(text) == "# keep\n"


def test_uninstall_without_line_unchanged() -> None:
    text = decode(CRONTABS["comments and blanks"])
    assert without_line(text) == text


def test_marker_must_end_line() -> None:
    text = f"# a note that quotes {CRON_MARKER} in the middle, not at the end\n"
    assert rabb_lines(text) == []
    assert without_line(text) == text


def test_split_lines_only_at_newline() -> None:
    assert split_lines("a\rb\x0bc\n\nd") == ["a\rb\x0bc\n", "\n", "d"]
    assert "".join(split_lines("x\r\ny")) == "x\r\ny"
