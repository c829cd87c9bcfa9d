"""`rabb accounts`: list the accounts connected in Late and save them for `-p`."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rabb_cli.models import Account


def accounts(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the accounts as a JSON list.")
    ] = False,
    cached: Annotated[
        bool,
        typer.Option(
            "--cached",
            help="List the accounts saved by the last fetch, without asking Late.",
        ),
    ] = False,
) -> None:
    """List the accounts connected in Late.

    Fetches them from Late and saves them, so that -p names one of them.
    """
    from rabb_cli.accounts import cached_accounts, replace_cache
    from rabb_cli.context import get_context
    from rabb_cli.output import print_json

    context = get_context()
    store = context.store
    if cached:
        with store.read() as session:
            rows = cached_accounts(session)
    else:
        rows = replace_cache(store, _fetch(), context.now())

    if json_output:
        print_json([_to_json(row, rows) for row in rows])
    else:
        _render(rows, cached)


def _fetch() -> list[Any]:
    from rabb_cli.context import get_context
    from rabb_cli.errors import ConfigError
    from rabb_cli.publish.late import LateClient
    from rabb_cli.publish.settings import PublishSettings

    settings = PublishSettings.from_config(get_context().config)
    if not settings.api_key:
        # Unlike run-due, listing accounts always asks Late, outbox or not.
        raise ConfigError(
            "no Late API key is set, and listing accounts always asks Late",
            "set LATE_API_KEY (or ZERNIO_API_KEY), or late_api_key in config.toml"
            " with mode 0600; 'rabb accounts --cached' lists the accounts saved"
            " before",
        )
    client = LateClient(settings.api_key, settings.base_url, settings.timeout)
    try:
        return client.list_accounts()
    finally:
        client.close()


def _to_json(row: "Account", rows: list["Account"]) -> dict[str, Any]:
    from rabb_cli.accounts import target_for
    from rabb_cli.output import iso

    return {
        "id": row.id,
        "platform": row.platform,
        "username": row.username,
        "display_name": row.display_name,
        "profile_id": row.profile_id,
        "active": row.active,
        "can_post": row.can_post,
        "target": target_for(row, rows),
        "fetched_at": iso(row.fetched_at),
    }


def _render(rows: list["Account"], cached: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from rabb_cli.accounts import target_for
    from rabb_cli.output import make_console, printable

    console = make_console()
    if not rows:
        if cached:
            console.print(
                "No accounts are saved yet; run 'rabb accounts' to fetch them."
            )
        else:
            console.print("No accounts are connected in Late; connect one there first.")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("TARGET (-p)", "ACCOUNT", "NAME", "STATUS", "ID"):
        table.add_column(name, overflow="fold")
    for row in rows:
        status = "can post" if row.can_post else "cannot post (reconnect in Late)"
        # Every value but the status comes from Late, so none may reach the
        # terminal raw.
        table.add_row(
            Text(printable(target_for(row, rows), one_line=True)),
            Text(printable(row.handle, one_line=True)),
            Text(printable(row.display_name or "", one_line=True)),
            Text(status, style="green" if row.can_post else "red"),
            Text(printable(row.id, one_line=True)),
        )
    console.print(table)
