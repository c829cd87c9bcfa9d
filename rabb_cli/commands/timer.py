"""`rabb timer install`, `uninstall` and `status`: run `rabb run-due` on a schedule."""

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rabb_cli.context import AppContext
    from rabb_cli.lastrun import LastRun
    from rabb_cli.schedulers import Cron, Systemd, TimerPlan, TimerStatus
    from rabb_cli.timer import Interval

app = typer.Typer(
    name="timer",
    help="Run 'rabb run-due' on a schedule.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LINGER_HINT = (
    "User timers stop when you log out. To keep this one running, enable"
    " lingering once: loginctl enable-linger {user}"
)


@app.command("install")
def install(
    systemd: Annotated[
        bool,
        typer.Option(
            "--systemd",
            help="Install a systemd user timer (the default when 'systemctl --user'"
            " answers).",
        ),
    ] = False,
    cron: Annotated[
        bool,
        typer.Option(
            "--cron",
            help="Install a crontab line (the default without a systemd user manager).",
        ),
    ] = False,
    every: Annotated[
        str,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="Time between runs: minutes that divide an hour (1m, 5m, 15m, 30m)"
            " or hours that divide a day (1h, 6h, 24h).",
        ),
    ] = "1m",
    print_only: Annotated[
        bool,
        typer.Option("--print", help="Print what would be installed; change nothing."),
    ] = False,
) -> None:
    """Install a timer that runs 'rabb run-due'.

    A systemd user timer when 'systemctl --user' responds, else a crontab line.
    """
    from rabb_cli import schedulers
    from rabb_cli.context import get_context
    from rabb_cli.timer import parse_interval

    requested = _requested_backend(systemd, cron)
    interval = parse_interval(every)
    context = get_context()
    plan = _plan(context, interval)
    if print_only:
        shown, reason = schedulers.backend_to_print(requested)
        _warn_unpassed_settings(context)
        _print_plan(shown, plan, reason)
        return

    backend = schedulers.choose_backend(requested)
    _warn_unpassed_settings(context)
    schedulers.require_available(backend)
    changed = backend.install(plan)
    _report_install(backend, plan, changed)
    _remove_other(schedulers.other_backend(backend))


@app.command("uninstall")
def uninstall() -> None:
    """Remove the timer that 'install' added.

    Removes both the systemd user timer and rabb's crontab line, where present.
    """
    from rabb_cli.schedulers import Cron, Systemd

    removed = [backend.name for backend in (Systemd(), Cron()) if backend.uninstall()]
    if not removed:
        typer.echo("No rabb timer is installed; nothing changed.")
    if "systemd" in removed:
        typer.echo("Removed the systemd user timer rabb-run-due.timer.")
    if "cron" in removed:
        typer.echo("Removed rabb's line from your crontab.")


@app.command("status")
def status(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the status as JSON.")
    ] = False,
) -> None:
    """Show the timer, its next run and last run."""
    from rabb_cli.context import get_context
    from rabb_cli.lastrun import last_run
    from rabb_cli.schedulers import Cron, Systemd

    context = get_context()
    systemd, cron = Systemd(), Cron()
    timers = [systemd.status(), cron.status(context.now())]
    installed = [timer for timer in timers if timer is not None]
    latest = last_run(context.paths.database)

    if json_output:
        _print_status_json(installed, latest)
        return
    for timer in installed:
        _print_timer(timer, context)
    if not installed:
        _print_not_installed(systemd, cron)
    _print_last_run(latest, context)


def _requested_backend(systemd: bool, cron: bool) -> str | None:
    from rabb_cli.errors import InvalidInput

    if systemd and cron:
        raise InvalidInput("--systemd and --cron exclude each other", "give one")
    if systemd:
        return "systemd"
    return "cron" if cron else None


def _plan(context: "AppContext", interval: "Interval") -> "TimerPlan":
    import os
    import sys

    from rabb_cli import schedulers

    config = context.config
    return schedulers.build_plan(
        interval,
        context.paths,
        config.get("publish.timeout"),
        config.get("publish.concurrency"),
        os.environ,
        schedulers.rabb_program(sys.argv[0], sys.executable),
    )


def _warn_unpassed_settings(context: "AppContext") -> None:
    import os

    from rabb_cli.output import warn
    from rabb_cli.schedulers import unpassed_settings

    for variable, setting in unpassed_settings(os.environ):
        warn(
            f"{variable} is set in this shell, but the timer runs without it; set"
            f" {setting} in {context.paths.config_file} so that run-due sees it"
        )


def _print_plan(backend: "Systemd | Cron", plan: "TimerPlan", reason: str) -> None:
    """Print the crontab line or unit files, after a comment that names the back
    end, so the output can be pasted as it is."""
    import shutil

    from rabb_cli.output import warn
    from rabb_cli.schedulers import Systemd

    if not isinstance(backend, Systemd):
        if shutil.which("flock") is None:
            warn("flock is not on PATH; install util-linux before using this line")
        typer.echo(
            f"# cron, {reason}: 'rabb timer install --cron' adds this line at the"
            " end of your crontab"
        )
        typer.echo(backend.line(plan, require_flock=False))
        return
    typer.echo(
        f"# systemd, {reason}: 'rabb timer install --systemd' writes these files"
    )
    for path, text in backend.unit_files(plan).items():
        typer.echo(f"# {path}")
        typer.echo(text)
    typer.echo(
        "# Then: systemctl --user daemon-reload; systemctl --user enable"
        " rabb-run-due.timer; systemctl --user restart rabb-run-due.timer"
    )


def _report_install(
    backend: "Systemd | Cron", plan: "TimerPlan", changed: bool
) -> None:
    from rabb_cli.schedulers import Systemd

    every = plan.interval.text
    if isinstance(backend, Systemd):
        verb = "Installed" if changed else "Restarted"
        typer.echo(f"{verb} the systemd user timer rabb-run-due.timer (every {every}).")
        typer.echo(f"Unit files: {backend.unit_dir()}")
        typer.echo("Logs: journalctl --user -u rabb-run-due.service")
        _print_linger_state()
        return
    if changed:
        typer.echo(f"Added rabb's line to your crontab (every {every}).")
    else:
        typer.echo(f"Your crontab already runs rabb every {every}; nothing changed.")
    typer.echo(f"Log file: {plan.paths.log_file}")


def _print_linger_state() -> None:
    import getpass

    from rabb_cli.schedulers import linger_enabled

    user = getpass.getuser()
    if linger_enabled(user):
        typer.echo(f"Lingering is on for {user}, so the timer also runs after logout.")
    else:
        typer.echo(LINGER_HINT.format(user=user))


def _remove_other(other: "Systemd | Cron") -> None:
    if other.uninstall():
        where = "systemd user timer" if other.name == "systemd" else "crontab line"
        typer.echo(f"Removed the rabb {where} installed before, so runs never double.")


def _print_timer(timer: "TimerStatus", context: "AppContext") -> None:
    title = "systemd user timer" if timer.backend == "systemd" else "crontab line"
    state = f" ({timer.state})" if timer.state else ""
    every = f"every {timer.interval}" if timer.interval else "a schedule edited by hand"
    typer.echo(f"Timer: {title}{state}, {every}")
    typer.echo(f"  location: {timer.location}")
    typer.echo(f"  runs: {timer.command}")
    typer.echo(f"  next run: {_next_run_text(timer, context)}")
    for name, value in timer.details.items():
        typer.echo(f"  {name.replace('_', ' ')}: {value}")


def _next_run_text(timer: "TimerStatus", context: "AppContext") -> str:
    from rabb_cli.timeparse import format_duration, format_local

    if timer.next_run is None:
        return timer.next_run_text or "unknown"
    wait = format_duration(timer.next_run - context.now())
    return f"{format_local(timer.next_run, context.zone)} (in {wait})"


def _print_not_installed(systemd: "Systemd", cron: "Cron") -> None:
    typer.echo("No rabb timer is installed. Install one with 'rabb timer install'.")
    problems = [problem for problem in (systemd.probe(), cron.probe()) if problem]
    if len(problems) == 2:
        typer.echo(f"Neither back end is available here: {'; '.join(problems)}.")


def _print_last_run(latest: "LastRun | None", context: "AppContext") -> None:
    from rabb_cli.lastrun import describe_outcome
    from rabb_cli.output import printable
    from rabb_cli.timeparse import format_duration, format_local

    if latest is None:
        typer.echo("Last run: none recorded")
        return
    ago = format_duration(context.now() - latest.started_at)
    outcome = printable(describe_outcome(latest), one_line=True)
    when = format_local(latest.started_at, context.zone)
    typer.echo(f"Last run: {when} ({ago} ago): {outcome}")


def _print_status_json(timers: "list[TimerStatus]", latest: "LastRun | None") -> None:
    from rabb_cli.output import iso, print_json

    print_json(
        {
            "installed": bool(timers),
            "timers": [
                {
                    "backend": timer.backend,
                    "interval": timer.interval,
                    "state": timer.state,
                    "next_run": iso(timer.next_run),
                    "location": timer.location,
                    "command": timer.command,
                    "details": timer.details,
                }
                for timer in timers
            ],
            "last_run": None if latest is None else _last_run_json(latest),
        }
    )


def _last_run_json(latest: "LastRun") -> dict[str, object]:
    from dataclasses import asdict

    from rabb_cli.output import iso

    data = asdict(latest)
    data["started_at"] = iso(latest.started_at)
    data["finished_at"] = iso(latest.finished_at)
    return data
