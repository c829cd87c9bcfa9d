"""The fast path of `rabb run-due`: an empty run finished before Typer is imported.

Each run is a new Python process that calls `rabb_cli.cli.run` with the fast path
on or off, so both paths can be compared on the same store, and the modules each
one imported can be listed.
"""

import json
import os
import pty
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rabb_cli import posts
from rabb_cli.cli import _fast_run_due_options, run_due_fast
from rabb_cli.store import open_store
from tests.conftest import subprocess_env
from tests.helpers import query, write_config

pytestmark = pytest.mark.slow

# Modules the fast path must not load. Typer is the reason the fast path exists.
HEAVY_MODULES = ("typer", "sqlmodel", "sqlalchemy", "httpx", "resend", "rich")

# argv: "fast" or "app", the file for the list of loaded heavy modules, the
# heavy module names as JSON, then rabb's arguments.
_BOOTSTRAP = """
import json, sys
from rabb_cli.cli import run
code = run(sys.argv[4:], fast_path=sys.argv[1] == "fast")
heavy = set(json.loads(sys.argv[3]))
loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
with open(sys.argv[2], "w") as handle:
    json.dump(loaded, handle)
sys.exit(code)
"""

# Fields of the JSON report that differ from one run to the next.
_PER_RUN_FIELDS = ("run_id", "started_at", "finished_at")


@dataclass
class Outcome:
    """What one rabb process printed, returned and imported."""

    code: int
    stdout: bytes
    stderr: bytes
    loaded: list[str]


def run_path(
    path: str, args: list[str], env: dict[str, str], *, tty: bool = False
) -> Outcome:
    """Run rabb in a new process with the fast path ("fast") or without ("app")."""
    report = Path(env["RABB_HOME"]).parent / f"loaded-{os.getpid()}.json"
    command = [sys.executable, "-c", _BOOTSTRAP, path, str(report)]
    command += [json.dumps(HEAVY_MODULES), *args]
    if tty:
        code, stdout, stderr = _run_on_terminal(command, env)
    else:
        finished = subprocess.run(
            command, env=env, capture_output=True, timeout=60, check=False
        )
        code, stdout, stderr = finished.returncode, finished.stdout, finished.stderr
    loaded = json.loads(report.read_text())
    report.unlink()
    return Outcome(code, stdout, stderr, loaded)


def _run_on_terminal(
    command: list[str], env: dict[str, str]
) -> tuple[int, bytes, bytes]:
    """Run `command` with stdout on a pseudo-terminal; return code, stdout, stderr."""
    controller, terminal = pty.openpty()
    try:
        finished = subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
    output = b""
    try:
        while chunk := os.read(controller, 4096):
            output += chunk
    except OSError:
        pass  # Linux reports EIO once the terminal side is closed and drained.
    finally:
        os.close(controller)
    return finished.returncode, output, finished.stderr


def add_post(home: Path, due_in: timedelta) -> int:
    """Store one scheduled post for the twitter target, due `due_in` from now."""
    store = open_store(home / "rabb.db")
    try:
        content = posts.build_content("A post for the fast path", ["twitter"])
        post = posts.create_post(store, content, datetime.now(UTC) + due_in)
    finally:
        store.close()
    assert post.id is not None
    return post.id


def outbox_env() -> dict[str, str]:
    return subprocess_env(RABB_PUBLISHER="outbox")


def run_rows(home: Path) -> list[Any]:
    sql = "SELECT id, status, due, publisher, finished_at IS NOT NULL FROM run"
    return query(home / "rabb.db", sql + " ORDER BY id")


def without_per_run_fields(stdout: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    return {key: value for key, value in data.items() if key not in _PER_RUN_FIELDS}


@pytest.mark.parametrize(
    "args",
    [
        ["run-due"],
        ["run-due", "--json"],
        ["--debug", "-v", "--no-color", "run-due", "--verbose"],
        ["run-due", "--dry-run"],
        ["run-due", "--dry-run", "--json"],
    ],
)
@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "terminal"])
def test_empty_run_same_on_both_paths(home: Path, args: list[str], tty: bool) -> None:
    add_post(home, timedelta(hours=2))
    env = outbox_env()
    dry_run = "--dry-run" in args

    fast = run_path("fast", args, env, tty=tty)
    rows_after_fast = run_rows(home)
    app = run_path("app", args, env, tty=tty)
    rows_after_app = run_rows(home)

    assert fast.loaded == []
    assert "typer" in app.loaded
    assert fast.code == app.code == 0
    assert fast.stderr == app.stderr == b""
    if "--json" in args:
        assert without_per_run_fields(fast.stdout) == without_per_run_fields(app.stdout)
    else:
        assert fast.stdout == app.stdout
    if not dry_run:
        assert rows_after_fast == [(1, "ok", 0, "outbox", 1)]
        assert rows_after_app == [*rows_after_fast, (2, "ok", 0, "outbox", 1)]
    else:
        assert rows_after_app == []


def test_empty_run_output_by_terminal(home: Path) -> None:
    add_post(home, timedelta(hours=2))
    env = outbox_env()

    on_terminal = run_path("fast", ["run-due"], env, tty=True)
    in_pipe = run_path("fast", ["run-due"], env)
    as_json = run_path("fast", ["run-due", "--json"], env)

    assert on_terminal.stdout == b"Nothing is due.\r\n"
    assert in_pipe.stdout == b""
    report = json.loads(as_json.stdout)
    assert report["run_id"] == 3
    assert report["due"] == 0
    assert report["posts"] == []
    assert report["error"] is None
    assert [row[0] for row in run_rows(home)] == [1, 2, 3]


def test_fast_path_imports_nothing_heavy(home: Path) -> None:
    add_post(home, timedelta(hours=2))
    for args in (["run-due"], ["-v", "run-due", "--json"]):
        outcome = run_path("fast", args, outbox_env())
        assert outcome.code == 0, outcome.stderr
        assert outcome.loaded == [], args


def test_due_post_published_through_app(home: Path) -> None:
    post_id = add_post(home, timedelta(seconds=-30))

    outcome = run_path("fast", ["run-due"], outbox_env())

    assert outcome.code == 0, outcome.stderr
    assert outcome.stdout.startswith(f"post {post_id}: PUBLISHED".encode())
    assert {"typer", "sqlmodel"} <= set(outcome.loaded)
    [(status,)] = query(home / "rabb.db", "SELECT status FROM post")
    assert status == "published"
    assert run_rows(home) == [(1, "ok", 1, "outbox", 1)]


def test_missing_database_goes_to_app(home: Path, tmp_path: Path) -> None:
    fast = run_path("fast", ["run-due"], outbox_env())
    other_home = tmp_path / "other"
    other_env = subprocess_env(RABB_PUBLISHER="outbox", RABB_HOME=str(other_home))
    app = run_path("app", ["run-due"], other_env)

    assert "typer" in fast.loaded
    assert (fast.code, fast.stdout, fast.stderr) == (app.code, app.stdout, app.stderr)
    assert run_rows(home) == [(1, "ok", 0, "outbox", 1)]


def break_toml(home: Path) -> dict[str, str]:
    write_config(home, "[publish\nlease = 1m\n")
    return outbox_env()


def open_key_file(home: Path) -> dict[str, str]:
    write_config(home, 'late_api_key = "sk_' + "3d" * 16 + '"\n').chmod(0o644)
    return outbox_env()


def no_key(home: Path) -> dict[str, str]:
    return subprocess_env()


def newer_schema(home: Path) -> dict[str, str]:
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    return outbox_env()


def not_a_database(home: Path) -> dict[str, str]:
    (home / "rabb.db").write_bytes(b"not a database, just text\n" * 200)
    return outbox_env()


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        (break_toml, 2, "invalid TOML in"),
        (open_key_file, 1, "contains an API key but other users can read it"),
        (no_key, 1, "no Late API key is set"),
        (newer_schema, 1, "has schema version 99, newer than"),
        (not_a_database, 1, "cannot open the database"),
    ],
)
def test_errors_same_on_both_paths(
    home: Path, setup: Any, code: int, message: str
) -> None:
    add_post(home, timedelta(hours=2))
    env = setup(home)

    fast = run_path("fast", ["run-due"], env)
    app = run_path("app", ["run-due"], env)

    assert "typer" in fast.loaded
    assert fast.code == app.code == code
    assert fast.stdout == app.stdout == b""
    assert fast.stderr == app.stderr
    lines = fast.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rabb: error: ")
    assert message in lines[0]
    assert "3d3d3d" not in lines[0]


def test_locked_database_goes_to_app(home: Path) -> None:
    add_post(home, timedelta(hours=2))
    holder = sqlite3.connect(home / "rabb.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    command = [sys.executable, "-X", "importtime", "-m", "rabb_cli", "run-due"]
    process = subprocess.Popen(
        command, env=outbox_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stderr is not None

    # The fast path waits for the lock, gives up, and leaves the run to the Typer
    # app, which waits longer. The lock is released once Typer is imported.
    typer_seen = False
    for line in process.stderr:
        if line.rstrip().endswith(b"| typer"):
            typer_seen = True
            break
    holder.execute("ROLLBACK")
    holder.close()
    stdout, _ = process.communicate(timeout=60)

    assert typer_seen
    assert process.returncode == 0
    assert stdout == b""
    assert run_rows(home) == [(1, "ok", 0, "outbox", 1)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run-due"], (False, False)),
        (["run-due", "--json"], (True, False)),
        (["-v", "--debug", "run-due", "--dry-run", "-v"], (False, True)),
        (["--no-color", "run-due", "--json", "--dry-run"], (True, True)),
        (["run-due", "--help"], None),
        (["run-due", "-h"], None),
        (["--version", "run-due"], None),
        (["run-due", "--jsn"], None),
        (["run-due", "-vv"], None),
        (["run-due", "--no-color"], None),
        (["run-due", "extra"], None),
        (["compose", "run-due"], None),
        (["list"], None),
        ([], None),
    ],
)
def test_fast_path_options(args: list[str], expected: tuple[bool, bool] | None) -> None:
    assert _fast_run_due_options(args) == expected


def test_completion_not_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_RABB_COMPLETE", "complete_bash")
    assert run_due_fast(["run-due"]) is None
