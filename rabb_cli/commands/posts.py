"""`rabb list`, `show`, `edit`, `cancel` and `delete`: look at and change posts."""

from typing import TYPE_CHECKING, Annotated

import typer

from rabb_cli.commands.common import (
    JsonOption,
    MediaOption,
    PlatformOption,
    PostId,
    TextForOption,
    resolve_at,
)
from rabb_cli.completion import complete_status

if TYPE_CHECKING:
    from rabb_cli.models import Post


def list_posts(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help="Show only posts with this status (draft, scheduled, publishing,"
            " published, partial, failed). Repeat for more.",
            autocompletion=complete_status,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="WHEN",
            help="Show posts scheduled at or after this date or time (your zone).",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="WHEN",
            help="Show posts scheduled up to this date (the whole day) or time.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List posts in order of their scheduled time."""
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json, render_post_list
    from rabb_cli.status import parse_status
    from rabb_cli.timeparse import parse_day_bound

    context = get_context()
    statuses = [parse_status(value) for value in status or []]
    now = context.now()
    lower = (
        parse_day_bound(start, now=now, zone=context.zone, end=False) if start else None
    )
    upper = parse_day_bound(end, now=now, zone=context.zone, end=True) if end else None

    store = context.store
    with store.read() as session:
        found = store.list_posts(session, statuses=statuses, start=lower, end=upper)
    if json_output:
        print_json([post_to_json(post) for post in found])
    else:
        render_post_list(found, context.zone)
        _print_last_run(found)


def _print_last_run(found: list["Post"]) -> None:
    """On a terminal, say when run-due last ran if a listed post awaits it."""
    import sys

    from rabb_cli.context import get_context
    from rabb_cli.output import last_run_line
    from rabb_cli.publish.due import last_run
    from rabb_cli.status import PostStatus

    waiting = (PostStatus.SCHEDULED, PostStatus.PUBLISHING)
    if not sys.stdout.isatty() or not any(p.post_status in waiting for p in found):
        return
    context = get_context()
    line = last_run_line(last_run(context.paths.database), context.zone, context.now())
    typer.echo(line)


def show(post_id: PostId, json_output: JsonOption = False) -> None:
    """Show a post in full, its per-platform results and the commands that apply."""
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json, render_post_detail
    from rabb_cli.posts import next_commands
    from rabb_cli.publish.alerts import alert_rows, alert_state_to_json, alert_states
    from rabb_cli.publish.settings import AlertSettings

    context = get_context()
    store = context.store
    with store.read() as session:
        post = store.get_post(session, post_id)
        alerts = alert_states(session, post_id)
    steps = next_commands(post)
    if json_output:
        states = [alert_state_to_json(state) for state in alerts]
        print_json({**post_to_json(post), "alerts": states, "next_commands": steps})
    else:
        settings = AlertSettings.from_config(context.config, context.zone)
        rows = alert_rows(post, alerts, settings)
        render_post_detail(post, context.zone, steps, rows)


def edit(
    post_id: PostId,
    text: Annotated[
        str | None,
        typer.Option(
            "--text",
            "-t",
            help="New text; '-' reads stdin. Without any option, $EDITOR opens.",
        ),
    ] = None,
    platform: PlatformOption = None,
    media: MediaOption = None,
    no_media: Annotated[
        bool, typer.Option("--no-media", help="Remove all media from the post.")
    ] = False,
    text_for: TextForOption = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="WHEN",
            help="New publish time, in the forms 'rabb schedule --at' takes.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change the text, platforms, media or time of a post not yet published."""
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.errors import InvalidInput
    from rabb_cli.textinput import edit_text, resolve_text
    from rabb_cli.textrules import parse_media, parse_targets

    if media and no_media:
        raise InvalidInput(
            "--media and --no-media contradict each other", "give one of them"
        )
    context = get_context()
    changes = posts.Changes(
        targets=parse_targets(platform) if platform else None,
        custom_texts=posts.parse_text_for(text_for or []),
        media=[] if no_media else [parse_media(url) for url in media or []] or None,
        scheduled_for=resolve_at(at) if at else None,
    )
    nothing_else = not (platform or media or no_media or text_for or at)
    if text is not None:
        changes.text = resolve_text(text)
    elif nothing_else:
        with context.store.read() as session:
            current = context.store.get_post(session, post_id)
        posts.require_editable(current)
        posts.require_content_editable(current)
        changes.text = edit_text(current.text)

    post = posts.edit_post(context.store, post_id, changes)
    if json_output:
        from rabb_cli.output import post_to_json, print_json

        print_json(post_to_json(post))
    else:
        typer.echo(f"Post {post.id} updated.")


def cancel(post_id: PostId, json_output: JsonOption = False) -> None:
    """Turn a scheduled post back into a draft, keeping its planned time."""
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json

    post = posts.cancel_post(get_context().store, post_id)
    if json_output:
        print_json(post_to_json(post))
    else:
        typer.echo(f"Post {post.id} is a draft again; it will not be published.")


def delete(
    post_id: PostId,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Delete without asking for confirmation."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Delete a post from the local store (a published copy stays online)."""
    import sys

    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json, printable

    context = get_context()
    if not yes and sys.stdin.isatty():
        with context.store.read() as session:
            post = context.store.get_post(session, post_id)
        preview = printable(post.text, one_line=True)[:50]
        question = f"Delete post {post_id} ({post.post_status.label}, {preview!r})?"
        if not typer.confirm(question, default=False):
            raise typer.Exit(1)

    deleted = posts.delete_post(context.store, post_id)
    if json_output:
        print_json(post_to_json(deleted))
    else:
        typer.echo(f"Post {deleted.id} deleted.")
