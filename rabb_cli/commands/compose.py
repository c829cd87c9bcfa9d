"""`rabb compose` and `rabb schedule`: write posts and give them a time."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from rabb_cli.commands.common import (
    AtOption,
    JsonOption,
    MediaOption,
    PlatformOption,
    TextForOption,
    reject_empty_text_for,
    resolve_at,
    same_command,
)
from rabb_cli.completion import complete_post_id

if TYPE_CHECKING:
    from rabb_cli.models import Post


def compose(
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="TEXT",
            help="Post text. '-' reads stdin; without it, piped stdin or $EDITOR.",
        ),
    ] = None,
    platform: PlatformOption = None,
    media: MediaOption = None,
    text_for: TextForOption = None,
    json_output: JsonOption = False,
) -> None:
    """Save a new draft post and print its id."""
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.textinput import post_text

    platforms = _required_platforms(platform)
    reject_empty_text_for(text_for or [])
    with post_text(text, rerun=same_command) as body:
        content = posts.build_content(body, platforms, media or [], text_for or [])
        context = get_context()
        post = posts.create_post(context.store, content)
    _report(post, json_output, f"Draft {post.id} saved for {_targets(post)}.")


def schedule(
    at: AtOption,
    post: Annotated[
        str | None,
        typer.Argument(
            metavar="ID_OR_TEXT",
            help="Id of a draft to schedule, or, with -p, the text of a new post"
            " ('-' reads stdin).",
            autocompletion=complete_post_id,
        ),
    ] = None,
    platform: PlatformOption = None,
    media: MediaOption = None,
    text_for: TextForOption = None,
    json_output: JsonOption = False,
) -> None:
    """Schedule a draft, or a new post in one step.

    With -p, the argument is the text of a new post, composed and scheduled at
    once. Without -p, it is the id of a draft to schedule.
    """
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.errors import InvalidInput
    from rabb_cli.textinput import post_text

    context = get_context()
    when = resolve_at(at)

    if platform:
        _reject_bare_number(post)
        reject_empty_text_for(text_for or [])
        with post_text(post, rerun=same_command) as body:
            content = posts.build_content(body, platform, media or [], text_for or [])
            stored = posts.create_post(context.store, content, scheduled_for=when)
    else:
        if media or text_for:
            draft = _post_id_text(post)
            raise InvalidInput(
                f"--media and --text-for cannot change draft {draft} while"
                " scheduling it",
                f"add them first with 'rabb edit {draft} --media URL' or"
                f" 'rabb edit {draft} --text-for PLATFORM=TEXT', then run"
                f" 'rabb schedule {draft} --at WHEN'",
            )
        stored = posts.schedule_post(context.store, _post_id(post), when)
    _report(
        stored,
        json_output,
        f"Post {stored.id} scheduled for {_local_and_utc(when)} on {_targets(stored)}.",
    )


def _reject_bare_number(text: str | None) -> None:
    """Raise InvalidInput when the text of a new post is only a number.

    `rabb schedule 1 -p bluesky` reads like scheduling draft 1, but with -p its
    argument is the text of a new post, which would be published as "1".
    """
    from rabb_cli.errors import InvalidInput

    if text is None or not (text.strip().isascii() and text.strip().isdigit()):
        return
    number = text.strip()
    raise InvalidInput(
        f"{text!r} looks like the id of a draft, but with -p it would be the text"
        " of a new post",
        f"to schedule draft {number}, drop -p: 'rabb schedule {number} --at WHEN'"
        f" (change its platforms with 'rabb edit {number} -p PLATFORM'). To post"
        f" the number as text, pipe it in: echo {number} | rabb schedule - -p"
        " PLATFORM --at WHEN",
    )


def _post_id_text(value: str | None) -> str:
    """Return the draft id as typed, or ID when the argument is not a number."""
    if value is not None and value.strip().isascii() and value.strip().isdigit():
        return value.strip()
    return "ID"


def _post_id(value: str | None) -> int:
    from rabb_cli.errors import InvalidInput

    if value is None or not value.strip().isdigit():
        shown = "nothing" if value is None else repr(value)
        raise InvalidInput(
            f"expected a post id, got {shown}",
            "give the id of a draft, or add -p PLATFORM to schedule new text",
        )
    return int(value)


def _required_platforms(values: list[str] | None) -> list[str]:
    from rabb_cli.errors import InvalidInput
    from rabb_cli.textrules import platform_names

    if not values:
        raise InvalidInput(
            "missing -p PLATFORM", f"name at least one of {platform_names()}"
        )
    return values


def _targets(post: "Post") -> str:
    return ", ".join(target.selector for target in post.targets)


def _local_and_utc(when: datetime) -> str:
    from rabb_cli.context import get_context
    from rabb_cli.timeparse import format_local, format_utc

    return f"{format_local(when, get_context().zone)} ({format_utc(when)})"


def _report(post: "Post", json_output: bool, message: str) -> None:
    from rabb_cli.output import post_to_json, print_json

    if json_output:
        print_json(post_to_json(post))
    else:
        typer.echo(message)
