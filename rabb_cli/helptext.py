"""Argument names in `--help` as users write them: `ID`, not `ID <int>` or `{ID}`.

Typer 0.29 prints an argument's Python type next to its metavar in the help and
wraps a required argument in braces in the usage line. rabb gives every argument
a metavar (ID, TEXT, YYYY-MM) and explains it in the help text, so the type adds
nothing. Options already print their metavar alone.
"""

from typing import Any

from typer._click import Command
from typer.core import TyperArgument

from rabb_cli.startup import command_parameters


class PlainArgument(TyperArgument):
    """An argument shown by its metavar alone, in click's usual `[ID]` form."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        if self.nargs != 1:
            name += "..."
        return name


def use_plain_arguments(command: Command) -> None:
    """Show every argument in `command` and below it by its metavar alone."""
    for parameter in command_parameters(command):
        if type(parameter) is TyperArgument:
            parameter.__class__ = PlainArgument
