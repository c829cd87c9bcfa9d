"""`rabb retry`: schedule FAILED and PARTIAL posts again."""

from typing import TYPE_CHECKING, Annotated

import typer

from rabb_cli.commands.common import parse_post_id, resolve_at
from rabb_cli.completion import complete_post_id

if TYPE_CHECKING:
    from datetime import tzinfo

    from rabb_cli.posts import RetryPlan, SettledPost


def retry(
    post_ids: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="ID",
            help="Ids of FAILED or PARTIAL posts, as 'rabb list' shows.",
            autocompletion=complete_post_id,
            parser=parse_post_id,
            show_default=False,
        ),
    ] = None,
    all_failed: Annotated[
        bool,
        typer.Option("--all-failed", help="Retry every FAILED and PARTIAL post."),
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="WHEN",
            help="Publish time, in the forms 'rabb schedule --at' takes"
            " (default: now).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would be retried; change nothing."),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the plan of each retried post as JSON."),
    ] = False,
    confirm_unpublished: Annotated[
        bool,
        typer.Option(
            "--confirm-unpublished",
            help="Confirm that you checked Late and the post is not there. Needed"
            " for a post whose unanswered attempt is more than 23 hours old.",
        ),
    ] = False,
) -> None:
    """Send FAILED or PARTIAL posts again.

    Schedules them again, now or at --at. Only the platforms that failed are sent.
    """
    from rabb_cli import posts
    from rabb_cli.context import get_context
    from rabb_cli.errors import InvalidInput

    if post_ids and all_failed:
        raise InvalidInput(
            "post ids and --all-failed contradict each other", "give one of them"
        )
    if not post_ids and not all_failed:
        raise InvalidInput(
            "no post to retry",
            "give the ids of FAILED or PARTIAL posts, or --all-failed",
        )
    context = get_context()
    when = resolve_at(at) if at is not None else context.now()
    result = posts.retry_posts(
        context.store,
        None if all_failed else post_ids,
        when,
        dry_run=dry_run,
        confirm_unpublished=confirm_unpublished,
    )
    if json_output:
        from rabb_cli.output import print_json

        print_json(
            {
                "dry_run": dry_run,
                "posts": [_plan_to_json(plan) for plan in result.plans],
                "skipped": [_settled_to_json(post) for post in result.settled],
            }
        )
    else:
        _render_settled(result.settled, dry_run)
        _render(result.plans, context.zone, dry_run, bool(result.settled))


def _render_settled(settled: list["SettledPost"], dry_run: bool) -> None:
    for post in settled:
        platforms = ", ".join(post.published)
        if dry_run:
            typer.echo(
                f"Would not retry post {post.post_id}: it is published on every"
                f" platform it goes to ({platforms}), so it would be marked PUBLISHED."
            )
        else:
            typer.echo(
                f"Post {post.post_id} is not retried: it is published on every"
                f" platform it goes to ({platforms}), so it is PUBLISHED now."
            )


def _render(
    plans: list["RetryPlan"], zone: "tzinfo", dry_run: bool, skipped: bool
) -> None:
    from rabb_cli.output import warn
    from rabb_cli.timeparse import format_local

    if not plans:
        if not skipped:
            typer.echo("No post is FAILED or PARTIAL; nothing to retry.")
        elif dry_run:
            typer.echo("Dry run: nothing was changed.")
        return
    for plan in plans:
        when = format_local(plan.scheduled_for, zone)
        if dry_run:
            start = f"Would schedule post {plan.post_id}"
        else:
            start = f"Post {plan.post_id} is scheduled"
        typer.echo(f"{start} again for {when}: {_method(plan)}")
        if plan.outcome_unknown and plan.late_post_id:
            warn(
                f"Late may still publish post {plan.post_id}: a request to Late got"
                " no answer, or Late had not finished publishing it. The retry asks"
                f" Late to retry its post {plan.late_post_id}, which Late rejects"
                " while that post is publishing or once it is no longer failed"
            )
        elif plan.outcome_unknown:
            warn(
                f"an earlier attempt at post {plan.post_id} got no answer, so Late"
                " may have published it. The retry sends that attempt's idempotency"
                " key again, and Late returns the post it has instead of publishing"
                " it twice, but only for 24 hours after the attempt: after that,"
                " check Late first"
            )
        elif plan.confirmed_unpublished:
            warn(
                f"post {plan.post_id} is sent with a new idempotency key, as you"
                " confirmed that Late did not publish its unanswered attempt"
            )
    if dry_run:
        typer.echo("Dry run: nothing was changed.")
    elif len(plans) == 1:
        typer.echo("'rabb run-due' publishes it when it is due.")
    else:
        typer.echo("'rabb run-due' publishes them when they are due.")


def _method(plan: "RetryPlan") -> str:
    """Return how the post goes out again, and what stays as it is."""
    retried = ", ".join(plan.retried)
    if plan.late_post_id:
        text = f"Late retries its post {plan.late_post_id} on {retried}"
    else:
        text = f"{retried} with idempotency key {plan.idempotency_key}"
    if plan.published:
        text += f"; {', '.join(plan.published)} stays published and is not sent again"
    return text + "."


def _settled_to_json(post: "SettledPost") -> dict[str, object]:
    return {
        "id": post.post_id,
        "reason": "published on every platform",
        "published": post.published,
    }


def _plan_to_json(plan: "RetryPlan") -> dict[str, object]:
    from rabb_cli.output import iso

    return {
        "id": plan.post_id,
        "previous_status": plan.previous_status.value,
        "scheduled_for": iso(plan.scheduled_for),
        "retried": plan.retried,
        "published": plan.published,
        "method": "late_retry" if plan.late_post_id else "create_post",
        "late_post_id": plan.late_post_id,
        "idempotency_key": plan.idempotency_key,
        "outcome_unknown": plan.outcome_unknown,
    }
