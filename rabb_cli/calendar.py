"""The month model of `rabb calendar`: the dates of a grid and the posts in each cell.

A month is drawn as whole weeks, so the grid starts on the week start on or before
the 1st and ends on the day before the next week start after the last day. Days of
the neighbouring months fill the first and the last week. A post belongs to the cell
of its local date in the user's zone, not of its UTC date.

This module contains data and no drawing code. The terminal view (`calendar_view`)
and `--json` both read it.
"""

import re
from calendar import Calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from rabb_cli.errors import InvalidInput
from rabb_cli.status import PostStatus
from rabb_cli.timeparse import format_utc, zone_name

if TYPE_CHECKING:
    from rabb_cli.store import Store

WEEK_STARTS = ("monday", "sunday")
# A year ahead of the first month is enough to plan with, and the cap keeps a typo
# such as `--next 1000` from printing thousands of lines.
MAX_FOLLOWING_MONTHS = 12
# The grid of the last month reaches into the next year, and datetime ends at 9999.
FIRST_MONTH = date(1900, 1, 1)
LAST_MONTH = date(9998, 12, 1)
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
# The numbering of the standard library's `calendar` module.
_FIRST_WEEKDAY = {"monday": 0, "sunday": 6}


@dataclass(frozen=True)
class CalendarPost:
    """A post as the calendar shows it."""

    id: int
    scheduled_for: datetime
    local_time: datetime
    status: PostStatus
    text: str


@dataclass(frozen=True)
class CalendarDay:
    """One cell of the grid: a date, whether it is in the shown month, its posts."""

    date: date
    in_month: bool
    posts: tuple[CalendarPost, ...]


@dataclass(frozen=True)
class CalendarMonth:
    """One month as rows of seven days, starting on `week_start`."""

    first_day: date
    week_start: str
    weeks: tuple[tuple[CalendarDay, ...], ...]

    @property
    def label(self) -> str:
        return f"{self.first_day:%Y-%m}"

    @property
    def title(self) -> str:
        return f"{MONTH_NAMES[self.first_day.month - 1]} {self.first_day.year}"


def parse_month(text: str) -> date:
    """Return the first day of the month named `text` in the form YYYY-MM."""
    match = _MONTH_PATTERN.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(
            f"invalid month {text!r}", "use YYYY-MM, for example 2026-09"
        )
    first_day = date(int(match.group(1)), int(match.group(2)), 1)
    _check_supported(first_day, text)
    return first_day


def parse_week_start(text: str) -> str:
    """Return `monday` or `sunday` for `text` in any case."""
    value = text.strip().lower()
    if value not in WEEK_STARTS:
        raise InvalidInput(
            f"invalid week start {text!r}", f"use {' or '.join(WEEK_STARTS)}"
        )
    return value


def parse_count(text: str) -> int:
    """Return the `--next` value: a whole number of months from 0 to 12."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_FOLLOWING_MONTHS:
        raise InvalidInput(
            f"invalid --next {text!r}",
            f"give a number of months from 0 to {MAX_FOLLOWING_MONTHS}",
        )
    return int(value)


def month_sequence(first_day: date, following: int) -> list[date]:
    """Return the first days of the month `first_day` and the `following` months."""
    firsts = [first_day]
    for _ in range(following):
        firsts.append(_next_month(firsts[-1]))
    _check_supported(firsts[-1], f"{firsts[-1]:%Y-%m}")
    return firsts


def grid_dates(first_day: date, week_start: str) -> list[list[date]]:
    """Return the dates of the month's grid as weeks of seven days.

    A month needs four to six weeks: February 2026 starting on Sunday needs four,
    September 2024 starting on Monday six.
    """
    weeks = Calendar(_FIRST_WEEKDAY[week_start]).monthdatescalendar(
        first_day.year, first_day.month
    )
    return [list(week) for week in weeks]


def utc_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return UTC instants from the start of local day `first` to the end of `last`.

    The range may be wider than the days, never narrower. At a midnight that does
    not exist (clocks jump forward) or occurs twice (clocks go back) both readings
    are computed, and the earlier one bounds the start and the later one the end.
    Callers drop posts whose local date is outside the days.
    """
    start = min(_midnight_readings(first, zone))
    end = max(_midnight_readings(last + timedelta(days=1), zone))
    return start, end


def load_months(
    store: "Store",
    firsts: Sequence[date],
    week_start: str,
    zone: tzinfo,
    statuses: Sequence[PostStatus] = (),
) -> list[CalendarMonth]:
    """Read the posts of the months in one query and place them in cells.

    Only a month's own days carry posts: the dimmed days of neighbouring months
    show their date alone, so each post appears on the page of its own month.
    Posts without a scheduled time (drafts never given one) are not shown.
    """
    grids = [grid_dates(first, week_start) for first in firsts]
    start, end = utc_bounds(
        firsts[0], _next_month(firsts[-1]) - timedelta(days=1), zone
    )
    with store.read() as session:
        rows = store.list_scheduled_between(session, start, end, statuses=statuses)

    posts_by_date = group_by_local_date(rows, zone)
    return [
        build_month(first, week_start, grid, posts_by_date)
        for first, grid in zip(firsts, grids, strict=True)
    ]


def group_by_local_date(
    rows: Sequence[tuple[int, datetime, str, str]], zone: tzinfo
) -> dict[date, list[CalendarPost]]:
    """Return posts keyed by their local date in `zone`, keeping the rows' order."""
    posts_by_date: dict[date, list[CalendarPost]] = {}
    for post_id, scheduled_for, status, text in rows:
        local_time = scheduled_for.astimezone(zone)
        post = CalendarPost(
            post_id, scheduled_for, local_time, PostStatus(status), text
        )
        posts_by_date.setdefault(local_time.date(), []).append(post)
    return posts_by_date


def build_month(
    first_day: date,
    week_start: str,
    grid: list[list[date]],
    posts_by_date: dict[date, list[CalendarPost]],
) -> CalendarMonth:
    weeks = tuple(
        tuple(_build_day(day, first_day, posts_by_date) for day in week)
        for week in grid
    )
    return CalendarMonth(first_day, week_start, weeks)


def _build_day(
    day: date, first_day: date, posts_by_date: dict[date, list[CalendarPost]]
) -> CalendarDay:
    in_month = (day.year, day.month) == (first_day.year, first_day.month)
    posts = tuple(posts_by_date.get(day, ())) if in_month else ()
    return CalendarDay(day, in_month, posts)


def month_to_json(month: CalendarMonth, zone: tzinfo) -> dict[str, Any]:
    """Return the JSON form of a month: local dates, UTC times with `Z`."""
    return {
        "month": month.label,
        "timezone": zone_name(zone),
        "week_start": month.week_start,
        "weeks": [[_day_to_json(day) for day in week] for week in month.weeks],
    }


def _day_to_json(day: CalendarDay) -> dict[str, Any]:
    return {
        "date": day.date.isoformat(),
        "in_month": day.in_month,
        "posts": [
            {
                "id": post.id,
                "time": format_utc(post.scheduled_for),
                "status": post.status.value,
                "text": post.text,
            }
            for post in day.posts
        ],
    }


def _midnight_readings(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    midnight = datetime.combine(day, time(), tzinfo=zone)
    return (
        midnight.astimezone(UTC),
        midnight.replace(fold=1).astimezone(UTC),
    )


def _next_month(first_day: date) -> date:
    if first_day.month == 12:
        return date(first_day.year + 1, 1, 1)
    return date(first_day.year, first_day.month + 1, 1)


def _check_supported(first_day: date, text: str) -> None:
    if not FIRST_MONTH <= first_day <= LAST_MONTH:
        raise InvalidInput(
            f"month {text} is outside the supported range",
            f"use a month from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m}",
        )
