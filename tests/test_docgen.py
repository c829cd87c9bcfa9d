"""docs/commands.md and the completion scripts match the app."""

import subprocess
import sys

import pytest
import typer.main

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
