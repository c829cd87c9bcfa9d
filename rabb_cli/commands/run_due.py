"""`rabb run-due`: publish every post whose time has come; cron runs it."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rabb_cli.context import AppContext
    from rabb_cli.publish.settings import PublishSettings
    from rabb_cli.publish.stopping import StopNow


def run_due(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show what would be published; send and change nothing."
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the run and each post's outcome as JSON."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
) -> None:
    """Publish every post that is due.

    Meant to run from cron or a systemd timer ('rabb timer install'). Exit status
    3 when a post ends FAILED or PARTIAL.
    """
    from rabb_cli.context import get_context, options
    from rabb_cli.errors import RabbError
    from rabb_cli.logs import setup_logging
    from rabb_cli.publish.due import record_failed_run
    from rabb_cli.publish.settings import PublishSettings, require_publisher_ready
    from rabb_cli.redact import redact

    if verbose and not options.verbose:
        options.verbose = True
        setup_logging(debug=options.debug, verbose=True)
    context = get_context()
    settings = PublishSettings.from_config(context.config)
    started = context.now()
    if not dry_run:
        try:
            require_publisher_ready(settings)
        except RabbError as error:
            # Recorded, so that `rabb timer status` and `rabb doctor` show why
            # cron's runs publish nothing.
            record_failed_run(
                context.paths.database,
                started,
                redact(error.message),
                settings.publisher,
            )
            raise

    # The cheap path: nothing due is found and recorded with sqlite3 alone.
    if _nothing_due(context, settings, started, dry_run, json_output):
        return
    _run_engine(context, settings, dry_run, json_output)


def _nothing_due(
    context: "AppContext",
    settings: "PublishSettings",
    started: datetime,
    dry_run: bool,
    json_output: bool,
) -> bool:
    """Report a run that finds nothing due and return True, using sqlite3 alone.

    The run is recorded unless it is a dry run. Returns False, having done nothing,
    when work is due or the store must open the database first.
    """
    from rabb_cli.publish.empty_run import print_empty_run, settle_empty_run

    database = context.paths.database
    run = settle_empty_run(database, settings, started, dry_run=dry_run)
    if run is None:
        return False
    print_empty_run(run, context.now(), json_output)
    return True


def _run_engine(
    context: "AppContext",
    settings: "PublishSettings",
    dry_run: bool,
    json_output: bool,
) -> None:
    from rabb_cli.errors import ExitCode
    from rabb_cli.output import print_json
    from rabb_cli.publish.engine import run_due as run_engine
    from rabb_cli.publish.plan import plan_run
    from rabb_cli.publish.render import render_report
    from rabb_cli.publish.report import report_to_json
    from rabb_cli.publish.settings import AlertSettings
    from rabb_cli.publish.stopping import StopNow

    if dry_run:
        report = plan_run(context.store, settings, context.now())
    else:
        alerts = AlertSettings.from_config(context.config, context.zone)
        try:
            report = run_engine(
                context.store, settings, context.paths, context.now, alerts
            )
        except StopNow as stop:
            _stop_now(stop)
    if json_output:
        print_json(report_to_json(report))
    else:
        render_report(report, context.zone, settings.max_attempts)
    if report.error is not None:
        raise report.error
    if report.stopped_by is not None:
        # The shell's convention for a process stopped by a signal.
        raise typer.Exit(128 + report.stopped_by)
    if report.failed_posts():
        raise typer.Exit(ExitCode.POST_FAILED)


def _stop_now(stop: "StopNow") -> NoReturn:
    """Exit at once after a second stop signal, without waiting for the requests.

    Python joins the publishing threads at exit, which would wait for the
    requests in flight. Their posts stay claimed with an unknown outcome, and a
    later run settles them with the same idempotency key once the lease ends.
    """
    import os
    import sys

    sys.stderr.write(f"rabb: {stop}\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # The shell's convention for a process stopped by a signal.
    os._exit(128 + stop.signal_number)
