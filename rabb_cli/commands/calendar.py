"""`rabb calendar`: a month of posts as a grid, coloured by status."""

from typing import Annotated

import typer

from rabb_cli.completion import complete_status, complete_week_start


def show_calendar(
    month: Annotated[
        str | None,
        typer.Argument(
            metavar="YYYY-MM",
            help="Month to show, such as 2026-09. Default: the current month in"
            " your zone.",
        ),
    ] = None,
    following: Annotated[
        str,
        typer.Option(
            "--next",
            metavar="N",
            help="Also show the N months after it (0 to 12 months).",
        ),
    ] = "0",
    week_start: Annotated[
        str | None,
        typer.Option(
            "--week-start",
            metavar="monday|sunday",
            help="First day of the week (default: week_start in config.toml,"
            " else monday).",
            autocompletion=complete_week_start,
        ),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="Show only posts with this status (draft, scheduled, publishing,"
            " published, partial, failed). Repeat for more.",
            autocompletion=complete_status,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the month as JSON (a list of months with --next) instead of"
            " a grid.",
        ),
    ] = False,
) -> None:
    """Show a month of posts as a coloured grid.

    Each post shows in the cell of its day with a status marker, its id and the
    start of its text, coloured by status.
    """
    from rabb_cli import calendar
    from rabb_cli.calendar_view import loading_status, print_calendar
    from rabb_cli.context import get_context
    from rabb_cli.output import print_json
    from rabb_cli.status import parse_status

    context = get_context()
    zone = context.zone
    today = context.now().astimezone(zone).date()
    first_day = (
        calendar.parse_month(month) if month is not None else today.replace(day=1)
    )
    firsts = calendar.month_sequence(first_day, calendar.parse_count(following))
    if week_start is None:
        week_start = context.config.get("week_start")
    start = calendar.parse_week_start(week_start)
    statuses = [parse_status(value) for value in status or []]

    # Importing the database libraries takes the same time on every run, so only
    # the part that can stall (a locked or slow database) gets the spinner.
    import rabb_cli.store  # noqa: F401

    with loading_status("Loading the calendar…", enabled=not json_output):
        months = calendar.load_months(context.store, firsts, start, zone, statuses)

    if not json_output:
        print_calendar(months, today=today, zone=zone, statuses=statuses)
    elif len(firsts) > 1:
        print_json([calendar.month_to_json(item, zone) for item in months])
    else:
        print_json(calendar.month_to_json(months[0], zone))
