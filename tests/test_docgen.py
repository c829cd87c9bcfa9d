"""docs/commands.md and the completion scripts match the app."""

import re
import subprocess
import sys

import pytest
import typer.main
from typer._click import Command
from typer._click.utils import make_default_short_help

from rabb_cli.app import app
from rabb_cli.docgen import REFERENCE_FILE, ROOT, command_help, command_reference
from tests.conftest import Cli


def test_reference_file_current() -> None:
    committed = (ROOT / REFERENCE_FILE).read_text()
    assert committed == command_reference(), (
        f"{REFERENCE_FILE} is stale: run python -m rabb_cli.docgen"
    )


def test_reference_matches_help(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    committed = (ROOT / REFERENCE_FILE).read_text()
    sections = list(command_help())
    assert len(sections) >= 12

    for words, _ in sections:
        result = cli(*words[1:], "--help")
        assert result.exit_code == 0, words
        block = f"## {' '.join(words)}\n\n```text\n{result.stdout.rstrip()}\n```\n"
        assert block in committed, f"help of {' '.join(words)} differs"


def test_reference_lists_every_command() -> None:
    listed = {" ".join(words) for words, _ in command_help()}
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    for name, command in commands.items():
        assert f"rabb {name}" in listed
        for child in getattr(command, "commands", {}):
            assert f"rabb {name} {child}" in listed


def test_every_subcommand_option_has_help() -> None:
    group = typer.main.get_command(app)
    pending = list(getattr(group, "commands", {}).items())
    while pending:
        name, command = pending.pop()
        assert command.help, name
        for parameter in command.params:
            assert getattr(parameter, "help", None), f"{name} {parameter.name}"
        pending += [
            (f"{name} {child_name}", child)
            for child_name, child in getattr(command, "commands", {}).items()
        ]


def test_check_mode_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rabb_cli.docgen", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _commands() -> list[tuple[str, Command]]:
    """Return every command and group below `rabb`, by its full name."""
    group = typer.main.get_command(app)
    found = []
    pending = list(getattr(group, "commands", {}).items())
    while pending:
        name, command = pending.pop(0)
        found.append((f"rabb {name}", command))
        pending += [
            (f"{name} {child_name}", child)
            for child_name, child in getattr(command, "commands", {}).items()
        ]
    return found


def test_help_shows_no_python_types() -> None:
    for words, text in command_help():
        assert re.search(r"<[a-z_|\[\], ]+>", text) is None, words
        assert re.search(r"\{[A-Z_]+\}", text) is None, words


def test_every_value_has_metavar() -> None:
    for name, command in _commands():
        for parameter in command.params:
            takes_value = not getattr(parameter, "is_flag", False)
            if takes_value:
                assert parameter.metavar, f"{name} {parameter.name}"


def test_summaries_fit_command_list() -> None:
    for name, command in _commands():
        summary = make_default_short_help(command.help or "", 45)
        assert not summary.endswith("..."), f"{name}: {summary}"
        assert summary == (command.help or "").split("\n\n")[0].strip(), name


def test_json_help_names_output() -> None:
    expected = {
        "rabb list": "Print the posts as a JSON list instead of a table.",
        "rabb show": "Print the post, its alerts and next commands as JSON.",
        "rabb delete": "Print the deleted post as JSON.",
        "rabb accounts": "Print the accounts as a JSON list.",
        "rabb config show": "Print the settings as JSON.",
    }
    helps = {}
    for name, command in _commands():
        for parameter in command.params:
            if "--json" in getattr(parameter, "opts", []):
                helps[name] = getattr(parameter, "help", None)
    for name, text in expected.items():
        assert helps[name] == text, name
    assert len(set(helps.values())) >= 10
