"""The Typer application: global options and the list of commands."""

from typing import Annotated

import typer

from rabb_cli import __version__
from rabb_cli.commands import accounts, compose, config, posts, run_due
from rabb_cli.commands import timer as timer_commands
from rabb_cli.commands.calendar import show_calendar
from rabb_cli.commands.doctor import doctor
from rabb_cli.commands.notify import notify
from rabb_cli.commands.retry import retry

app = typer.Typer(
    name="rabb",
    help="Write, schedule and publish social-media posts from the terminal.",
    no_args_is_help=True,
    # Plain help text: rendering it with Rich would double the start-up time.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"rabb {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Log HTTP requests and show tracebacks (keys masked)."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option("--no-color", help="Print without colour or other styles."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Write, schedule and publish social-media posts from the terminal."""
    from rabb_cli.context import options
    from rabb_cli.logs import setup_logging

    options.debug = options.debug or debug
    options.verbose = options.verbose or verbose
    options.no_color = options.no_color or no_color
    setup_logging(debug=options.debug, verbose=options.verbose)


app.command("compose")(compose.compose)
app.command("schedule")(compose.schedule)
app.command("list")(posts.list_posts)
app.command("show")(posts.show)
app.command("edit")(posts.edit)
app.command("cancel")(posts.cancel)
app.command("delete")(posts.delete)
app.command("run-due")(run_due.run_due)
app.command("accounts")(accounts.accounts)
app.add_typer(config.app, name="config")
app.command("calendar")(show_calendar)
app.add_typer(timer_commands.app, name="timer")
app.command("doctor")(doctor)
app.command("retry")(retry)
app.command("notify")(notify)
