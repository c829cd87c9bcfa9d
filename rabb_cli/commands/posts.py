"""`rabb list`, `show`, `edit`, `cancel` and `delete`: look at and change posts."""

from typing import TYPE_CHECKING, Annotated

import typer

from rabb_cli.commands.common import (
    JsonOption,
    MediaOption,
    PlatformOption,
    PostId,
    TextForEditOption,
    resolve_at,
)
from rabb_cli.completion import complete_status

if TYPE_CHECKING:
    from rabb_cli.context import AppContext
    from rabb_cli.models import Post
    from rabb_cli.posts import Changes


def list_posts(
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
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the posts as a JSON list instead of a table."
        ),
    ] = False,
    limit: Annotated[
        str | None,
        typer.Option(
            "--limit",
            "-n",
            metavar="N",
            help="Show at most N posts, the first in the listed order (a number of"
            " posts; default: all).",
        ),
    ] = None,
) -> None:
    """List posts in order of their scheduled time."""
    from rabb_cli.context import get_context
    from rabb_cli.errors import InvalidInput
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
    if lower is not None and upper is not None and upper <= lower:
        raise InvalidInput(
            f"--to {end!r} is before --from {start!r}, so no post can match",
            "give the earlier time to --from and the later one to --to",
        )

    count = _parse_limit(limit) if limit is not None else None

    store = context.store
    with store.read() as session:
        found = store.list_posts(
            session, statuses=statuses, start=lower, end=upper, limit=count
        )
        if count is not None and len(found) == count:
            total = store.count_posts(
                session, statuses=statuses, start=lower, end=upper
            )
            _note_left_out(len(found), total)
    if json_output:
        print_json([post_to_json(post) for post in found])
    else:
        render_post_list(found, context.zone)
        _print_last_run(found)


def _parse_limit(text: str) -> int:
    from rabb_cli.errors import InvalidInput

    try:
        number = int(text.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise InvalidInput(
            f"invalid --limit {text!r}: not a whole number of at least 1",
            "give the number of posts to show, such as --limit 20",
        )
    # SQLite integers stop at 2**63 - 1, and no store contains that many posts.
    return min(number, 2**63 - 1)


def _note_left_out(shown: int, total: int) -> None:
    """Say on stderr how many posts --limit left out, so pipes get posts only."""
    if total > shown:
        typer.echo(
            f"Showing {shown:,} of {total:,} posts. Raise --limit, or narrow the"
            " list with --from, --to or --status, to see the others.",
            err=True,
        )


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


def show(
    post_id: PostId,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the post, its alerts and next commands as JSON.",
        ),
    ] = False,
) -> None:
    """Show a post, its results and next commands.

    Prints the post's fields, its text and each platform's own text in full, the
    result on each platform and the commands that apply to it now.
    """
    from rabb_cli.context import get_context
    from rabb_cli.output import (
        claim_rows,
        iso,
        post_to_json,
        print_json,
        render_post_detail,
    )
    from rabb_cli.posts import lease_end, next_commands
    from rabb_cli.publish.alerts import alert_rows, alert_state_to_json, alert_states
    from rabb_cli.publish.settings import AlertSettings

    context = get_context()
    store = context.store
    with store.read() as session:
        post = store.get_post(session, post_id)
        alerts = alert_states(session, post_id)
    steps = next_commands(post)
    lease_ends = lease_end(post, context.config.get("publish.lease"))
    if json_output:
        states = [alert_state_to_json(state) for state in alerts]
        claim = {"claimed_at": iso(post.claimed_at), "lease_ends_at": iso(lease_ends)}
        print_json(
            {**post_to_json(post), **claim, "alerts": states, "next_commands": steps}
        )
    else:
        settings = AlertSettings.from_config(context.config, context.zone)
        rows = claim_rows(post, lease_ends, context.zone)
        rows += alert_rows(post, alerts, settings)
        render_post_detail(post, context.zone, steps, rows)


def edit(
    post_id: PostId,
    text: Annotated[
        str | None,
        typer.Option(
            "--text",
            "-t",
            metavar="TEXT",
            help="New text; '-' reads stdin. Without any option, piped stdin is the"
            " new text, or else $EDITOR opens.",
        ),
    ] = None,
    platform: PlatformOption = None,
    media: MediaOption = None,
    no_media: Annotated[
        bool, typer.Option("--no-media", help="Remove all media from the post.")
    ] = False,
    text_for: TextForEditOption = None,
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
    """Change a post that is not yet published.

    Changes its text, platforms, media or time. Without any option the new text
    comes from piped stdin, or else from $EDITOR on a terminal.
    """
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.errors import InvalidInput
    from rabb_cli.textinput import resolve_text
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
        scheduled_for=resolve_at(at) if at is not None else None,
    )
    nothing_else = not (platform or media or no_media or text_for or at is not None)
    # Checked here too, so the error can name the time a stopped run's claim ends.
    current = _editable_post(context, post_id)
    if text is not None:
        changes.text = resolve_text(text)
        post = posts.edit_post(context.store, post_id, changes)
    elif nothing_else:
        post = _edit_text_only(current, changes)
    else:
        post = posts.edit_post(context.store, post_id, changes)

    if json_output:
        from rabb_cli.output import post_to_json, print_json

        print_json(post_to_json(post))
    elif post.status == "published":
        # Only an edit that left out the last platform still to publish gets here.
        typer.echo(
            f"Post {post.id} updated. Every platform it goes to is published, so it"
            " is PUBLISHED now."
        )
    else:
        typer.echo(f"Post {post.id} updated.")


def _edit_text_only(current: "Post", changes: "Changes") -> "Post":
    """Replace the post's text with piped stdin or, on a terminal, the editor's."""
    import functools

    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.textinput import post_text

    store = get_context().store
    post_id = current.id
    assert post_id is not None  # Posts read from the store have an id.
    posts.require_content_editable(current)

    # Like compose: piped stdin (or none, from cron) is the new text, and an
    # editor opens only on a terminal.
    selectors = [target.selector for target in current.targets]
    rerun = functools.partial(_rerun_edit, post_id, selectors)
    with post_text(None, initial=current.text, rerun=rerun) as body:
        changes.text = body
        return posts.edit_post(store, post_id, changes)


def _rerun_edit(post_id: int, selectors: list[str]) -> str:
    """Return the command that applies saved text to the post, or to a new post
    once the post is published or deleted."""
    import shlex

    from rabb_cli.context import get_context
    from rabb_cli.errors import NotFound
    from rabb_cli.status import PostStatus

    context = get_context()
    try:
        with context.store.read() as session:
            status = context.store.get_post(session, post_id).post_status
    except NotFound:
        status = None
    if status is not None and status is not PostStatus.PUBLISHED:
        return f"rabb edit {post_id}"
    options = [part for selector in selectors for part in ("-p", selector)]
    return shlex.join(["rabb", "compose", *options])


def _editable_post(context: "AppContext", post_id: int) -> "Post":
    """Return the post, or raise InvalidInput when its status rules out an edit."""
    from rabb_cli import posts

    with context.store.read() as session:
        current = context.store.get_post(session, post_id)
    lease = context.config.get("publish.lease")
    posts.require_editable(current, lease, context.zone)
    return current


def cancel(post_id: PostId, json_output: JsonOption = False) -> None:
    """Turn a scheduled post back into a draft.

    The post keeps its planned time but is not published until scheduled again.
    """
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json, warn

    post = posts.cancel_post(get_context().store, post_id)
    if post.outcome_unknown:
        # rabb sends nothing more, but an earlier attempt may be live already.
        warn(
            f"post {post.id}: {posts.unknown_outcome_cause(post)}; check Late, or"
            f" {posts.settle_hint(post)}"
        )
    if json_output:
        print_json(post_to_json(post))
    elif post.outcome_unknown:
        typer.echo(f"Post {post.id} is a draft again; rabb sends it no more.")
    else:
        typer.echo(f"Post {post.id} is a draft again; it will not be published.")


def delete(
    post_id: PostId,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Delete without asking for confirmation."),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the deleted post as JSON."),
    ] = False,
) -> None:
    """Delete a post from the local store.

    A published copy stays online. Without --yes, rabb prompts on stderr and reads
    the reply from stdin, even when stdin is not a terminal. A post whose outcome
    is unknown (Late may have published it) is deleted only with --yes, with a
    warning. Exit status: 0 when the post is deleted, 1 when the reply is no, 2
    when stdin ends without one or --yes is missing for such a post.
    """
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.output import post_to_json, print_json, warn

    context = get_context()
    with context.store.read() as session:
        post = context.store.get_post(session, post_id)
    posts.check_deletable(post, context.config.get("publish.lease"), context.zone)
    if post.outcome_unknown and not yes:
        posts.reject_unknown_delete(post)
    if not yes and not _confirm_delete(post):
        typer.echo(f"Post {post_id} kept; nothing was deleted.", err=True)
        raise typer.Exit(1)

    deleted = posts.delete_post(context.store, post_id)
    if posts.waiting_on_late(deleted):
        warn(
            f"Late still has post {deleted.late_post_id} and may publish it; delete"
            " it in Late too if it must not go out"
        )
    elif deleted.outcome_unknown:
        warn(
            f"post {deleted.id}: {posts.unknown_outcome_cause(deleted)}; check Late"
            " and delete it there if it must not go out"
        )
    if json_output:
        print_json(post_to_json(deleted))
    else:
        typer.echo(f"Post {deleted.id} deleted.")


def _confirm_delete(post: "Post") -> bool:
    """Prompt on stderr whether to delete `post`, and return the reply from stdin.

    An empty line means no, and any other reply but y or n prompts again. Raises
    InvalidInput when stdin ends without a reply, as `</dev/null` does.
    """
    import sys

    from rabb_cli.errors import InvalidInput
    from rabb_cli.output import printable

    preview = printable(post.text, one_line=True)[:50]
    prompt = f"Delete post {post.id} ({post.post_status.label}, {preview!r})? [y/N] "
    while True:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not sys.stdin.isatty():
            # Echo the piped reply, so that the prompt ends its line in a log.
            sys.stderr.write(printable(line.strip(), one_line=True) + "\n")
        if not line:
            raise InvalidInput(
                f"no confirmation on stdin, so post {post.id} was not deleted",
                f"run 'rabb delete {post.id} --yes' to delete it without a prompt",
            )
        reply = line.strip().lower()
        if reply in ("y", "yes"):
            return True
        if reply in ("", "n", "no"):
            return False
        sys.stderr.write("Type y or n.\n")
