"""Running rabb as a real subprocess, optionally at a fixed instant."""

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

# Started with `python -c`, this freezes the clock (when RABB_TEST_FROZEN_AT names
# an instant) with time-machine and then runs the real entry point.
_BOOTSTRAP = """
import os, sys
frozen = os.environ.pop("RABB_TEST_FROZEN_AT", "")
if frozen:
    import time_machine
    time_machine.travel(frozen, tick=True).start()
from rabb_cli.cli import main
main(sys.argv[1:])
"""


def run_rabb(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    frozen_at: datetime | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run `rabb ARGS` in a new Python process and return its output as bytes."""
    environment = dict(os.environ if env is None else env)
    if frozen_at is not None:
        environment["RABB_TEST_FROZEN_AT"] = frozen_at.isoformat()
    return subprocess.run(
        [sys.executable, "-c", _BOOTSTRAP, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def start_rabb(*args: str, env: dict[str, str]) -> "subprocess.Popen[bytes]":
    """Start `rabb ARGS` in a new Python process without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-c", _BOOTSTRAP, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def write_config(home: Path, text: str) -> Path:
    """Write config.toml in `home` with mode 0600 and return its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def query(database: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
    """Return the rows of one SQL query, read with a connection of its own."""
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()
