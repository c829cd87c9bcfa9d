"""Files generated from the Typer app: shell completion scripts and docs/commands.md.

    python -m rabb_cli.docgen          # rewrite the files in the repository
    python -m rabb_cli.docgen --check  # exit 1 and name the files that are stale

Tests compare the committed files with what this module generates, so a change to
a command's options or help fails until the files are regenerated.
"""

import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from typer._click import Command, Context
from typer._completion_shared import get_completion_script

from rabb_cli.completion import COMPLETE_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = "rabb"
# File name for each shell. zsh looks up `_rabb` on $fpath for the command `rabb`.
COMPLETION_FILES = {
    "bash": "completions/rabb.bash",
    "zsh": "completions/_rabb",
    "fish": "completions/rabb.fish",
}
REFERENCE_FILE = "docs/commands.md"
# Help in a terminal of 80 columns or more is wrapped at 78, click's default.
HELP_WIDTH = 78


def completion_script(shell: str) -> str:
    """Return the completion script for `shell`, as `rabb --show-completion` prints
    it in that shell."""
    script = get_completion_script(
        prog_name=PROGRAM, complete_var=COMPLETE_VARIABLE, shell=shell
    )
    return script + "\n"


def command_help() -> Iterator[tuple[list[str], str]]:
    """Yield the words of each command (such as ["rabb", "timer", "install"]) and
    its `--help` text, the root first, in the order `--help` lists them."""
    from rabb_cli.app import app
    from rabb_cli.helptext import use_plain_arguments

    root = typer.main.get_command(app)
    use_plain_arguments(root)
    yield from _walk(root, _context(root, PROGRAM, None), [PROGRAM])


def _walk(
    command: Command, context: Context, words: list[str]
) -> Iterator[tuple[list[str], str]]:
    yield words, command.get_help(context)

    subcommands = getattr(command, "commands", {})
    for name in subcommands:
        child = subcommands[name]
        if getattr(child, "hidden", False):
            continue
        yield from _walk(child, _context(child, name, context), [*words, name])


def _context(command: Command, name: str, parent: Context | None) -> Context:
    # resilient_parsing skips callbacks such as --version and the no-arguments
    # help, and make_context applies the command's context_settings (-h).
    return command.make_context(
        name, [], parent=parent, resilient_parsing=True, terminal_width=HELP_WIDTH
    )


def command_reference() -> str:
    """Return docs/commands.md: the help of every command, in Markdown."""
    sections = list(command_help())
    lines = [
        "# Command reference",
        "",
        "The `--help` output of every rabb command. `python -m rabb_cli.docgen`"
        " writes this",
        "file from the app, and a test fails when it differs from `--help`.",
        "",
    ]
    lines += [f"- [`{' '.join(words)}`](#{_anchor(words)})" for words, _ in sections]
    for words, text in sections:
        lines += ["", f"## {' '.join(words)}", "", "```text", text.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def generated_files() -> dict[str, str]:
    """Return every generated file's path in the repository and its text."""
    files = {path: completion_script(shell) for shell, path in COMPLETION_FILES.items()}
    files[REFERENCE_FILE] = command_reference()
    return files


def stale_files(root: Path) -> list[str]:
    """Return the generated files under `root` that differ from the app."""
    stale = []
    for path, text in generated_files().items():
        target = root / path
        if not target.is_file() or target.read_text("utf-8") != text:
            stale.append(path)
    return stale


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        sys.stderr.write(__doc__ or "")
        return 2
    if not (ROOT / "pyproject.toml").is_file():
        sys.stderr.write(f"{ROOT} is not a rabb checkout; run this from a clone\n")
        return 1
    if argv == ["--check"]:
        stale = stale_files(ROOT)
        for path in stale:
            sys.stderr.write(f"{path} is out of date: run python -m rabb_cli.docgen\n")
        return 1 if stale else 0

    for path, text in generated_files().items():
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        sys.stdout.write(f"wrote {path}\n")
    return 0


def _anchor(words: list[str]) -> str:
    return "-".join(words)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
