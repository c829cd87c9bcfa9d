"""One-line errors, exit codes, tracebacks only with --debug, and key redaction."""

import sqlite3
from pathlib import Path

import pytest

from rabb_cli.errors import RabbError
from rabb_cli.redact import mask, redact, register_secret
from rabb_cli.store import SCHEMA_VERSION
from tests.conftest import Cli
from tests.helpers import run_rabb


def test_usage_error_one_line(cli: Cli) -> None:
    result = cli("compose", "hi", "--platfrom", "x")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "No such option: --platfrom" in result.stderr
    assert "rabb compose --help" in result.stderr


NOT_A_NUMBER = (
    "is not a post id, because a post id is a whole number. Use the number in the"
    " ID column of 'rabb list'.\n"
)


@pytest.mark.parametrize(
    "command",
    [("show",), ("edit", "--text", "x"), ("cancel",), ("delete", "--yes"), ("retry",)],
)
@pytest.mark.parametrize("value", ["abc", "1x", "3.0", "\uff13", " "])
def test_post_id_not_a_number(cli: Cli, command: tuple[str, ...], value: str) -> None:
    name, *options = command
    result = cli(name, value, *options)
    assert result.exit_code == 2
    assert result.stderr == f"rabb: error: {value!r} {NOT_A_NUMBER}"
    assert "Input should be" not in result.stderr


def test_retry_checks_every_id(cli: Cli) -> None:
    result = cli("retry", "1", "two")
    assert result.exit_code == 2
    assert result.stderr == f"rabb: error: 'two' {NOT_A_NUMBER}"


def test_unknown_command_suggestion(cli: Cli) -> None:
    result = cli("compos", "x")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: No such command 'compos'. Did you mean 'compose'? See"
        " 'rabb --help'.\n"
    )


def test_no_arguments_shows_help(cli: Cli) -> None:
    result = cli()
    assert "Usage: rabb" in result.stdout + result.stderr


def test_help_lists_commands(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("compose", "schedule", "list", "show", "edit", "cancel", "delete"):
        assert f"  {name} " in result.stdout


def test_every_option_has_help(cli: Cli) -> None:
    import typer.main

    from rabb_cli.app import app

    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert commands
    for name, command in commands.items():
        assert command.help, name
        for parameter in command.params:
            assert getattr(parameter, "help", None), f"{name} {parameter.name}"


def _break_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `rabb list` hit an unexpected error, as a bug would."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected state")

    monkeypatch.setattr("rabb_cli.store.Store.list_posts", broken)


def test_internal_error_without_traceback(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_listing(monkeypatch)
    result = cli("list")
    assert result.exit_code == 1
    assert result.stderr == (
        "rabb: error: internal error: RuntimeError: unexpected state (run again"
        " with --debug for the traceback)\n"
    )


def test_debug_shows_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_listing(monkeypatch)
    result = cli("--debug", "list")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    last_line = result.stderr.rstrip().splitlines()[-1]
    assert last_line == "rabb: error: internal error: RuntimeError: unexpected state"


def test_damaged_schema_names_database(home: Path) -> None:
    home.mkdir(parents=True)
    database = home / "rabb.db"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE post (id INTEGER)")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    connection.commit()
    result = run_rabb("list")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.startswith(f"rabb: error: cannot open the database {database}")
    assert "SELECT" not in stderr
    assert len(stderr.splitlines()) == 1


def test_key_redacted_from_debug_traceback(home: Path) -> None:
    key = "sk_" + "9f" * 32
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text(f'late_api_key = "{key}"\ntimezone = "Nowhere/Land"\n')
    config.chmod(0o600)
    result = run_rabb("--debug", "list")
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert key.encode() not in output


def test_redact_masks_registered_and_bearer() -> None:
    register_secret("re_supersecretvalue")
    text = redact("key re_supersecretvalue and Authorization: Bearer abc.def")
    assert "re_supersecretvalue" not in text
    assert "abc.def" not in text
    assert text.count("***") == 2


@pytest.mark.parametrize(
    ("value", "expected"), [("short", "***"), ("sk_" + "a" * 60 + "wxyz", "sk_…wxyz")]
)
def test_mask(value: str, expected: str) -> None:
    assert mask(value) == expected


def test_error_text_single_full_stops() -> None:
    error = RabbError("Late said: key revoked.", "create a new key.")
    assert str(error) == "Late said: key revoked. Create a new key."
