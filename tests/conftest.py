"""Shared fixtures: a private RABB_HOME per test, and ways to run the CLI."""

import io
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import respx

from rabb_cli.cli import run
from rabb_cli.context import options, reset_context
from tests.late_respx import ACCOUNTS, API_KEY, mock_late

if TYPE_CHECKING:
    from tests.fake_late import FakeLate

# Variables that would leak the developer's own setup into a test.
_CLEARED_VARIABLES = (
    "RABB_HOME",
    "RABB_TIMEZONE",
    "RABB_PUBLISHER",
    "RABB_DEBUG",
    "LATE_API_KEY",
    "ZERNIO_API_KEY",
    "LATE_BASE_URL",
    "RESEND_API_KEY",
    "RESEND_API_URL",
    "RESEND_FROM_EMAIL",
    "NO_COLOR",
    "VISUAL",
    "EDITOR",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point RABB_HOME at an empty folder and clear rabb's environment variables."""
    for name in _CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "home"
    monkeypatch.setenv("RABB_HOME", str(folder))
    monkeypatch.setenv("RABB_TIMEZONE", "UTC")
    monkeypatch.setenv("COLUMNS", "100")
    reset_context()
    yield folder
    reset_context()
    options.debug = options.verbose = options.no_color = False
    _detach_log_handlers()


def _detach_log_handlers() -> None:
    """Remove the stderr handlers a command installed.

    They hold the stream pytest captured for this test, which is closed once the
    test ends, so a later test on the same worker would write to a closed file.
    """
    for name in ("rabb", "httpx"):
        logging.getLogger(name).handlers.clear()


@dataclass
class Result:
    """The outcome of one CLI invocation."""

    exit_code: int
    stdout: str
    stderr: str


class _FakeStdin(io.TextIOWrapper):
    """Stdin carrying the given bytes, reporting itself as a pipe or a terminal."""

    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Cli:
    """Runs rabb in this process, as `rabb ARGS`, capturing stdout and stderr."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(
        self, *args: str, stdin: bytes | None = None, tty: bool = False
    ) -> Result:
        self.capsys.readouterr()
        fake = _FakeStdin(stdin or b"", tty=tty)
        self.monkeypatch.setattr(sys, "stdin", fake)
        reset_context()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def late(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """Late behind respx, with an API key set and three connected accounts."""
    monkeypatch.setenv("LATE_API_KEY", API_KEY)
    with mock_late() as router:
        router.get("/accounts").mock(
            return_value=httpx.Response(200, json={"accounts": ACCOUNTS})
        )
        yield router


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(capsys, monkeypatch)


def subprocess_env(**overrides: str) -> dict[str, str]:
    """Return the current environment (with the test's RABB_HOME) plus overrides."""
    env = dict(os.environ)
    env.update(overrides)
    return env


@pytest.fixture
def fake_late() -> Iterator["FakeLate"]:
    """A fake Late API on 127.0.0.1; the test fails if rabb sent an invalid request."""
    from tests.fake_late import FakeLate

    with FakeLate() as server:
        yield server
    assert not server.schema_errors, server.schema_errors
