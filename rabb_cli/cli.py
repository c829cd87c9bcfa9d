"""The `rabb` entry point: runs the Typer app and turns every error into one line.

Errors print as `rabb: error: ...` on stderr with the exit code of their type. A
traceback appears only with `--debug` (or `RABB_DEBUG=1`), passes through the key
redaction, and never shows local variables.
"""

import os
import sys
from collections.abc import Sequence

from rabb_cli.errors import ExitCode, RabbError
from rabb_cli.redact import redact


def main(argv: Sequence[str] | None = None) -> None:
    """Run rabb with `argv` (default: the process arguments) and exit."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


def run(args: list[str]) -> int:  # noqa: PLR0911 - one return per error kind.
    """Run one command and return its exit code."""
    import typer

    from rabb_cli.context import options

    debug_variable = os.environ.get("RABB_DEBUG", "")
    options.debug = "--debug" in args or debug_variable not in ("", "0")
    try:
        from rabb_cli.app import app
        from rabb_cli.startup import skip_flag_conversion

        command = typer.main.get_command(app)
        skip_flag_conversion(command)
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
        # Usage errors from the command-line parser (unknown option, bad value).
        _report(_usage_message(error), error)
        return error.exit_code
    except typer.Abort:
        sys.stderr.write("rabb: aborted\n")
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("rabb: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (for example `rabb list | head`).
        _silence_stdout()
        return ExitCode.FAILURE
    except Exception as error:  # The last line of defence: one line, no traceback.
        message = f"internal error: {type(error).__name__}: {error}"
        if not options.debug:
            message += " (run again with --debug for the traceback)"
        _report(message, error)
        return ExitCode.FAILURE


def _usage_message(error: Exception) -> str:
    message = error.format_message() if hasattr(error, "format_message") else str(error)
    message = " ".join(str(message).split())
    context = getattr(error, "ctx", None)
    command_path = getattr(context, "command_path", None) or "rabb"
    return f"{message.rstrip('.')}. See '{command_path} --help'."


def _report(message: str, error: BaseException) -> None:
    from rabb_cli.context import options

    if options.debug:
        import traceback

        text = "".join(traceback.format_exception(error))
        sys.stderr.write(redact(text))
    one_line = " ".join(redact(message).split())
    sys.stderr.write(f"rabb: error: {one_line}\n")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
