"""`rabb calendar`: the month model, the grid, colour, width, JSON and the query."""

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import time_machine
import wcwidth
from sqlalchemy import event

from rabb_cli import calendar_view
from rabb_cli.calendar import (
    CalendarMonth,
    CalendarPost,
    build_month,
    grid_dates,
    load_months,
    month_sequence,
    utc_bounds,
)
from rabb_cli.calendar_view import (
    MIN_GRID_WIDTH,
    STATUS_MARKERS,
    loading_status,
    post_line,
    render_calendar,
)
from rabb_cli.models import Post, Target
from rabb_cli.output import STATUS_STYLES
from rabb_cli.status import PostStatus
from rabb_cli.store import open_store
from rabb_cli.textwidth import cut, display_width
from tests.conftest import Cli
from tests.terminal import TerminalProcess, run_in_terminal

NEW_YORK = ZoneInfo("America/New_York")
GRID_CORNERS = ("┌", "│", "├", "└")

MONTH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["month", "timezone", "week_start", "weeks"],
    "properties": {
        "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        "timezone": {"type": "string"},
        "week_start": {"enum": ["monday", "sunday"]},
        "weeks": {
            "type": "array",
            "minItems": 4,
            "maxItems": 6,
            "items": {
                "type": "array",
                "minItems": 7,
                "maxItems": 7,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["date", "in_month", "posts"],
                    "properties": {
                        "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                        "in_month": {"type": "boolean"},
                        "posts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["id", "time", "status", "text"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "time": {
                                        "type": "string",
                                        "pattern": r"^\d{4}-\d{2}-\d{2}T"
                                        r"\d{2}:\d{2}:\d{2}Z$",
                                    },
                                    "status": {"enum": [s.value for s in PostStatus]},
                                    "text": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def add_post(
    home: Path,
    text: str,
    when: datetime | None,
    status: PostStatus = PostStatus.SCHEDULED,
) -> int:
    """Store a post directly, with any status and any time, past ones included."""
    store = open_store(home / "rabb.db")
    try:
        post = Post(uid=uuid.uuid4().hex, text=text, status=status.value)
        post.scheduled_for = when
        post.targets = [Target(platform="twitter")]
        with store.write() as session:
            session.add(post)
            session.flush()
            assert post.id is not None
            return post.id
    finally:
        store.close()


def month_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("calendar", *args, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def days_of(month: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {day["date"]: day for week in month["weeks"] for day in week}


def post_ids(day: dict[str, Any]) -> list[int]:
    return [post["id"] for post in day["posts"]]


def grid_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(GRID_CORNERS)]


def week_rows(output: str) -> list[list[str]]:
    """Return the cells of the day-number line of each week in a rendered grid."""
    lines = grid_lines(output)
    rows = []
    for index, line in enumerate(lines):
        if line.startswith("├"):
            rows.append([cell.strip() for cell in lines[index + 1].split("│")[1:-1]])
    return rows


def cell_text(output: str, day_label: str) -> list[str]:
    """Return the lines of the first cell whose day label is `day_label`."""
    lines = grid_lines(output)
    for index, line in enumerate(lines):
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if line.startswith("│") and day_label in cells:
            column = cells.index(day_label)
            below = lines[index + 1 : index + 1 + calendar_view.POST_LINES]
            return [row.split("│")[1:-1][column].strip() for row in below]
    raise AssertionError(f"no cell labelled {day_label!r}")


# Month layout


def test_september_2024_monday_start() -> None:
    weeks = grid_dates(date(2024, 9, 1), "monday")
    assert len(weeks) == 6
    assert weeks[0].index(date(2024, 9, 1)) == 6
    assert weeks[0][0] == date(2024, 8, 26)
    assert weeks[-1][-1] == date(2024, 10, 6)


def test_september_2024_sunday_start() -> None:
    weeks = grid_dates(date(2024, 9, 1), "sunday")
    assert len(weeks) == 5
    assert weeks[0][0] == date(2024, 9, 1)
    assert weeks[-1][-1] == date(2024, 10, 5)


@pytest.mark.parametrize(("week_start", "rows"), [("sunday", 4), ("monday", 5)])
def test_february_2026_rows(week_start: str, rows: int) -> None:
    weeks = grid_dates(date(2026, 2, 1), week_start)
    assert len(weeks) == rows
    assert all(len(week) == 7 for week in weeks)


def test_grid_rows_start_on_week_start() -> None:
    for month in range(1, 13):
        for week_start, weekday in (("monday", 0), ("sunday", 6)):
            weeks = grid_dates(date(2025, month, 1), week_start)
            assert {week[0].weekday() for week in weeks} == {weekday}


def test_rendered_september_2024_columns(cli: Cli) -> None:
    monday = cli("calendar", "2024-09")
    sunday = cli("calendar", "2024-09", "--week-start", "sunday")
    monday_rows = week_rows(monday.stdout)
    sunday_rows = week_rows(sunday.stdout)
    assert len(monday_rows) == 6
    assert monday_rows[0][6] == "1"
    assert monday_rows[0][0] == "26 Aug"
    assert len(sunday_rows) == 5
    assert sunday_rows[0][0] == "1"
    assert sunday.stdout.splitlines()[2].startswith("│ Sunday ")


def test_rendered_february_2026_rows(cli: Cli) -> None:
    sunday = cli("calendar", "2026-02", "--week-start", "sunday")
    monday = cli("calendar", "2026-02", "--week-start", "monday")
    assert len(week_rows(sunday.stdout)) == 4
    assert len(week_rows(monday.stdout)) == 5


def test_json_september_2024_layout(cli: Cli) -> None:
    monday = month_json(cli, "2024-09")
    sunday = month_json(cli, "2024-09", "--week-start", "sunday")
    assert len(monday["weeks"]) == 6
    assert monday["weeks"][0][6] == {
        "date": "2024-09-01",
        "in_month": True,
        "posts": [],
    }
    assert monday["weeks"][0][5]["in_month"] is False
    assert len(sunday["weeks"]) == 5
    assert sunday["weeks"][0][0]["date"] == "2024-09-01"


def test_month_sequence_crosses_year() -> None:
    firsts = month_sequence(date(2026, 11, 1), 3)
    assert [f"{first:%Y-%m}" for first in firsts] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]


# Placing posts in the user's zone


def test_new_york_late_post_in_may(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    post_id = add_post(home, "Late", datetime(2024, 5, 31, 22, 0, tzinfo=NEW_YORK))

    may = days_of(month_json(cli, "2024-05"))
    june = month_json(cli, "2024-06")
    june_days = days_of(june)

    assert post_ids(may["2024-05-31"]) == [post_id]
    assert may["2024-05-31"]["posts"][0]["time"] == "2024-06-01T02:00:00Z"
    assert june["timezone"] == "America/New_York"
    assert post_ids(june_days["2024-06-01"]) == []
    in_june = [d for d in june_days.values() if d["in_month"] and d["posts"]]
    assert in_june == []
    # June's first row shows 31 May as a dimmed neighbour day, without its posts.
    assert june_days["2024-05-31"]["in_month"] is False
    assert post_ids(june_days["2024-05-31"]) == []
    every_june_post = [p for d in june_days.values() for p in post_ids(d)]
    assert post_id not in every_june_post


def test_new_york_late_post_rendered(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    monkeypatch.setenv("COLUMNS", "120")
    add_post(home, "Late", datetime(2024, 5, 31, 22, 0, tzinfo=NEW_YORK))
    may = cli("calendar", "2024-05").stdout
    june = cli("calendar", "2024-06").stdout
    assert cell_text(may, "31")[0].startswith("S ")
    assert cell_text(may, "31")[0].endswith("Late")
    assert cell_text(june, "1") == ["", "", ""]
    assert "Late" not in june


def test_utc_date_would_differ(cli: Cli, home: Path) -> None:
    # The same instant in a UTC calendar falls on 1 June: the zone decides the cell.
    post_id = add_post(home, "Late", datetime(2024, 5, 31, 22, 0, tzinfo=NEW_YORK))
    june = days_of(month_json(cli, "2024-06"))
    assert post_ids(june["2024-06-01"]) == [post_id]


@pytest.mark.parametrize(
    ("local", "fold", "expected_day"),
    [
        (datetime(2024, 3, 10, 1, 59), 0, "2024-03-10"),
        (datetime(2024, 3, 10, 3, 0), 0, "2024-03-10"),
        (datetime(2024, 3, 9, 23, 59), 0, "2024-03-09"),
        (datetime(2024, 11, 3, 1, 30), 0, "2024-11-03"),
        (datetime(2024, 11, 3, 1, 30), 1, "2024-11-03"),
        (datetime(2024, 11, 3, 23, 30), 0, "2024-11-03"),
        (datetime(2024, 11, 4, 0, 0), 0, "2024-11-04"),
    ],
)
def test_posts_across_dst_changes(
    cli: Cli,
    home: Path,
    monkeypatch: Any,
    local: datetime,
    fold: int,
    expected_day: str,
) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    when = local.replace(tzinfo=NEW_YORK, fold=fold)
    post_id = add_post(home, "DST", when)
    days = days_of(month_json(cli, f"{local:%Y-%m}"))
    holding = [day for day, data in days.items() if post_id in post_ids(data)]
    assert holding == [expected_day]


def test_bounds_cover_midnight_gap() -> None:
    # Santiago skips from 00:00 to 01:00 on 8 September 2024, so 7 September ends at
    # 04:00 UTC, not at the 03:00 UTC that the later reading of 00:00 would give.
    santiago = ZoneInfo("America/Santiago")
    start, end = utc_bounds(date(2024, 9, 1), date(2024, 9, 7), santiago)
    last_minute = datetime(2024, 9, 7, 23, 59, tzinfo=santiago)
    first_minute = datetime(2024, 9, 1, 0, 0, tzinfo=santiago)
    assert start <= first_minute.astimezone(UTC)
    assert last_minute.astimezone(UTC) < end
    assert end == datetime(2024, 9, 8, 4, 0, tzinfo=UTC)


def test_bounds_cover_repeated_hour() -> None:
    # Santiago goes back from 00:00 to 23:00 on 7 April 2024: the 6th lasts 25 hours.
    santiago = ZoneInfo("America/Santiago")
    start, end = utc_bounds(date(2024, 4, 6), date(2024, 4, 6), santiago)
    second_reading = datetime(2024, 4, 6, 23, 30, fold=1, tzinfo=santiago)
    assert start == datetime(2024, 4, 6, 3, 0, tzinfo=UTC)
    assert second_reading.astimezone(UTC) < end
    assert end - start == timedelta(hours=25)


def test_santiago_gap_post_in_cell(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "America/Santiago")
    santiago = ZoneInfo("America/Santiago")
    late = add_post(home, "Late", datetime(2024, 9, 7, 23, 30, tzinfo=santiago))
    early = add_post(home, "Early", datetime(2024, 9, 8, 1, 0, tzinfo=santiago))
    days = days_of(month_json(cli, "2024-09"))
    assert post_ids(days["2024-09-07"]) == [late]
    assert post_ids(days["2024-09-08"]) == [early]


def test_skipped_day_in_apia(cli: Cli, home: Path, monkeypatch: Any) -> None:
    # Samoa skipped 30 December 2011 when it moved across the date line.
    monkeypatch.setenv("RABB_TIMEZONE", "Pacific/Apia")
    apia = ZoneInfo("Pacific/Apia")
    before = add_post(home, "Before", datetime(2011, 12, 29, 23, 0, tzinfo=apia))
    after = add_post(home, "After", datetime(2011, 12, 31, 0, 30, tzinfo=apia))
    days = days_of(month_json(cli, "2011-12"))
    assert post_ids(days["2011-12-29"]) == [before]
    assert post_ids(days["2011-12-30"]) == []
    assert post_ids(days["2011-12-31"]) == [after]


# Which posts are shown


def test_drafts_need_a_planned_time(cli: Cli, home: Path) -> None:
    planned = add_post(
        home, "Planned", datetime(2024, 9, 5, 9, tzinfo=UTC), PostStatus.DRAFT
    )
    add_post(home, "Someday", None, PostStatus.DRAFT)
    month = month_json(cli, "2024-09")
    listed = [post for day in days_of(month).values() for post in day["posts"]]
    assert [post["id"] for post in listed] == [planned]
    assert listed[0]["status"] == "draft"


def test_cancelled_post_stays_as_draft(cli: Cli) -> None:
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        cli("schedule", "Plan", "-p", "threads", "--at", "2026-06-10 09:00")
        cli("cancel", "1")
        days = days_of(month_json(cli, "2026-06"))
    assert days["2026-06-10"]["posts"][0]["status"] == "draft"


def test_status_filter(cli: Cli, home: Path) -> None:
    when = datetime(2024, 9, 5, 9, tzinfo=UTC)
    add_post(home, "A", when, PostStatus.PUBLISHED)
    failed = add_post(home, "B", when, PostStatus.FAILED)
    partial = add_post(home, "C", when, PostStatus.PARTIAL)
    day = days_of(month_json(cli, "2024-09", "--status", "failed"))["2024-09-05"]
    both = days_of(month_json(cli, "2024-09", "-s", "FAILED", "-s", "partial"))
    assert post_ids(day) == [failed]
    assert post_ids(both["2024-09-05"]) == [failed, partial]


def test_posts_oldest_first(cli: Cli, home: Path) -> None:
    later = add_post(home, "Later", datetime(2024, 9, 5, 18, tzinfo=UTC))
    earlier = add_post(home, "Earlier", datetime(2024, 9, 5, 8, tzinfo=UTC))
    day = days_of(month_json(cli, "2024-09"))["2024-09-05"]
    assert post_ids(day) == [earlier, later]


def test_one_query_for_all_months(home: Path) -> None:
    add_post(home, "x", datetime(2024, 9, 5, 9, tzinfo=UTC))
    store = open_store(home / "rabb.db")
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", record)
    firsts = month_sequence(date(2024, 9, 1), 2)
    months = load_months(store, firsts, "monday", UTC)
    store.close()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(months) == 3
    assert len(selects) == 1
    assert "post.scheduled_for >= ?" in selects[0]
    assert "target" not in selects[0]


@pytest.mark.parametrize("statuses", [(), (PostStatus.FAILED, PostStatus.DRAFT)])
def test_query_uses_scheduled_index(
    home: Path, statuses: tuple[PostStatus, ...]
) -> None:
    add_post(home, "x", datetime(2024, 9, 5, 9, tzinfo=UTC))
    store = open_store(home / "rabb.db")
    executed: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        executed.append((args[2], args[3]))

    event.listen(store.engine, "before_cursor_execute", record)
    load_months(store, [date(2024, 9, 1)], "monday", UTC, statuses)
    store.close()
    statement, parameters = next(e for e in executed if e[0].startswith("SELECT"))

    connection = sqlite3.connect(home / "rabb.db")
    plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
    details = " ".join(row[3] for row in plan.fetchall())
    connection.close()
    assert "SEARCH post USING INDEX ix_post" in details
    assert "scheduled_for>?" in details
    assert "SCAN post" not in details


# The cell contents


def test_more_posts_than_lines(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    ids = [
        add_post(home, f"Post {n}", datetime(2024, 9, 5, 8 + n, tzinfo=UTC))
        for n in range(5)
    ]
    lines = cell_text(cli("calendar", "2024-09").stdout, "5")
    assert lines[0] == f"S 08:00 #{ids[0]} Post 0"
    assert lines[1] == f"S 09:00 #{ids[1]} Post 1"
    assert lines[2] == "+3 more"


def test_exactly_full_cell_has_no_more(cli: Cli, home: Path) -> None:
    for n in range(calendar_view.POST_LINES):
        add_post(home, f"P{n}", datetime(2024, 9, 5, 8 + n, tzinfo=UTC))
    lines = cell_text(cli("calendar", "2024-09").stdout, "5")
    assert all(line.startswith("S ") for line in lines)
    assert "more" not in " ".join(lines)


def test_markup_shown_literally(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    add_post(home, "[bold]x[/bold]", datetime(2024, 9, 5, 9, tzinfo=UTC))
    add_post(home, "\x1b[31mred\x07", datetime(2024, 9, 5, 10, tzinfo=UTC))
    output = cli("calendar", "2024-09").stdout
    assert "[bold]x[/bold]" in output
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\\x1b[31mred\\x07" in output


def test_line_breaks_become_spaces(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    add_post(home, "one\ntwo\tthree", datetime(2024, 9, 5, 9, tzinfo=UTC))
    lines = cell_text(cli("calendar", "2024-09").stdout, "5")
    assert lines[0].endswith("one two three")


def test_markers_and_styles_per_status() -> None:
    posts = [
        CalendarPost(n, _at(9), _at(9), status, status.value)
        for n, status in enumerate(PostStatus, start=1)
    ]
    by_date = {date(2024, 9, post.id): [post] for post in posts}
    first = date(2024, 9, 1)
    months = [build_month(first, "monday", grid_dates(first, "monday"), by_date)]
    lines = render_calendar(
        months, today=date(2024, 1, 1), zone=UTC, statuses=(), width=300
    )
    for post in posts:
        shown = f"{STATUS_MARKERS[post.status]} 09:00 #{post.id} {post.text}"
        assert _span_styles(lines, shown) == [STATUS_STYLES[post.status]]


def test_today_and_neighbours_styled() -> None:
    months = _month_with(date(2024, 9, 10), ())
    lines = render_calendar(
        months, today=date(2024, 9, 18), zone=UTC, statuses=(), width=100
    )
    assert _span_styles(lines, "18 today") == [calendar_view.TODAY_STYLE]
    assert _span_styles(lines, "26 Aug") == [calendar_view.NEIGHBOUR_STYLE]
    assert _span_styles(lines, "1 Oct") == [calendar_view.NEIGHBOUR_STYLE]


def test_legend_lists_every_status(cli: Cli) -> None:
    output = cli("calendar", "2024-09").stdout
    for status in PostStatus:
        assert f"{STATUS_MARKERS[status]} {status.label}" in output


def test_post_line_drops_time_when_narrow() -> None:
    post = CalendarPost(12, _at(9), _at(9), PostStatus.SCHEDULED, "Launch day")
    assert post_line(post, 30) == "S 09:00 #12 Launch day"
    assert post_line(post, 14) == "S #12 Launch …"
    assert post_line(post, 5) == "S #1…"


def test_post_line_short_text_keeps_time() -> None:
    post = CalendarPost(3, _at(9), _at(9), PostStatus.FAILED, "Hi")
    assert post_line(post, 13) == "F 09:00 #3 Hi"


def test_footer_points_to_show(cli: Cli, home: Path) -> None:
    empty = cli("calendar", "2024-09").stdout
    empty_failed = cli("calendar", "2024-09", "-s", "failed").stdout
    add_post(home, "x", datetime(2024, 9, 5, 9, tzinfo=UTC))
    full = cli("calendar", "2024-09").stdout
    assert empty.rstrip().endswith("No posts in September 2024.")
    assert empty_failed.rstrip().endswith("No FAILED posts in September 2024.")
    assert full.rstrip().endswith(
        "Open a post with 'rabb show ID', such as 'rabb show 1'."
    )
    assert cli("show", "1").exit_code == 0


# Today and the default month


def test_today_marked(cli: Cli) -> None:
    with time_machine.travel(datetime(2024, 9, 18, 12, tzinfo=UTC), tick=False):
        output = cli("calendar").stdout
    assert output.splitlines()[0].strip() == "September 2024 (UTC)"
    assert "18 today" in output
    assert output.count("today") == 1


def test_today_follows_user_zone(cli: Cli, monkeypatch: Any) -> None:
    # 02:00 UTC on 1 October is still 30 September in New York.
    monkeypatch.setenv("RABB_TIMEZONE", "America/New_York")
    with time_machine.travel(datetime(2024, 10, 1, 2, tzinfo=UTC), tick=False):
        output = cli("calendar").stdout
        data = month_json(cli)
    assert output.splitlines()[0].strip() == "September 2024 (America/New_York)"
    assert "30 today" in output
    assert data["month"] == "2024-09"


def test_today_star_when_narrow(cli: Cli, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", str(MIN_GRID_WIDTH))
    with time_machine.travel(datetime(2024, 9, 18, 12, tzinfo=UTC), tick=False):
        output = cli("calendar").stdout
    assert "│ 18*" in output
    assert "* today" in output


def test_other_month_has_no_today(cli: Cli) -> None:
    with time_machine.travel(datetime(2024, 9, 18, 12, tzinfo=UTC), tick=False):
        output = cli("calendar", "2024-11").stdout
    assert "today" not in output


# Width


TRICKY_TEXTS = [
    "Launch 🚀",
    "你好推特",
    "👨‍👩‍👧 family",
    "🇩🇪🇫🇷 flags",
    "e\u0301te\u0301 accents",
    "☀️ sun",
    "טקסט \u202eRTL",
    "tab\there",
    "ｆｕｌｌ ｗｉｄｔｈ",
]


@pytest.mark.parametrize("columns", [57, 60, 63, 80, 99, 100, 133, 240])
def test_grid_lines_equal_width(
    cli: Cli, home: Path, monkeypatch: Any, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    add_post(home, "Launch 🚀", datetime(2024, 9, 5, 9, tzinfo=UTC))
    add_post(home, "你好推特", datetime(2024, 9, 5, 10, tzinfo=UTC))
    for hour, text in enumerate(TRICKY_TEXTS):
        add_post(home, text, datetime(2024, 9, 12, hour, tzinfo=UTC))
        add_post(home, text * 3, datetime(2024, 9, 13 + hour, 9, tzinfo=UTC))

    output = cli("calendar", "2024-09").stdout
    lines = grid_lines(output)
    widths = {wcwidth.width(line) for line in lines}
    assert len(lines) == 3 + 6 * (1 + calendar_view.POST_LINES) + 6
    assert len(widths) == 1
    assert widths.pop() <= columns
    assert all(wcwidth.width(line) <= columns for line in output.splitlines())


def test_cell_with_launch_and_chinese(cli: Cli, home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    add_post(home, "Launch 🚀", datetime(2024, 9, 5, 9, tzinfo=UTC))
    add_post(home, "你好推特", datetime(2024, 9, 5, 10, tzinfo=UTC))
    output = cli("calendar", "2024-09").stdout
    lines = cell_text(output, "5")
    assert lines[0] == "S #1 Launch 🚀"
    assert lines[1] == "S #2 你好推特"
    assert len({wcwidth.width(line) for line in grid_lines(output)}) == 1


@pytest.mark.slow
def test_grid_width_follows_terminal_size(home: Path) -> None:
    env = _subprocess_env(home)
    env.pop("COLUMNS")
    output = run_in_terminal(["calendar", "2024-09"], env, columns=70).decode()
    widths = {wcwidth.width(line) for line in grid_lines(output.replace("\r", ""))}
    assert widths == {7 * 8 + 8}


@pytest.mark.slow
def test_piped_width_defaults_to_80(home: Path) -> None:
    env = _subprocess_env(home)
    env.pop("COLUMNS")
    result = subprocess.run(
        [sys.executable, "-m", "rabb_cli", "calendar", "2024-09"],
        env=env,
        capture_output=True,
        check=True,
    )
    widths = {wcwidth.width(line) for line in grid_lines(result.stdout.decode())}
    assert widths == {7 * 10 + 8}


@pytest.mark.parametrize("columns", [1, 20, 40, MIN_GRID_WIDTH - 1])
def test_narrow_terminal_lists_days(
    cli: Cli, home: Path, monkeypatch: Any, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    add_post(home, "Launch 🚀 with a long text", datetime(2024, 9, 5, 9, tzinfo=UTC))
    add_post(home, "你好推特你好推特你好推特", datetime(2024, 9, 5, 10, tzinfo=UTC))
    add_post(home, "Next month", datetime(2024, 10, 1, 9, tzinfo=UTC))
    with time_machine.travel(datetime(2024, 9, 18, 12, tzinfo=UTC), tick=False):
        output = cli("calendar", "2024-09").stdout
    lines = output.splitlines()
    assert grid_lines(output) == []
    assert lines[0] == "September 2024 (UTC)"
    assert lines[1] == "Thu 5"
    assert lines[2].startswith("  S ")
    assert lines[4] == "Wed 18 today"
    assert "Next month" not in output
    assert all(wcwidth.width(line) <= max(columns, 20) for line in lines)


@pytest.mark.parametrize("columns", [1, 20, 25])
def test_list_form_title_cut_to_width(cli: Cli, monkeypatch: Any, columns: int) -> None:
    monkeypatch.setenv("RABB_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("COLUMNS", str(columns))
    output = cli("calendar", "2027-01", "--next", "1").stdout
    lines = output.splitlines()
    width = max(columns, 20)
    assert all(wcwidth.width(line) <= width for line in lines), lines
    assert lines[0] == cut("January 2027 (Europe/Berlin)", width)
    assert cut("February 2027 (Europe/Berlin)", width) in lines


def test_cut_never_splits_graphemes() -> None:
    assert cut("你好推特", 8) == "你好推特"
    assert cut("你好推特", 7) == "你好推…"
    assert cut("你好推特", 6) == "你好…"
    assert display_width(cut("你好推特", 6)) == 5
    assert cut("Launch 🚀!", 8) == "Launch …"
    assert cut("👨‍👩‍👧👨‍👩‍👧", 3) == "👨‍👩‍👧…"
    assert cut("e\u0301e\u0301e\u0301", 2) == "e\u0301…"
    assert cut("abc", 0) == ""


# Colour


@pytest.mark.slow
def test_no_color_has_no_escapes(home: Path) -> None:
    add_post(home, "Launch 🚀", datetime(2024, 9, 5, 9, tzinfo=UTC))
    coloured = run_in_terminal(["calendar", "2024-09"], _subprocess_env(home))
    plain_env = _subprocess_env(home, NO_COLOR="1")
    plain = run_in_terminal(["calendar", "2024-09"], plain_env)
    flag = run_in_terminal(["--no-color", "calendar", "2024-09"], _subprocess_env(home))
    assert b"\x1b[" in coloured
    assert b"\x1b[34mS 09:00 #1 Launch" in coloured
    assert b"\x1b" not in plain
    assert b"S 09:00 #1 Launch" in plain
    assert b"\x1b" not in flag


@pytest.mark.slow
def test_piped_output_has_no_escapes(home: Path) -> None:
    add_post(home, "Launch 🚀", datetime(2024, 9, 5, 9, tzinfo=UTC))
    result = subprocess.run(
        [sys.executable, "-m", "rabb_cli", "calendar", "2024-09"],
        env=_subprocess_env(home),
        capture_output=True,
        check=True,
    )
    assert b"\x1b" not in result.stdout
    assert b"\x1b" not in result.stderr
    assert b"S 09:00 #1 Launch" in result.stdout


@pytest.mark.slow
def test_markup_literal_in_colour(home: Path) -> None:
    add_post(home, "[bold]x[/bold]", datetime(2024, 9, 5, 9, tzinfo=UTC))
    output = run_in_terminal(["calendar", "2024-09"], _subprocess_env(home))
    assert b"[bold]x[/bold]" in output
    assert b"\x1b[1mx" not in output


# JSON


def test_json_shape(cli: Cli, home: Path) -> None:
    post_id = add_post(home, "Hello 你好", datetime(2024, 9, 5, 9, tzinfo=UTC))
    data = month_json(cli, "2024-09")
    jsonschema.validate(data, MONTH_SCHEMA)
    assert data["month"] == "2024-09"
    assert data["timezone"] == "UTC"
    assert data["week_start"] == "monday"
    assert days_of(data)["2024-09-05"]["posts"] == [
        {
            "id": post_id,
            "time": "2024-09-05T09:00:00Z",
            "status": "scheduled",
            "text": "Hello 你好",
        }
    ]


def test_json_in_month_flags(cli: Cli) -> None:
    days = days_of(month_json(cli, "2024-09"))
    flags = {day: data["in_month"] for day, data in days.items()}
    assert [day for day, inside in flags.items() if inside] == [
        f"2024-09-{n:02d}" for n in range(1, 31)
    ]
    assert flags["2024-08-26"] is False
    assert flags["2024-10-06"] is False


def test_json_next_months(cli: Cli) -> None:
    result = cli("calendar", "2024-11", "--next", "2", "--json")
    data = json.loads(result.stdout)
    assert [month["month"] for month in data] == ["2024-11", "2024-12", "2025-01"]
    for month in data:
        jsonschema.validate(month, MONTH_SCHEMA)


def test_json_keeps_text_raw(cli: Cli, home: Path) -> None:
    add_post(home, "a\x1b[31mb [red]c", datetime(2024, 9, 5, 9, tzinfo=UTC))
    result = cli("calendar", "2024-09", "--json")
    assert "\x1b" not in result.stdout
    text = days_of(json.loads(result.stdout))["2024-09-05"]["posts"][0]["text"]
    assert text == "a\x1b[31mb [red]c"


def test_next_months_rendered(cli: Cli) -> None:
    output = cli("calendar", "2024-12", "--next", "1").stdout
    titles = [line.strip() for line in output.splitlines() if "(UTC)" in line]
    assert titles == ["December 2024 (UTC)", "January 2025 (UTC)"]
    assert output.count("D DRAFT") == 1


# Week start


def test_week_start_from_config(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('week_start = "sunday"\n')
    from_config = month_json(cli, "2024-09")
    overridden = month_json(cli, "2024-09", "--week-start", "Monday")
    assert from_config["week_start"] == "sunday"
    assert from_config["weeks"][0][0]["date"] == "2024-09-01"
    assert overridden["week_start"] == "monday"
    assert overridden["weeks"][0][0]["date"] == "2024-08-26"


def test_week_start_default_monday(cli: Cli) -> None:
    data = month_json(cli, "2026-02")
    assert data["week_start"] == "monday"
    assert date.fromisoformat(data["weeks"][0][0]["date"]).weekday() == 0


def test_invalid_week_start_in_config(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('week_start = "friday"\n')
    result = cli("calendar", "2024-09")
    assert result.exit_code == 2
    assert "week_start" in result.stderr


# Invalid input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2026-13"], "invalid month '2026-13'. Use YYYY-MM"),
        ([""], "invalid month ''. Use YYYY-MM"),
        (["2026-9"], "invalid month '2026-9'"),
        (["Sept"], "invalid month 'Sept'"),
        (["1899-12"], "month 1899-12 is outside the supported range"),
        (["9998-12", "--next", "1"], "month 9999-01 is outside the supported range"),
        (["--next", "-1"], "invalid --next '-1'. Give a number of months from 0"),
        (["--next", "13"], "invalid --next '13'"),
        (["--next", "two"], "invalid --next 'two'"),
        (["--status", "sent"], "unknown status 'sent'. Use one of draft"),
        (["--week-start", "friday"], "invalid week start 'friday'. Use monday or"),
    ],
)
def test_invalid_input(cli: Cli, home: Path, args: list[str], message: str) -> None:
    result = cli("calendar", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("rabb: error: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (home / "rabb.db").exists()


def test_largest_range_accepted(cli: Cli) -> None:
    result = cli("calendar", "9998-01", "--next", "11", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[-1]["month"] == "9998-12"


# Help and start-up


def test_help_lists_calendar(cli: Cli) -> None:
    result = cli("--help")
    assert "  calendar " in result.stdout
    assert "YYYY-MM" in cli("calendar", "--help").stdout


@pytest.mark.slow
def test_command_module_is_light() -> None:
    code = (
        "import sys, rabb_cli.app\n"
        "heavy = [m for m in ('rich', 'sqlalchemy', 'sqlmodel', 'wcwidth')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# Loading status


class _TerminalStream(StringIO):
    def isatty(self) -> bool:
        return True


def test_status_shown_when_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stderr = _TerminalStream()
    monkeypatch.setattr(sys, "stdout", _TerminalStream())
    monkeypatch.setattr(sys, "stderr", stderr)
    with loading_status("Loading the calendar…", delay=0.05):
        time.sleep(0.5)
    assert "Loading the calendar" in stderr.getvalue()


def test_status_hidden_when_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stderr = _TerminalStream()
    monkeypatch.setattr(sys, "stdout", _TerminalStream())
    monkeypatch.setattr(sys, "stderr", stderr)
    with loading_status("Loading the calendar…", delay=0.3):
        pass
    time.sleep(0.5)
    assert stderr.getvalue() == ""


@pytest.mark.parametrize(
    ("stdout_tty", "enabled"), [(False, True), (True, False)], ids=["piped", "json"]
)
def test_status_hidden_off_terminal(
    monkeypatch: pytest.MonkeyPatch, stdout_tty: bool, enabled: bool
) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stderr = _TerminalStream()
    monkeypatch.setattr(sys, "stdout", _TerminalStream() if stdout_tty else StringIO())
    monkeypatch.setattr(sys, "stderr", stderr)
    with loading_status("Loading the calendar…", enabled=enabled, delay=0.01):
        time.sleep(0.3)
    assert stderr.getvalue() == ""


@pytest.mark.slow
def test_status_while_database_locked(home: Path) -> None:
    add_post(home, "x", datetime(2024, 9, 5, 9, tzinfo=UTC))
    with _locked_database(home / "rabb.db"):
        terminal = TerminalProcess(["calendar", "2024-09"], _subprocess_env(home))
        waiting = terminal.read_until(b"Loading the calendar", timeout=20)
    rest = terminal.read_all()
    assert b"Loading the calendar" in waiting
    assert b"September 2024" in rest
    assert terminal.returncode == 0


@pytest.mark.slow
def test_no_status_for_json_when_locked(home: Path) -> None:
    add_post(home, "x", datetime(2024, 9, 5, 9, tzinfo=UTC))
    with _locked_database(home / "rabb.db"):
        terminal = TerminalProcess(
            ["calendar", "2024-09", "--json"], _subprocess_env(home)
        )
        time.sleep(1.5)
    output = terminal.read_all()
    assert b"Loading" not in output
    assert b'"month": "2024-09"' in output
    assert terminal.returncode == 0


# Helpers


def _at(hour: int) -> datetime:
    return datetime(2024, 9, 10, hour, tzinfo=UTC)


def _month_with(day: date, posts: tuple[CalendarPost, ...]) -> list[CalendarMonth]:
    first = day.replace(day=1)
    return [build_month(first, "monday", grid_dates(first, "monday"), {day: [*posts]})]


def _span_styles(lines: list[Any], text: str) -> list[str]:
    """Return the styles of the spans that cover exactly `text` in rendered lines."""
    styles = []
    for line in lines:
        for span in line.spans:
            if line.plain[span.start : span.end] == text:
                styles.append(str(span.style))
    return styles


def _subprocess_env(home: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"RABB_HOME": str(home), "TERM": "xterm-256color", "COLUMNS": "200"})
    env.pop("NO_COLOR", None)
    env.update(overrides)
    return env


@contextmanager
def _locked_database(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on a WAL database, so that readers wait too."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("UPDATE post SET id = id")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()
