"""`rabb config show`: every setting, its value and where the value comes from."""

from datetime import timedelta
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Show rabb's settings.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("show")
def show(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the settings as JSON.")
    ] = False,
) -> None:
    """Show every setting, its value and source.

    Keys are masked. Durations print as config.toml takes them, such as 24h.
    """
    from rabb_cli.config import SETTINGS
    from rabb_cli.context import get_context
    from rabb_cli.output import print_json

    config = get_context().config
    rows = [
        {
            "name": setting.name,
            "value": _display_value(config.get(setting.name), setting.secret),
            "source": config.source(setting.name),
            "environment": list(setting.env),
            "help": setting.help,
        }
        for setting in SETTINGS
    ]
    if json_output:
        print_json({"config_file": str(config.path), "settings": rows})
    else:
        _render(str(config.path), rows)


def _display_value(value: Any, secret: bool) -> Any:
    """Return a value as shown: keys masked, durations as text such as `30s`."""
    from rabb_cli.redact import mask

    if value is None:
        return None
    if secret:
        return mask(str(value))
    if isinstance(value, timedelta):
        return duration_text(value)
    return value


def duration_text(span: timedelta) -> str:
    """Return a duration in the form config.toml takes, such as `24h` or `0.5s`."""
    from rabb_cli.timeparse import format_setting_duration

    return format_setting_duration(span)


def _render(path: str, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from rabb_cli.output import make_console

    # Into a pipe nothing is wrapped, so `grep` finds each setting on one line.
    console = make_console(wrap=False)
    # soft_wrap keeps a long path on one line, so it can be copied whole.
    console.print(Text(f"Config file: {path}"), soft_wrap=True)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("SETTING", "VALUE", "SOURCE"):
        table.add_column(name, overflow="fold")
    for row in rows:
        value = row["value"]
        if value is None:
            shown = Text("(not set)", style="bright_black")
        else:
            shown = Text(str(value).lower() if isinstance(value, bool) else str(value))
        table.add_row(Text(row["name"]), shown, Text(row["source"]))
    console.print(table)
