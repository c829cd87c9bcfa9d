"""Text written in $EDITOR: kept in a private file when rabb rejects it, removed
once it is stored. rabb runs on a real pseudo-terminal, with a script as editor."""

import json
import re
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import subprocess_env
from tests.helpers import _BOOTSTRAP, run_rabb
from tests.terminal import TerminalProcess
from tests.test_compose import stored_texts

# X counts 280 weighted characters at most.
TOO_LONG_FOR_X = "My carefully written thread opener. " * 9
SAVED = re.compile(rb"Your text is saved in (\S+), so change it there if needed and")


def make_editor(folder: Path, body: str, then: str = "") -> Path:
    """Write an editor script that replaces the file with `body`, then runs `then`."""
    editor = folder / "fake-editor"
    body_file = folder / "editor-body.txt"
    body_file.write_text(body, encoding="utf-8")
    editor.write_text(f'#!/bin/sh\ncat "{body_file}" > "$1"\n{then}\n')
    editor.chmod(0o755)
    return editor


def editor_env(tmp_path: Path, editor: Path) -> dict[str, str]:
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    return subprocess_env(EDITOR=str(editor), TMPDIR=str(temporary))


def run_on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    terminal = TerminalProcess(args, env)
    output = terminal.read_all()
    assert terminal.returncode is not None
    return terminal.returncode, output


def saved_path(output: bytes) -> Path:
    match = SAVED.search(output)
    assert match is not None, output
    return Path(match.group(1).decode().rstrip(","))


def test_rejected_text_kept_privately(home: Path, tmp_path: Path) -> None:
    editor = make_editor(tmp_path, TOO_LONG_FOR_X + "\n")
    env = editor_env(tmp_path, editor)

    code, output = run_on_terminal(["compose", "-p", "twitter"], env)

    assert code == 2
    assert b"text too long for X" in output
    saved = saved_path(output)
    assert saved.read_text(encoding="utf-8") == TOO_LONG_FOR_X.rstrip() + "\n"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert f"run 'rabb compose -p twitter < {saved}'".encode() in output
    assert stored_texts(home) == []


def test_saved_text_piped_back(home: Path, tmp_path: Path) -> None:
    editor = make_editor(tmp_path, TOO_LONG_FOR_X + "\n")
    env = editor_env(tmp_path, editor)
    _, output = run_on_terminal(["compose", "-p", "twitter"], env)
    saved = saved_path(output)

    saved.write_text("My carefully written thread opener.\n", encoding="utf-8")
    with saved.open("rb") as stdin:
        result = run_rabb("compose", "-p", "twitter", env=env, stdin=stdin.read())

    assert result.returncode == 0, result.stderr
    assert stored_texts(home) == ["My carefully written thread opener."]


def test_stored_text_file_removed(home: Path, tmp_path: Path) -> None:
    editor = make_editor(tmp_path, "Short and sweet\n")
    env = editor_env(tmp_path, editor)

    code, output = run_on_terminal(["compose", "-p", "twitter"], env)

    assert code == 0, output
    assert stored_texts(home) == ["Short and sweet"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_published_during_edit_keeps_text(home: Path, tmp_path: Path) -> None:
    # While the editor is open, a run publishes the post through the outbox.
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    run_due = (
        f"RABB_TEST_FROZEN_AT='{later}' RABB_PUBLISHER=outbox"
        f" '{sys.executable}' -c '{_BOOTSTRAP}' run-due >/dev/null 2>&1"
    )
    editor = make_editor(tmp_path, "Better words\n", then=run_due)
    env = editor_env(tmp_path, editor)
    scheduled = run_rabb(
        "schedule", "Old words", "-p", "threads", "--at", "in 1h", env=env
    )
    assert scheduled.returncode == 0, scheduled.stderr

    code, output = run_on_terminal(["edit", "1"], env)

    assert code == 2
    assert b"post 1 is PUBLISHED, so it cannot be edited" in output
    saved = saved_path(output)
    assert saved.read_text(encoding="utf-8") == "Better words\n"
    assert f"run 'rabb compose -p threads < {saved}'".encode() in output
    shown = json.loads(run_rabb("show", "1", "--json", env=env).stdout)
    assert shown["text"] == "Old words"


def test_rejected_edit_suggests_edit(home: Path, tmp_path: Path) -> None:
    editor = make_editor(tmp_path, TOO_LONG_FOR_X + "\n")
    env = editor_env(tmp_path, editor)
    composed = run_rabb("compose", "Short", "-p", "twitter", env=env)
    assert composed.returncode == 0, composed.stderr

    code, output = run_on_terminal(["edit", "1"], env)

    assert code == 2
    saved = saved_path(output)
    assert f"run 'rabb edit 1 < {saved}'".encode() in output
    assert stored_texts(home) == ["Short"]


def test_non_utf8_edit_kept(home: Path, tmp_path: Path) -> None:
    editor = tmp_path / "latin1-editor"
    editor.write_text("#!/bin/sh\nprintf 'caf\\351\\n' > \"$1\"\n")
    editor.chmod(0o755)
    env = editor_env(tmp_path, editor)

    code, output = run_on_terminal(["compose", "-p", "threads"], env)

    assert code == 2
    assert b"the edited text is not valid UTF-8" in output
    kept = list((tmp_path / "tmp").glob("rabb-*/POST_EDITMSG"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == b"caf\xe9\n"
    assert str(kept[0]).encode() in output
