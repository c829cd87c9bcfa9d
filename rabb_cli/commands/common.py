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
        metavar="PLATFORM",
        help="Platform to publish to, as NAME or NAME:@account (twitter, bluesky,"
        " threads, linkedin, ...). Repeat for more.",
        autocompletion=complete_platform,
    ),
]
MediaOption = Annotated[
    list[str] | None,
    typer.Option(
        "--media",
        metavar="URL",
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
TextForEditOption = Annotated[
    list[str] | None,
    typer.Option(
        "--text-for",
        metavar="PLATFORM=TEXT",
        help="Text for one platform in place of the main text; an empty TEXT"
        " removes it. Repeat for more.",
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


def parse_post_id(value: str) -> int:
    """Parse a post id argument, or raise InvalidInput naming the value."""
    from rabb_cli.errors import InvalidInput

    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput(
            f"{value!r} is not a post id, because a post id is a whole number",
            "use the number in the ID column of 'rabb list'",
        )
    return int(text)


PostId = Annotated[
    int,
    typer.Argument(
        metavar="ID",
        help="Post id, as 'rabb list' shows.",
        autocompletion=complete_post_id,
        parser=parse_post_id,
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


def same_command() -> str:
    """Return the running command line, quoted for a POSIX shell."""
    import shlex

    from rabb_cli.context import options

    return shlex.join(["rabb", *options.arguments])


def reject_empty_text_for(values: list[str]) -> None:
    """Raise InvalidInput for `--text-for PLATFORM=` with no text after `=`.

    On a new post an empty text is a mistake. Only `rabb edit` takes it, to remove
    a platform's own text.
    """
    from rabb_cli.errors import InvalidInput

    for value in values:
        name, separator, text = value.partition("=")
        if separator and not text.strip():
            raise InvalidInput(
                f"--text-for {value!r} gives {name.strip() or 'a platform'} an"
                " empty text",
                f"write the text after '=', or leave out --text-for {name.strip()}."
                " An empty text only makes sense on 'rabb edit', where it removes"
                " a platform's own text",
            )
