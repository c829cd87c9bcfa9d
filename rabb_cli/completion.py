"""TAB completion of post ids, platform names and statuses.

Every TAB press starts a new rabb process, so this module imports only the
standard library, typer and light rabb modules. Post ids come from the database
through the sqlite3 module. A database that is missing, locked or unreadable gives
no completions and no error, because a message would garble the command line.
`rabb_cli.shells` formats the results for each shell.
"""

import re
from typing import Any

import typer

# The environment variable that turns a rabb process into a completion request.
COMPLETE_VARIABLE = "_RABB_COMPLETE"
MAX_POST_IDS = 100
SNIPPET_LENGTH = 40

# Statuses of the posts that each command accepts. A command not listed here
# offers every post.
_STATUSES_BY_COMMAND = {
    "cancel": ("scheduled",),
    "edit": ("draft", "scheduled", "failed", "partial"),
    "schedule": ("draft", "scheduled"),
    "retry": ("failed", "partial"),
    "delete": ("draft", "scheduled", "published", "partial", "failed"),
}
STATUS_HELP = {
    "draft": "saved, not scheduled",
    "scheduled": "waiting for its time",
    "publishing": "being published by a run",
    "published": "published on every platform",
    "partial": "published on some platforms only",
    "failed": "failed after every attempt",
}
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def complete_post_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Return (id, status and start of text) pairs of posts whose id starts with
    `incomplete`.

    The command being completed narrows the posts, so `rabb cancel` offers only
    scheduled ones.
    """
    if incomplete and not incomplete.isdigit():
        return []
    statuses = _STATUSES_BY_COMMAND.get(ctx.info_name or "")
    rows = _read_posts(incomplete, statuses)
    return [(str(post_id), _describe(status, text)) for post_id, status, text in rows]


def complete_platform(incomplete: str) -> list[tuple[str, str]]:
    """Return (name, display name) pairs of the platforms Late publishes to."""
    from rabb_cli.textrules import PLATFORMS

    return [(name, platform.label) for name, platform in PLATFORMS.items()]


def complete_week_start(incomplete: str) -> list[str]:
    """Return the days a week may start on."""
    return [day for day in ("monday", "sunday") if day.startswith(incomplete)]


def complete_status(incomplete: str) -> list[tuple[str, str]]:
    """Return (status, meaning) pairs for `--status`."""
    return list(STATUS_HELP.items())


def _read_posts(
    prefix: str, statuses: tuple[str, ...] | None
) -> list[tuple[int, str, str]]:
    import sqlite3

    from rabb_cli.errors import RabbError
    from rabb_cli.paths import resolve_paths

    try:
        database = resolve_paths().database
    except RabbError:
        return []  # Completion never fails loudly; the command itself will say why.
    if not database.is_file():
        return []
    query = "SELECT id, status, substr(text, 1, 200) FROM post WHERE id LIKE ?"
    parameters: list[Any] = [f"{prefix}%"]
    if statuses:
        query += f" AND status IN ({', '.join('?' * len(statuses))})"
        parameters += statuses
    query += f" ORDER BY id DESC LIMIT {MAX_POST_IDS}"

    # mode=rw never creates a missing file. Unlike mode=ro, it lets the
    # connection remove the WAL files on close, as every other rabb command does.
    uri = f"{database.absolute().as_uri()}?mode=rw"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=0.2)
        try:
            return list(connection.execute(query, parameters))
        finally:
            connection.close()
    except (sqlite3.Error, OSError):
        return []


def _describe(status: str, text: str) -> str:
    snippet = one_line(text)
    if len(snippet) > SNIPPET_LENGTH:
        snippet = snippet[: SNIPPET_LENGTH - 1].rstrip() + "…"
    return f"{status.upper()} {snippet}"


def one_line(text: str) -> str:
    """Return `text` on one line, with control characters made spaces."""
    return _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
