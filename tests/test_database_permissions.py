"""Permission problems on the database: errors and doctor fixes that keep the posts.

Root passes every permission check, so when the tests run as root the rabb
processes run as the unprivileged user 65534 (nobody). The message mapping from
real SQLite errors is also tested in-process, which works for any user.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rabb_cli.dbfiles import permission_fix, unwritable_paths
from rabb_cli.doctor.store import _unreadable
from rabb_cli.store import database_error

NOBODY = 65534


@dataclass
class User:
    """A user that permission bits apply to, with a RABB_HOME of its own."""

    uid: int
    home: Path

    @property
    def database(self) -> Path:
        return self.home / "rabb.db"

    def rabb(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "RABB_HOME": str(self.home),
            "RABB_TIMEZONE": "UTC",
            "RABB_PUBLISHER": "outbox",
            "COLUMNS": "200",
        }
        extra: dict[str, Any] = {}
        if self.uid != os.geteuid():
            extra = {"user": self.uid, "group": self.uid, "extra_groups": []}
        return subprocess.run(
            [sys.executable, "-m", "rabb_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            **extra,
        )

    def doctor(self) -> dict[str, dict[str, Any]]:
        result = self.rabb("doctor", "--json")
        return {check["name"]: check for check in json.loads(result.stdout)}


@pytest.fixture
def user() -> Iterator[User]:
    """Return this user, or nobody when the tests run as root."""
    uid = NOBODY if os.geteuid() == 0 else os.geteuid()
    folder = Path(tempfile.mkdtemp(prefix="rabb-permissions-"))
    try:
        folder.chmod(0o711)
        home = folder / "home"
        home.mkdir(mode=0o700)
        if uid != os.geteuid():
            os.chown(home, uid, uid)
        # The other user needs search access to Python and this checkout, which
        # a checkout in a private folder (such as one from `mktemp -d`) denies.
        try:
            probe = User(uid, home).rabb("--version")
        except PermissionError as error:
            pytest.skip(f"cannot run rabb as uid {uid}: {error}")
        if probe.returncode != 0:
            pytest.skip(f"cannot run rabb as uid {uid}: {probe.stderr.strip()}")
        yield User(uid, home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _schedule(user: User, text: str) -> None:
    result = user.rabb("schedule", text, "-p", "threads", "--at", "2030-01-15 09:00")
    assert result.returncode == 0, result.stderr


def test_doctor_unreadable_database(user: User) -> None:
    _schedule(user, "Kept through chmod 000")
    user.database.chmod(0o000)

    found = user.doctor()["database"]

    assert found["status"] == "error"
    assert found["message"] == (
        f"cannot read {user.database}: permission denied on {user.database}"
    )
    assert found["fix"] == f"run 'chmod u+rw {user.database}'"
    assert "move it away" not in found["fix"]
    user.database.chmod(0o600)
    assert "Kept through chmod 000" in user.rabb("list").stdout


def test_list_unreadable_database(user: User) -> None:
    _schedule(user, "Kept through chmod 000")
    user.database.chmod(0o000)

    result = user.rabb("list")

    assert result.returncode == 1
    assert result.stderr == (
        f"rabb: error: cannot open the database {user.database}: permission denied"
        f" on {user.database}. Run 'chmod u+rw {user.database}'.\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_doctor_database_of_other_owner(user: User) -> None:
    _schedule(user, "Owned by root now")
    os.chown(user.database, 0, 0)
    user.database.chmod(0o600)

    found = user.doctor()["database"]

    assert found["status"] == "error"
    assert found["fix"].startswith(f"run 'sudo chown nobody {user.database}', then")


def test_read_only_shm_named(user: User) -> None:
    _schedule(user, "First")
    shm = user.home / "rabb.db-shm"
    # A read-only database makes SQLite leave its -shm file read-only as well.
    user.database.chmod(0o444)
    assert user.rabb("list").returncode == 0
    assert shm.exists()
    assert shm.stat().st_mode & 0o222 == 0
    user.database.chmod(0o644)

    result = user.rabb("schedule", "Second", "-p", "threads", "--at", "in 2h")

    assert result.returncode == 1
    assert result.stderr == (
        f"rabb: error: cannot write to the database {user.database}: {shm} is"
        f" read-only for you. Run 'chmod u+rw {shm}'.\n"
    )
    found = user.doctor()["database"]
    assert found["status"] == "error"
    assert f"but rabb cannot write {shm}," in found["message"]
    assert found["fix"] == f"run 'chmod u+rw {shm}'"

    shm.chmod(0o644)
    assert (
        user.rabb("schedule", "Third", "-p", "threads", "--at", "in 2h").returncode == 0
    )


def test_doctor_read_only_folder(user: User) -> None:
    _schedule(user, "In a folder made read-only")
    for suffix in ("-wal", "-shm"):
        assert not (user.home / f"rabb.db{suffix}").exists()
    user.home.chmod(0o500)

    found = user.doctor()["database"]

    assert found["status"] == "error"
    assert found["message"] == (
        f"cannot read {user.database} (attempt to write a readonly database),"
        f" because rabb cannot write {user.home}"
    )
    assert found["fix"] == f"run 'chmod u+rwx {user.home}'"


def _cantopen_error(tmp_path: Path) -> sqlite3.DatabaseError:
    missing = tmp_path / "missing" / "rabb.db"
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(f"{missing.as_uri()}?mode=ro", uri=True)
    return raised.value


def test_cantopen_is_not_damage(tmp_path: Path) -> None:
    failure = _cantopen_error(tmp_path)
    assert failure.sqlite_errorname == "SQLITE_CANTOPEN"
    database = tmp_path / "rabb.db"

    found = _unreadable(database, failure)

    assert found.message == f"cannot read {database}: unable to open database file"
    assert found.fix is not None
    assert "move it away" not in found.fix
    assert "restore" not in found.fix
    assert "-wal and -shm files" in found.fix


def test_read_only_error_names_side_files(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (1)")
    connection.close()

    error = database_error(database, raised.value)

    assert (
        error.message == f"cannot write to the database {database}, which is read-only"
    )
    assert error.hint is not None
    assert "rabb.db-wal and rabb.db-shm files" in error.hint


def test_permission_fix_quotes_paths(tmp_path: Path) -> None:
    folder = tmp_path / "my posts"
    folder.mkdir()
    database = folder / "rabb.db"
    database.touch()

    fix = permission_fix([folder, database])

    assert fix == f"""run 'chmod u+rw "{database}"', then 'chmod u+rwx "{folder}"'"""


def test_unwritable_paths_all_writable(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    database.touch()
    assert unwritable_paths(database) == []


def test_unreadable_config_fix(user: User) -> None:
    config = user.home / "config.toml"
    config.write_text('week_start = "sunday"\n')
    os.chown(config, user.uid, user.uid)
    config.chmod(0o000)

    result = user.rabb("list")

    assert result.returncode == 1
    assert result.stderr == (
        f"rabb: error: cannot read {config}: Permission denied. Run 'chmod 600"
        f" {config}'.\n"
    )
    config.chmod(0o600)
    assert user.rabb("list").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_config_of_other_owner_fix(user: User) -> None:
    config = user.home / "config.toml"
    config.write_text('week_start = "sunday"\n')
    config.chmod(0o600)

    result = user.rabb("list")

    assert result.returncode == 1
    assert result.stderr == (
        f"rabb: error: cannot read {config}: Permission denied. Run 'sudo chown"
        f" nobody {config}', then 'chmod 600 {config}'.\n"
    )
