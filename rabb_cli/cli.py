"""The `rabb` entry point: runs the Typer app and turns every error into one line.

Errors print as `rabb: error: ...` on stderr with the exit code of their type. A
traceback appears only with `--debug` (or `RABB_DEBUG=1`), passes through the key
redaction, and never shows local variables.

`rabb run-due` with nothing due has a fast path. cron or a timer starts it every
minute, and importing Typer alone takes longer than the whole check, so the fast
path records and reports an empty run before Typer is imported. Anything it cannot
decide (other options, work due, no database yet, a config error, a lock held too
long) goes on to the Typer app, which does the same work or reports the error.
"""

import os
import sys
from collections.abc import Sequence

from rabb_cli.errors import ExitCode, RabbError
from rabb_cli.redact import redact

# The options the fast path accepts before and after `run-due`. Others, such as
# --help or --version, go to the Typer app.
FAST_GLOBAL_OPTIONS = frozenset({"--debug", "-v", "--verbose", "--no-color"})
FAST_RUN_DUE_OPTIONS = frozenset({"--json", "-v", "--verbose", "--dry-run"})
# Seconds the fast path waits for another process's write lock before it leaves
# the run to the Typer app, which waits the full busy timeout.
FAST_PATH_BUSY_TIMEOUT = 2.0


def main(argv: Sequence[str] | None = None) -> None:
    """Run rabb with `argv` (default: the process arguments) and exit."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


def run(args: list[str], *, fast_path: bool = True) -> int:
    """Run one command and return its exit code.

    With `fast_path` off, `run-due` always goes through the Typer app; tests use
    that to compare both paths.
    """
    undecodable = _undecodable_argument(args)
    if undecodable is not None:
        sys.stderr.write(f"rabb: error: {undecodable}\n")
        return ExitCode.INVALID_INPUT
    code = run_due_fast(args) if fast_path else None
    if code is not None:
        return code
    return _run_app(args)


def _undecodable_argument(args: list[str]) -> str | None:
    """Describe the first argument that is not valid UTF-8, or return None.

    Python decodes such bytes to lone surrogates, which cannot be stored or
    printed, so rabb rejects them before any command runs.
    """
    for position, argument in enumerate(args, start=1):
        if any("\udc80" <= char <= "\udcff" for char in argument):
            raw = os.fsencode(argument)
            return (
                f"argument {position} ({raw!r}) is not valid UTF-8. Convert it to"
                " UTF-8, or pass post text on stdin, which rabb decodes as UTF-8."
            )
    return None


def run_due_fast(args: list[str]) -> int | None:
    """Finish `rabb run-due` when nothing is due and return the exit code.

    Returns None, having printed and recorded nothing, when `args` are not a plain
    `run-due` or the run needs the Typer app.
    """
    request = _fast_run_due_options(args)
    if request is None or os.environ.get("_RABB_COMPLETE"):
        return None
    json_output, dry_run = request
    _set_debug(args)
    try:
        return _finish_empty_run(json_output, dry_run)
    except (KeyboardInterrupt, Exception) as error:
        return _report_failure(error)


def _fast_run_due_options(args: list[str]) -> tuple[bool, bool] | None:
    """Return (--json, --dry-run) for a plain `run-due` command line, else None."""
    if "run-due" not in args:
        return None
    position = args.index("run-due")
    before, after = set(args[:position]), set(args[position + 1 :])
    if not before <= FAST_GLOBAL_OPTIONS or not after <= FAST_RUN_DUE_OPTIONS:
        return None
    return "--json" in after, "--dry-run" in after


def _finish_empty_run(json_output: bool, dry_run: bool) -> int | None:
    from datetime import UTC, datetime

    from rabb_cli.config import load_config
    from rabb_cli.paths import resolve_paths
    from rabb_cli.publish.empty_run import print_empty_run, settle_empty_run
    from rabb_cli.publish.settings import PublishSettings, require_publisher_ready

    try:
        paths = resolve_paths()
        settings = PublishSettings.from_config(load_config(paths))
        if not dry_run:
            require_publisher_ready(settings)
        run = settle_empty_run(
            paths.database,
            settings,
            datetime.now(UTC),
            dry_run=dry_run,
            busy_timeout=FAST_PATH_BUSY_TIMEOUT,
        )
    except Exception:  # Any doubt goes to the Typer app.
        # Nothing was recorded. The Typer app runs the same steps again and
        # reports the error in its usual way.
        return None
    if run is None:
        return None

    print_empty_run(run, datetime.now(UTC), json_output)
    return ExitCode.OK


def _run_app(args: list[str]) -> int:
    import typer

    _set_debug(args)
    try:
        from rabb_cli.app import app
        from rabb_cli.context import options
        from rabb_cli.helptext import use_plain_arguments
        from rabb_cli.startup import skip_flag_conversion

        options.arguments = tuple(args)
        command = typer.main.get_command(app)
        skip_flag_conversion(command)
        use_plain_arguments(command)
        # Click's protocol: the shell's completion script sets _RABB_COMPLETE.
        if os.environ.get("_RABB_COMPLETE"):
            from rabb_cli.shells import prepare_completion

            prepare_completion(command)
        result = command.main(args=args, prog_name="rabb", standalone_mode=False)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except RabbError as error:
        _report(str(error), error)
        return error.exit_code
    except typer.TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            # `rabb` or `rabb timer` alone: show the help as help, not as an error.
            sys.stderr.write(error.format_message().rstrip("\n") + "\n")
            return error.exit_code
        # Usage errors from the command-line parser (unknown option, bad value).
        _report(_usage_message(error), error)
        return error.exit_code
    except typer.Abort:
        sys.stderr.write("rabb: aborted\n")
        return ExitCode.FAILURE
    except (KeyboardInterrupt, Exception) as error:
        return _report_failure(error)


def _report_failure(error: BaseException) -> int:
    """Report an interrupt, a closed stdout or an unexpected error; return the code."""
    if isinstance(error, KeyboardInterrupt):
        sys.stderr.write("rabb: interrupted\n")
        return 130
    if isinstance(error, BrokenPipeError):
        # The reader of stdout went away (for example `rabb list | head`).
        _silence_stdout()
        return ExitCode.FAILURE
    # The last line of defence: one line, no traceback.
    _report(_internal_error_message(error), error)
    return ExitCode.FAILURE


def _set_debug(args: list[str]) -> None:
    from rabb_cli.context import options

    debug_variable = os.environ.get("RABB_DEBUG", "")
    options.debug = "--debug" in args or debug_variable not in ("", "0")


def _internal_error_message(error: BaseException) -> str:
    from rabb_cli.context import options

    # SQLAlchemy's text repeats the SQL and its parameters, which may contain post
    # text, so the driver's own message is shown instead.
    detail = getattr(error, "orig", None) or error
    message = f"internal error: {type(detail).__name__}: {detail}"
    if not options.debug:
        message += " (run again with --debug for the traceback)"
    return message


def _usage_message(error: Exception) -> str:
    message = error.format_message() if hasattr(error, "format_message") else str(error)
    message = " ".join(str(message).split())
    context = getattr(error, "ctx", None)
    command_path = getattr(context, "command_path", None) or "rabb"
    # Click's "Did you mean 'compose'?" ends with its own punctuation.
    message = message.rstrip(".")
    if not message.endswith(("?", "!")):
        message += "."
    return f"{message} See '{command_path} --help'."


def _report(message: str, error: BaseException) -> None:
    from rabb_cli.context import options

    if options.debug:
        import traceback

        text = "".join(traceback.format_exception(error))
        sys.stderr.write(redact(text))
    from rabb_cli.output import printable

    # Messages quote values from the user and from Late, such as account names,
    # so control characters appear as escapes and cannot act on the terminal.
    one_line = printable(redact(message), one_line=True)
    sys.stderr.write(f"rabb: error: {one_line}\n")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
