"""`rabb doctor`: check that everything is in place for run-due to publish."""

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rabb_cli.doctor import CheckResult

STATUS_STYLES = {"ok": "green", "warning": "yellow", "error": "bold red"}


def doctor(
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the checks as a JSON list."),
    ] = False,
) -> None:
    """Check that everything is set up to publish.

    Checks the config, keys, database, timer, last run and posts stuck in
    PUBLISHING, one line each with the fix. Exit status 1 when a check is an
    error, else 0.
    """
    from rabb_cli.context import get_context
    from rabb_cli.doctor import Status, make_setup, run_checks

    context = get_context()
    results = run_checks(make_setup(context.paths, context.now()))

    _print_tracebacks(results)
    if json_output:
        _print_json(results)
    else:
        _print_lines(results)
    if any(result.status is Status.ERROR for result in results):
        raise typer.Exit(1)


def _print_lines(results: "list[CheckResult]") -> None:
    """Print one line per check, wrapped under the message on a terminal.

    Into a pipe each check stays on one line, so `grep` finds it whole.
    """
    from rich.table import Table
    from rich.text import Text

    from rabb_cli.output import make_console, printable

    console = make_console()
    width = max(len(result.name) for result in results)
    grid = Table.grid()
    grid.add_column(no_wrap=True, width=8)
    grid.add_column(no_wrap=True, width=width + 2)
    grid.add_column(overflow="fold")
    for result in results:
        status = Text(result.status.value, style=STATUS_STYLES[result.status])
        message = printable(result.message, one_line=True)
        line = Text(message.rstrip(".") if result.fix else message)
        if result.fix:
            line.append(f". Fix: {printable(result.fix, one_line=True)}")
        if console.is_terminal:
            grid.add_row(status, Text(result.name), line)
        else:
            status.pad_right(8 - len(status))
            console.print(
                status + Text(f"{result.name:<{width}}  ") + line, soft_wrap=True
            )
    if console.is_terminal:
        console.print(grid)
    console.print(_summary(results), soft_wrap=True)


def _summary(results: "list[CheckResult]") -> str:
    from rabb_cli.doctor import Status

    def count(status: Status) -> int:
        return sum(1 for result in results if result.status is status)

    warnings, errors = count(Status.WARNING), count(Status.ERROR)
    return (
        f"{len(results)} checks: {count(Status.OK)} ok,"
        f" {warnings} warning{'' if warnings == 1 else 's'},"
        f" {errors} error{'' if errors == 1 else 's'}"
    )


def _print_json(results: "list[CheckResult]") -> None:
    from rabb_cli.output import print_json

    print_json(
        [
            {
                "name": result.name,
                "status": result.status.value,
                "message": result.message,
                "fix": result.fix,
            }
            for result in results
        ]
    )


def _print_tracebacks(results: "list[CheckResult]") -> None:
    """Print the traceback of each check that raised, with --debug only."""
    import sys
    import traceback

    from rabb_cli.context import options
    from rabb_cli.redact import redact

    if not options.debug:
        return
    for result in results:
        if result.exception is not None:
            text = "".join(traceback.format_exception(result.exception))
            sys.stderr.write(redact(text))
