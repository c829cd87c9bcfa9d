"""Everything commands print: JSON, Rich tables and panels, warnings and errors.

Post text is user content. It is always wrapped in `rich.text.Text` (never parsed as
markup) and its control characters are made visible, so text such as `[red]` or an
escape sequence prints as written and cannot restyle or move the terminal.
"""

import json
import os
import sys
import unicodedata
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from rabb_cli.context import colour_enabled
from rabb_cli.status import PostStatus
from rabb_cli.textwidth import cut, display_width, fit
from rabb_cli.timeparse import format_local, format_utc

if TYPE_CHECKING:
    from rich.console import Console

    from rabb_cli.models import Post
    from rabb_cli.publish.due import RunSummary

STATUS_STYLES = {
    PostStatus.DRAFT: "bright_black",
    PostStatus.SCHEDULED: "blue",
    PostStatus.PUBLISHING: "cyan",
    PostStatus.PUBLISHED: "green",
    PostStatus.PARTIAL: "yellow",
    PostStatus.FAILED: "red",
}
LIST_COLUMNS = ("ID", "STATUS", "WHEN", "PLATFORMS", "TEXT")
# The columns `rabb list` leaves out, in this order, when the terminal is narrow.
LIST_DROP_ORDER = ("PLATFORMS", "WHEN")
MIN_LIST_TEXT_WIDTH = 10
MAX_PLATFORMS_WIDTH = 24
# The width of output that is not a terminal when a command turns wrapping off.
UNWRAPPED_WIDTH = 100_000
# The width when neither COLUMNS nor a terminal gives one.
DEFAULT_WIDTH = 80
# The narrowest width output is laid out in, even on a narrower terminal.
MIN_WIDTH = 20
# Bidirectional overrides can make text display in an order other than stored.
_BIDI_CONTROLS = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def make_console(stderr: bool = False, *, wrap: bool = True) -> "Console":
    """Return a Rich console that uses colour only when `colour_enabled` allows.

    Off a terminal, lines carry no trailing spaces (Rich pads table cells to the
    column width), and with `wrap` off they have no width limit, so text and URLs
    print whole instead of being folded at 80 columns.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = _is_terminal(stream)
    target: Any = stream if terminal else _LineEndTrimmer(stream)
    width = terminal_width(stream) if terminal or wrap else UNWRAPPED_WIDTH
    if colour_enabled(stream):
        return Console(file=target, highlight=False, width=width)
    # color_system=None drops every style, bold included, not just the colours.
    return Console(
        file=target, highlight=False, color_system=None, emoji=False, width=width
    )


def terminal_width(stream: Any = None) -> int:
    """Return the width to lay output out in: COLUMNS, the terminal's, or 80.

    COLUMNS counts when it is a whole number of at least 1. Rich would take
    `COLUMNS=0` as a width of 0 and print nothing, so 0, like a negative or
    non-numeric value, falls back to the size of the terminal that `stream`
    (stdout by default) writes to, and then to 80. A width under MIN_WIDTH is
    raised to it, because narrower tables print blank lines or nothing at all.
    """
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    try:
        size = os.get_terminal_size((stream or sys.stdout).fileno()).columns
    except (AttributeError, OSError, ValueError):
        size = 0
    # A pseudo-terminal whose size was never set reports 0 columns.
    return max(size, MIN_WIDTH) if size > 0 else DEFAULT_WIDTH


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _LineEndTrimmer:
    """A text stream that drops the spaces before each line break it passes on.

    Spaces at the end of a write are held back until the next write shows whether
    a line break or more text follows them.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.held = ""

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        lines = (self.held + text).split("\n")
        last = lines.pop()
        kept = last.rstrip(" ")
        self.held = last[len(kept) :]
        out = "".join(line.rstrip(" ") + "\n" for line in lines) + kept
        self.stream.write(out)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def printable(text: str, *, one_line: bool = False) -> str:
    """Return `text` with control characters shown as `\\xNN` escapes.

    With `one_line`, line breaks and tabs become single spaces.
    """
    if one_line:
        text = " ".join(text.split())
    if text.isprintable():
        # Python counts no control or format character as printable, so there
        # is nothing to escape. This skips the loop for most texts.
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in "\n\t" and not one_line:
            out.append(char)
        elif unicodedata.category(char) == "Cc" or code in _BIDI_CONTROLS:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def print_json(data: Any) -> None:
    """Write `data` as JSON to stdout, and nothing else."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def warn(message: str) -> None:
    """Print a one-line warning to stderr, control characters made visible."""
    sys.stderr.write(f"rabb: warning: {printable(message, one_line=True)}\n")


def iso(value: datetime | None) -> str | None:
    return format_utc(value) if value else None


def post_to_json(post: "Post") -> dict[str, Any]:
    """Return the JSON form of a post: lowercase statuses, UTC times with `Z`."""
    return {
        "id": post.id,
        "status": post.status,
        "text": post.text,
        "targets": [
            {
                "platform": target.platform,
                "account": target.account,
                "account_id": target.account_id,
                "text": target.text,
                "status": target.status,
                "url": target.url,
                "error": target.error,
                "published_at": iso(target.published_at),
            }
            for target in post.targets
        ],
        "media": [dict(item) for item in post.media],
        "scheduled_for": iso(post.scheduled_for),
        "published_at": iso(post.published_at),
        "late_post_id": post.late_post_id,
        "failure_reason": post.failure_reason,
        "attempts": post.attempts,
        "failures": post.failures,
        "next_attempt_at": iso(post.next_attempt_at),
        "last_error": post.last_error,
        "late_status": post.late_status,
        "outcome_unknown": post.outcome_unknown,
        "revision": post.revision,
        "created_at": iso(post.created_at),
        "updated_at": iso(post.updated_at),
    }


def status_text(status: PostStatus) -> Any:
    from rich.text import Text

    return Text(status.label, style=STATUS_STYLES[status])


def when_text(post: "Post", zone: tzinfo) -> str:
    if post.scheduled_for is None:
        return "-"
    return format_local(post.scheduled_for, zone)


def render_post_list(posts: list["Post"], zone: tzinfo) -> None:
    """Print posts as a table: id, status, local time, platforms and text.

    On a narrow terminal PLATFORMS goes first, then WHEN, so that ID, STATUS and
    some text always fit. The lines are laid out here and printed in one piece,
    because a Rich table laid out every cell again and took seconds for 10,000
    posts (bench/list_speed.py).
    """
    from rich.text import Text

    console = make_console()
    if not posts:
        console.print("No posts match.")
        return
    rows = [_list_row(post, zone) for post in posts]
    widths = _list_widths(rows)
    shown = _list_columns(widths, console.width)
    fixed = sum(widths[name] + 2 for name in shown if name != "TEXT")
    widths["TEXT"] = max(console.width - fixed, 0)

    header = _list_line({name: name for name in shown}, shown, widths)
    lines = [header, *(_list_line(row, shown, widths) for row in rows)]
    if console.color_system is None:
        # Without styles Rich would only copy the text, at a cost per line.
        console.file.write("\n".join(lines) + "\n")
        return
    table = Text("\n".join(lines), no_wrap=True, overflow="ignore")
    table.stylize("bold", 0, len(header))
    # STATUS is always the second column, after the right-aligned ids.
    offset = len(header) + 1 + widths["ID"] + 2
    for post, line in zip(posts, lines[1:], strict=True):
        table.stylize(
            STATUS_STYLES[post.post_status], offset, offset + widths["STATUS"]
        )
        offset += len(line) + 1
    console.print(table, soft_wrap=True)


def _list_row(post: "Post", zone: tzinfo) -> dict[str, str]:
    return {
        "ID": str(post.id),
        "STATUS": post.post_status.label,
        "WHEN": when_text(post, zone),
        "PLATFORMS": printable(_selectors(post), one_line=True),
        "TEXT": printable(post.text, one_line=True),
    }


def _list_line(row: dict[str, str], shown: list[str], widths: dict[str, int]) -> str:
    """Return one line of the table: cells cut and padded, two spaces apart."""
    cells = []
    for name in shown:
        if name == "TEXT":
            cells.append(cut(row[name], widths[name]))
        elif name == "ID":
            cells.append(row[name].rjust(widths[name]))
        else:
            cells.append(fit(row[name], widths[name]))
    return "  ".join(cells)


def _selectors(post: "Post") -> str:
    return ", ".join(target.selector for target in post.targets)


def _list_widths(rows: list[dict[str, str]]) -> dict[str, int]:
    """Return the width each column of `rows` needs, header included."""
    widths = {
        name: max([len(name), *(display_width(row[name]) for row in rows)])
        for name in LIST_COLUMNS
    }
    widths["PLATFORMS"] = min(widths["PLATFORMS"], MAX_PLATFORMS_WIDTH)
    return widths


def _list_columns(widths: dict[str, int], width: int) -> list[str]:
    """Return the columns that leave TEXT at least MIN_LIST_TEXT_WIDTH cells."""
    shown = list(LIST_COLUMNS)
    for dropped in LIST_DROP_ORDER:
        fixed = sum(widths[name] for name in shown if name != "TEXT")
        # Rich puts two spaces between columns.
        if width - fixed - 2 * (len(shown) - 1) >= MIN_LIST_TEXT_WIDTH:
            break
        shown.remove(dropped)
    return shown


def render_post_detail(
    post: "Post",
    zone: tzinfo,
    next_steps: list[str],
    extra_rows: list[tuple[str, str]] | None = None,
) -> None:
    """Print one post in full: fields, texts, per-platform results and next steps.

    `extra_rows` (label, value) follow the post's own fields, such as its alert.
    Off a terminal nothing is wrapped, so texts and URLs print whole.
    """
    from rich.table import Table
    from rich.text import Text

    console = make_console(wrap=False)
    heading = Text(f"Post {post.id}  ")
    heading.append_text(status_text(post.post_status))
    console.print(heading)

    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column()
    for label, value in [*_detail_rows(post, zone), *(extra_rows or [])]:
        fields.add_row(label, Text(value))
    console.print(fields)

    console.print(Text("\nText", style="bold"))
    console.print(Text(printable(post.text)))
    for target in post.targets:
        if target.text:
            title = f"\nText for {printable(target.selector, one_line=True)}"
            console.print(Text(title, style="bold"))
            console.print(Text(printable(target.text)))

    console.print(Text("\nPlatforms", style="bold"))
    targets = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("TARGET", "STATUS", "URL OR ERROR"):
        targets.add_column(name, overflow="fold")
    for target in post.targets:
        outcome = target.url or target.error or ""
        selector = target.selector + (" (own text)" if target.text else "")
        targets.add_row(
            Text(printable(selector, one_line=True)),
            Text(target.status),
            Text(printable(outcome, one_line=True)),
        )
    console.print(targets)

    if next_steps:
        console.print(Text("\nNext", style="bold"))
        for step in next_steps:
            console.print(Text(f"  {step}"))


def _detail_rows(post: "Post", zone: tzinfo) -> list[tuple[str, str]]:
    rows = [("Scheduled", _local_and_utc(post.scheduled_for, zone))]
    if post.published_at:
        rows.append(("Published", _local_and_utc(post.published_at, zone)))
    if post.media:
        media = [
            f"{m['type']}: {printable(m['url'], one_line=True)}" for m in post.media
        ]
        rows.append(("Media", "\n".join(media)))
    if post.attempts:
        rows.append(("Attempts", str(post.attempts)))
    if post.failures:
        rows.append(("Failures", str(post.failures)))
    if post.next_attempt_at and not post.claimed_by:
        # A claimed post is due when its claim runs out, not at its old next
        # attempt. A PUBLISHING post that no run has claimed waits for a check.
        waiting = post.post_status is PostStatus.PUBLISHING and not post.claimed_by
        label = "Next check" if waiting else "Next attempt"
        rows.append((label, _local_and_utc(post.next_attempt_at, zone)))
    if post.failure_reason:
        rows.append(("Failure", printable(post.failure_reason, one_line=True)))
    if post.last_error and post.post_status is not PostStatus.PUBLISHED:
        rows.append(("Last error", printable(post.last_error, one_line=True)))
    if post.late_status and post.post_status is PostStatus.PUBLISHING:
        rows.append(("On Late", f"{post.late_status}; Late keeps publishing it"))
    if post.attempt_key and post.attempt_key_expired(datetime.now(UTC)):
        rows.append(
            (
                "Unknown outcome",
                f"idempotency key {post.attempt_key} is too old for Late to recognize;"
                f" check Late, then 'rabb retry {post.id} --confirm-unpublished'",
            )
        )
    elif post.attempt_key:
        rows.append(
            ("Unknown outcome", f"retries reuse idempotency key {post.attempt_key}")
        )
    if post.late_unsettled:
        rows.append(
            (
                "Unknown outcome",
                f"Late may still publish post {post.late_post_id}; retries ask Late"
                " to retry it",
            )
        )
    if post.late_post_id:
        rows.append(("Late post id", post.late_post_id))
    rows.append(("Created", _local_and_utc(post.created_at, zone)))
    return rows


def claim_rows(
    post: "Post", lease_ends: datetime | None, zone: tzinfo
) -> list[tuple[str, str]]:
    """Return the row that names when a run claimed the post and when the claim ends."""
    if post.claimed_at is None or lease_ends is None:
        return []
    since = format_local(post.claimed_at, zone, seconds=True)
    ends = format_local(lease_ends, zone, seconds=True)
    return [
        (
            "Claimed",
            f"by a run since {since}; if that run stopped, the next run after"
            f" {ends} ({format_utc(lease_ends)}) takes the post over",
        )
    ]


def _local_and_utc(value: datetime | None, zone: tzinfo) -> str:
    if value is None:
        return "-"
    return f"{format_local(value, zone)} ({format_utc(value)})"


def last_run_line(run: "RunSummary | None", zone: tzinfo, now: datetime) -> str:
    """Return one line saying when `rabb run-due` last ran and what it did."""
    if run is None:
        return (
            "run-due has not run yet, so nothing is published: run 'rabb run-due'"
            " from cron or a systemd timer"
        )
    from rabb_cli.lastrun import describe_outcome
    from rabb_cli.timeparse import format_duration

    ago = format_duration(now - run.started_at)
    line = f"run-due last ran {format_local(run.started_at, zone)} ({ago} ago): "
    return line + printable(describe_outcome(run), one_line=True)
