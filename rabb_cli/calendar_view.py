"""The terminal view of `rabb calendar`: a bordered grid of seven equal columns.

Every line is assembled here cell by cell, with widths measured by wcwidth, and
printed without Rich's wrapping or cropping. So all lines of a grid have the same
display width whatever the post text contains. Styles are Rich styles, which
`make_console` drops when colour is off. Each post then still carries its status
marker, so the grid stays readable without colour.

Below `MIN_GRID_WIDTH` columns seven cells cannot show a post id, and the month is
printed as a list of the days that have posts instead.
"""

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, tzinfo
from typing import TYPE_CHECKING

from rabb_cli.calendar import MONTH_NAMES, CalendarDay, CalendarMonth, CalendarPost
from rabb_cli.output import STATUS_STYLES, make_console, printable, terminal_width
from rabb_cli.status import PostStatus
from rabb_cli.textwidth import cut, display_width, first_fitting
from rabb_cli.timeparse import zone_name

if TYPE_CHECKING:
    from rich.text import Text

STATUS_MARKERS = {
    PostStatus.DRAFT: "D",
    PostStatus.SCHEDULED: "S",
    PostStatus.PUBLISHING: ">",
    PostStatus.PUBLISHED: "P",
    PostStatus.PARTIAL: "~",
    PostStatus.FAILED: "F",
}
# Lines for posts under the day number. When a day has more posts, the last line
# becomes `+N more`.
POST_LINES = 3
# One space of padding on each side of the content, which needs five cells for a
# marker and a post id ("S #12").
MIN_CELL_WIDTH = 7
MIN_GRID_WIDTH = 7 * MIN_CELL_WIDTH + 8
# The list form is cut to this width even on a narrower terminal.
MIN_LIST_WIDTH = 20
# The time is shown only when at least this many cells of text still fit after it.
MIN_TEXT_WIDTH = 6
WEEKDAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
TODAY_STYLE = "bold reverse"
DAY_STYLE = "bold"
NEIGHBOUR_STYLE = "dim"
MORE_STYLE = "dim italic"
LOADING_DELAY_SECONDS = 0.3

_TOP = ("┌", "┬", "┐")
_MIDDLE = ("├", "┼", "┤")
_BOTTOM = ("└", "┴", "┘")
_HORIZONTAL = "─"
_VERTICAL = "│"


def print_calendar(
    months: Sequence[CalendarMonth],
    *,
    today: date,
    zone: tzinfo,
    statuses: Sequence[PostStatus] = (),
    width: int | None = None,
) -> None:
    """Print the months as grids (or lists on a narrow terminal) with a legend."""
    from rich.text import Text

    lines = render_calendar(
        months,
        today=today,
        zone=zone,
        statuses=statuses,
        width=terminal_width() if width is None else width,
    )
    # soft_wrap turns off Rich's wrapping and cropping: the lines already fit.
    make_console().print(Text("\n").join(lines), soft_wrap=True)


def render_calendar(
    months: Sequence[CalendarMonth],
    *,
    today: date,
    zone: tzinfo,
    statuses: Sequence[PostStatus],
    width: int,
) -> list["Text"]:
    """Return the lines of the calendar, each no wider than `width` cells.

    A terminal narrower than `MIN_LIST_WIDTH` still gets lines of that width.
    """
    from rich.text import Text

    grid = width >= MIN_GRID_WIDTH
    if grid:
        cell_width = (width - 8) // 7
        drawn_width = 7 * cell_width + 8
    else:
        drawn_width = max(width, MIN_LIST_WIDTH)

    lines: list[Text] = []
    for month in months:
        if lines:
            lines.append(Text())
        title = f"{month.title} ({zone_name(zone)})"
        if grid:
            lines.append(_centred(title, drawn_width))
        else:
            lines.append(Text(cut(title, drawn_width), DAY_STYLE))
        if grid:
            lines.extend(_grid_lines(month, today, cell_width - 2))
        else:
            lines.extend(_list_lines(month, today, drawn_width))
    # Where "30 today" does not fit in a cell, today's label is "30*".
    star_for_today = grid and cell_width - 2 < display_width("30 today")
    lines.append(Text())
    lines.extend(_legend_lines(drawn_width, star_for_today=star_for_today))
    lines.extend(_footer_lines(months, statuses, drawn_width))
    return lines


def _grid_lines(month: CalendarMonth, today: date, content_width: int) -> list["Text"]:
    cell_width = content_width + 2
    names = _weekday_names(month.week_start, content_width)
    lines = [_rule(_TOP, cell_width)]
    lines.append(_row([(name, DAY_STYLE) for name in names], content_width))
    for week in month.weeks:
        lines.append(_rule(_MIDDLE, cell_width))
        cells = [_cell_lines(day, today, content_width) for day in week]
        for index in range(1 + POST_LINES):
            lines.append(_row([cell[index] for cell in cells], content_width))
    lines.append(_rule(_BOTTOM, cell_width))
    return lines


def _cell_lines(day: CalendarDay, today: date, width: int) -> list[tuple[str, str]]:
    """Return the day's label and its post lines as (text, style) pairs."""
    lines = [(_day_label(day, today, width), _day_style(day, today))]
    posts = day.posts
    shown = posts if len(posts) <= POST_LINES else posts[: POST_LINES - 1]
    for post in shown:
        lines.append((post_line(post, width), _post_style(post, day)))

    hidden = len(posts) - len(shown)
    if hidden:
        more = first_fitting([f"+{hidden} more", f"+{hidden}"], width)
        lines.append((more, MORE_STYLE))
    lines.extend([("", "")] * (1 + POST_LINES - len(lines)))
    return lines


def post_line(post: CalendarPost, width: int) -> str:
    """Return `marker time #id text`, cut to `width` cells.

    The local time is left out when it would leave less than `MIN_TEXT_WIDTH`
    cells for the text, because the text identifies a post better than the time.
    """
    marker = STATUS_MARKERS[post.status]
    text = printable(post.text, one_line=True)
    with_time = f"{marker} {post.local_time:%H:%M} #{post.id} "
    text_room = min(MIN_TEXT_WIDTH, display_width(text))
    if display_width(with_time) + text_room <= width:
        return cut(with_time + text, width)
    return cut(f"{marker} #{post.id} {text}", width)


def _day_label(day: CalendarDay, today: date, width: int) -> str:
    number = str(day.date.day)
    month = MONTH_NAMES[day.date.month - 1][:3]
    if day.date == today and not day.in_month:
        candidates = [f"{number} {month} today", f"{number} today", f"{number}*"]
    elif day.date == today:
        candidates = [f"{number} today", f"{number}*"]
    elif not day.in_month:
        candidates = [f"{number} {month}", number]
    else:
        candidates = [number]
    return first_fitting(candidates, width)


def _day_style(day: CalendarDay, today: date) -> str:
    if day.date == today:
        return TODAY_STYLE
    return DAY_STYLE if day.in_month else NEIGHBOUR_STYLE


def _post_style(post: CalendarPost, day: CalendarDay) -> str:
    style = STATUS_STYLES[post.status]
    return style if day.in_month else f"{style} {NEIGHBOUR_STYLE}"


def _weekday_names(week_start: str, width: int) -> list[str]:
    offset = 0 if week_start == "monday" else 6
    names = [WEEKDAY_NAMES[(offset + index) % 7] for index in range(7)]
    if max(display_width(name) for name in names) <= width:
        return names
    return [name[:3] for name in names]


def _row(cells: list[tuple[str, str]], content_width: int) -> "Text":
    from rich.text import Text

    line = Text(_VERTICAL)
    for text, style in cells:
        fitted = cut(text, content_width)
        line.append(" ")
        line.append(fitted, style=style or None)
        line.append(" " * (content_width - display_width(fitted) + 1))
        line.append(_VERTICAL)
    return line


def _rule(corners: tuple[str, str, str], cell_width: int) -> "Text":
    from rich.text import Text

    left, joint, right = corners
    return Text(left + joint.join([_HORIZONTAL * cell_width] * 7) + right)


def _centred(title: str, width: int) -> "Text":
    from rich.text import Text

    fitted = cut(title, width)
    return Text(" " * ((width - display_width(fitted)) // 2) + fitted, DAY_STYLE)


def _list_lines(month: CalendarMonth, today: date, width: int) -> list["Text"]:
    """Return the month as one line per day that has posts (or is today)."""
    from rich.text import Text

    lines = []
    for week in month.weeks:
        for day in week:
            if not day.in_month or not (day.posts or day.date == today):
                continue
            label = f"{WEEKDAY_NAMES[day.date.weekday()][:3]} {day.date.day}"
            if day.date == today:
                label += " today"
            lines.append(Text(cut(label, width), _day_style(day, today)))
            for post in day.posts:
                text = "  " + post_line(post, width - 2)
                lines.append(Text(text, _post_style(post, day)))
    return lines


def _legend_lines(width: int, *, star_for_today: bool) -> list["Text"]:
    """Return the status markers and their colours, wrapped to `width` cells."""
    from rich.text import Text

    items = [
        Text(f"{STATUS_MARKERS[status]} {status.label}", STATUS_STYLES[status])
        for status in PostStatus
    ]
    if star_for_today:
        items.append(Text("* today", TODAY_STYLE))

    lines = [Text()]
    for item in items:
        current = lines[-1]
        separator = "  " if current.plain else ""
        if current.plain and current.cell_len + 2 + item.cell_len > width:
            lines.append(Text())
            current = lines[-1]
            separator = ""
        current.append(separator)
        current.append_text(item)
    return lines


def _footer_lines(
    months: Sequence[CalendarMonth], statuses: Sequence[PostStatus], width: int
) -> list["Text"]:
    """Return how to open a post, or that there is none, wrapped to `width`."""
    import textwrap

    from rich.text import Text

    visible_posts = [
        post
        for month in months
        for week in month.weeks
        for day in week
        for post in day.posts
    ]
    if visible_posts:
        # The example has no "#", which a shell would read as a comment.
        example = f"rabb show {visible_posts[0].id}"
        message = f"Open a post with 'rabb show ID', such as '{example}'."
    else:
        span = months[0].title
        if len(months) > 1:
            span = f"{span} to {months[-1].title}"
        kind = " or ".join(status.label for status in statuses)
        message = f"No {kind} posts in {span}." if kind else f"No posts in {span}."
    return [Text(line) for line in textwrap.wrap(message, width)]


@contextmanager
def loading_status(
    message: str, *, enabled: bool = True, delay: float = LOADING_DELAY_SECONDS
) -> Iterator[None]:
    """Show a spinner with `message` on stderr once the block runs over `delay` s.

    Only when stdout and stderr are both terminals, so piped output, `--json`
    (pass `enabled=False`) and logs never contain it. The spinner line is erased
    when the block ends.
    """
    if not (enabled and _is_terminal(sys.stdout) and _is_terminal(sys.stderr)):
        yield
        return

    status = make_console(stderr=True).status(message)
    lock = threading.Lock()
    state = {"finished": False, "started": False}

    def start() -> None:
        with lock:
            if not state["finished"]:
                status.start()
                state["started"] = True

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["finished"] = True
            if state["started"]:
                status.stop()


def _is_terminal(stream: object) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
