"""Options and helpers shared by the command modules."""

from datetime import datetime
from typing import Annotated

import typer

from rabb_cli.completion import complete_platform, complete_post_id

PlatformOption = Annotated[
    list[str] | None,
    typer.Option(
        "--platform",
        "-p",
        help="Platform to publish to, as NAME or NAME:@account (twitter, bluesky,"
        " threads, linkedin, ...). Repeat for more.",
        autocompletion=complete_platform,
    ),
]
MediaOption = Annotated[
    list[str] | None,
    typer.Option(
        "--media",
        help="Public http(s) URL of an image, video or document to attach."
        " Repeat for more.",
    ),
]
TextForOption = Annotated[
    list[str] | None,
    typer.Option(
        "--text-for",
        metavar="PLATFORM=TEXT",
        help="Text for one platform in place of the main text. Repeat for more.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the post as JSON instead of a message.")
]
AtOption = Annotated[
    str,
    typer.Option(
        "--at",
        metavar="WHEN",
        help="Publish time: '2026-12-24 18:00' (your zone), ISO 8601 with Z or an"
        " offset, 'tomorrow 9am', 'friday 10:00', 'in 2h', '+30m'.",
    ),
]


PostId = Annotated[
    int,
    typer.Argument(
        metavar="ID",
        help="Post id, as 'rabb list' shows.",
        autocompletion=complete_post_id,
    ),
]


def resolve_at(value: str) -> datetime:
    """Parse `--at` in the user's zone, printing any warning to stderr."""
    from rabb_cli.context import get_context
    from rabb_cli.output import warn
    from rabb_cli.timeparse import parse_when

    context = get_context()
    resolved = parse_when(value, now=context.now(), zone=context.zone)
    if resolved.warning:
        warn(resolved.warning)
    return resolved.instant
