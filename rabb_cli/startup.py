"""Keeping Typer from importing Pydantic where no value needs converting.

Typer 0.29 converts each parameter's value with a Pydantic TypeAdapter, built the
first time the parameter is parsed. Importing Pydantic and building adapters costs
more than the rest of `rabb --help`, so these functions give parameters that need
no conversion a runtime that passes values through unchanged. A test checks that
`--help` and TAB completion import no Pydantic, so a Typer release that renames
these internals fails that test instead of slowing down silently.
"""

from collections.abc import Iterator
from typing import Any

from typer._click import Command, Context, Parameter
from typer._coercion import RuntimeParam


class _Unconverted(RuntimeParam):
    """A runtime that keeps the parsed value as it is."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return value


def skip_flag_conversion(command: Command) -> None:
    """Pass the values of boolean flags through, in `command` and below it.

    The parser already yields True, False or None for a flag, so converting adds
    nothing. Every subcommand's --help parses the root's flags, --help included.
    """
    for parameter in command_parameters(command):
        descriptor = getattr(parameter, "type_descriptor", None)
        is_flag = getattr(parameter, "is_flag", False)
        if is_flag and descriptor is not None and descriptor.annotation is bool:
            _pass_through(parameter)


def skip_all_conversion(command: Command) -> None:
    """Pass every value through unchanged, in `command` and below it.

    Only for TAB completion, which parses the words before the cursor to learn
    which parameter comes next and never runs a command.
    """
    for parameter in command_parameters(command):
        _pass_through(parameter)


def command_parameters(
    command: Command, parent: Context | None = None, name: str = "rabb"
) -> Iterator[Parameter]:
    # get_params() also returns the --help option, which click creates on first
    # use from the context's help option names and then caches on the command.
    context = command.context_class(
        command, info_name=name, parent=parent, **command.context_settings
    )
    yield from command.get_params(context)
    for child_name, child in getattr(command, "commands", {}).items():
        yield from command_parameters(child, context, child_name)


def _pass_through(parameter: Parameter) -> None:
    if getattr(parameter, "_runtime_param", False) is not None:
        return
    descriptor = parameter.type_descriptor  # type: ignore[attr-defined]
    unconverted = _Unconverted(descriptor.parameter_info, descriptor.annotation)
    parameter._runtime_param = unconverted  # type: ignore[attr-defined]
