"""`rabb compose`: text from the argument, stdin and the editor, and its checks."""

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rabb_cli.textinput import EDITOR_TEMPLATE
from tests.conftest import Cli, subprocess_env
from tests.helpers import run_rabb


def stored_texts(home: Path) -> list[str]:
    database = home / "rabb.db"
    if not database.exists():
        return []
    rows = sqlite3.connect(database).execute("SELECT text FROM post ORDER BY id")
    return [row[0] for row in rows]


def test_compose_saves_draft(cli: Cli, home: Path) -> None:
    result = cli("compose", "Hello world", "-p", "twitter", "-p", "bluesky")
    assert result.exit_code == 0
    assert result.stdout == "Draft 1 saved for twitter, bluesky.\n"
    assert stored_texts(home) == ["Hello world"]


def test_compose_json(cli: Cli) -> None:
    result = cli(
        "compose",
        "Hi",
        "-p",
        "x:@me",
        "--media",
        "https://cdn.example.com/clip.mp4?sig=1",
        "--json",
    )
    post = json.loads(result.stdout)
    assert post["id"] == 1
    assert post["status"] == "draft"
    assert post["text"] == "Hi"
    assert post["targets"][0]["platform"] == "twitter"
    assert post["targets"][0]["account"] == "@me"
    assert post["media"] == [
        {"url": "https://cdn.example.com/clip.mp4?sig=1", "type": "video"}
    ]
    assert post["scheduled_for"] is None
    assert post["created_at"].endswith("Z")
    for key in ("published_at", "late_post_id", "failure_reason", "next_attempt_at"):
        assert post[key] is None
    assert post["attempts"] == 0


def test_compose_reads_piped_stdin(cli: Cli, home: Path) -> None:
    result = cli("compose", "-p", "threads", stdin=b"line one\n\nline three\n")
    assert result.exit_code == 0
    assert stored_texts(home) == ["line one\n\nline three"]


def test_compose_dash_reads_stdin(cli: Cli, home: Path) -> None:
    cli("compose", "-", "-p", "threads", stdin=b"from stdin\n\n")
    assert stored_texts(home) == ["from stdin\n"]


def test_compose_strips_one_crlf(cli: Cli, home: Path) -> None:
    cli("compose", "-", "-p", "threads", stdin=b"windows\r\n")
    assert stored_texts(home) == ["windows"]


def test_argument_wins_over_stdin(cli: Cli, home: Path) -> None:
    cli("compose", "argument", "-p", "threads", stdin=b"ignored")
    assert stored_texts(home) == ["argument"]


def test_piped_utf8_despite_latin1_locale(home: Path) -> None:
    env = subprocess_env(PYTHONIOENCODING="latin-1", LC_ALL="C")
    result = run_rabb("compose", "-p", "threads", env=env, stdin="Grüße 👋\n".encode())
    assert result.returncode == 0, result.stderr
    assert stored_texts(home) == ["Grüße 👋"]


def test_piped_invalid_byte_rejected(home: Path) -> None:
    result = run_rabb("compose", "-p", "threads", stdin=b"caf\xe9\n")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "not valid UTF-8" in stderr
    assert "0xe9" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert stored_texts(home) == []


def test_editor_used_on_terminal(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "fake-editor"
    editor.write_text(
        "#!/bin/sh\n"
        'body=$(cat "$1")\n'
        'printf "#launch day\\n\\nwritten in the editor\\n%s" "$body" > "$1"\n'
    )
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    result = cli("compose", "-p", "threads", tty=True)
    assert result.exit_code == 0, result.stderr
    assert stored_texts(home) == ["#launch day\n\nwritten in the editor"]


def test_editor_failure_stores_nothing(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "false")
    result = cli("compose", "-p", "threads", tty=True)
    assert result.exit_code == 1
    assert "exited with status 1" in result.stderr
    assert stored_texts(home) == []


def test_editor_failure_names_fix(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "false")
    result = cli("compose", "-p", "threads", tty=True)
    assert result.stderr == (
        "rabb: error: editor 'false' exited with status 1, so nothing was saved."
        " Save and quit the editor normally to keep the text, or set $VISUAL or"
        " $EDITOR to an editor that works here.\n"
    )


def test_editor_template_promises_cancel() -> None:
    assert "Save an empty post to\n# cancel." in EDITOR_TEMPLATE


def test_empty_editor_text_cancels(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `true` leaves the template as it is: nothing above the scissors line.
    monkeypatch.setenv("EDITOR", "true")
    result = cli("compose", "-p", "threads", tty=True)
    assert result.exit_code == 1
    assert result.stderr == (
        "rabb: error: the post is empty, so it was cancelled and nothing was saved."
        " To save it, write the text above the scissors line.\n"
    )
    assert stored_texts(home) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("compose", "hi"), "missing -p PLATFORM"),
        (("compose", "hi", "-p", "myspace"), "unknown platform 'myspace'"),
        (("compose", "", "-p", "threads"), "the post text is empty"),
        (("compose", "の" * 141, "-p", "twitter"), "282 weighted characters"),
        (
            ("compose", "hi", "-p", "threads", "--media", "http://localhost/a.jpg"),
            "public host",
        ),
        (("compose", "hi", "-p", "threads", "--media", ""), "empty media URL"),
        (
            ("compose", "hi", "-p", "threads", "--text-for", "twitter=short"),
            "names a platform the post does not go to",
        ),
        (("compose", "hi", "-p", "threads", "--text-for", "oops"), "PLATFORM=TEXT"),
        (("compose", "hi", "-p", "threads", "--bogus"), "No such option: --bogus"),
        (("compose", "hi", "-p", "twitter:@"), "missing account after ':'"),
        (("compose", "hi", "-p", "twitter:"), "missing account after ':'"),
        (("compose", "hi", "-p", "twitter:@a b"), "a handle has no white space"),
        (("compose", "hi", "-p", "twitter:@a\tb"), "a handle has no white space"),
        (
            ("compose", "hi", "-p", "twitter:@a\x1b[31mRED"),
            "'twitter:@a\\x1b[31mRED': a handle has no white space or control",
        ),
        (
            ("compose", "hi", "-p", "twitter", "--text-for", "twitter="),
            "--text-for 'twitter=' gives twitter an empty text. Write the text after"
            " '=', or leave out --text-for twitter. An empty text only makes sense"
            " on 'rabb edit', where it removes a platform's own text.",
        ),
        (
            ("compose", "hi", "-p", "twitter", "--text-for", "twitter=  "),
            "gives twitter an empty text",
        ),
    ],
)
def test_compose_rejects(
    cli: Cli, home: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stderr.startswith("rabb: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert stored_texts(home) == []


def test_text_for_overrides_limit(cli: Cli, home: Path) -> None:
    long_text = "word " * 100
    result = cli(
        "compose",
        long_text,
        "-p",
        "twitter",
        "-p",
        "linkedin",
        "--text-for",
        "twitter=Short version",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    targets = json.loads(result.stdout)["targets"]
    assert targets[0] == {**targets[0], "platform": "twitter", "text": "Short version"}
    assert targets[1]["text"] is None


def test_compose_as_console_script(home: Path) -> None:
    # The installed entry point, as cron and users run it.
    rabb = Path(sys.executable).with_name("rabb")
    result = subprocess.run(
        [str(rabb), "compose", "via console script", "-p", "bluesky"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert stored_texts(home) == ["via console script"]


def test_huge_piped_text_rejected_by_size(cli: Cli, home: Path) -> None:
    result = cli("compose", "-", "-p", "twitter", stdin=b"a" * 2_000_000 + b"\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: text too long: stdin has more than 63,206 characters, where no"
        " platform accepts more. Shorten it, or check that the right file was piped"
        " in.\n"
    )
    assert stored_texts(home) == []
