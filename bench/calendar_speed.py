"""Time `rabb calendar` on an empty store and on a store with 100,000 posts.

    python bench/calendar_speed.py [--posts 100000] [--runs 7] [--month 2026-06]

Both stores live in a new temporary folder. The large one gets posts spread evenly
over four years (about 2,100 a month), mixed statuses, texts with emoji and CJK, one
target each, and 5% drafts without a time. Each run is a real `rabb calendar`
subprocess, for the grid and for `--json`, with the two stores taking turns. The
script prints the median times and their ratio, and exits with 1 when a ratio is
over the limit of 2.

The file is not called calendar.py because a script of that name would shadow the
standard library's `calendar` module for everything the script imports.
"""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from timing import time_run

LIMIT = 2.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
SPREAD_START = datetime(2024, 7, 1, tzinfo=UTC)
SPREAD_DAYS = 4 * 365
STATUSES = ("draft", "scheduled", "publishing", "published", "partial", "failed")
TEXTS = (
    "Launch day! 🚀 Everything we built this quarter is live",
    "你好推特，这是一条测试帖子",
    "Thread: five things I learned shipping a CLI in Python",
    "New post on the blog: https://example.com/notes",
    "👨‍👩‍👧 Family day, back on Monday",
)


def main() -> int:
    options = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="rabb-bench-") as folder:
        empty_home = Path(folder) / "empty"
        full_home = Path(folder) / "full"
        for home in (empty_home, full_home):
            run_calendar(home, [options.month])  # Creates and migrates the store.

        started = time.perf_counter()
        fill_store(full_home / "rabb.db", options.posts)
        print(
            f"Stored {options.posts:,} posts in {time.perf_counter() - started:.1f} s"
        )

        failed = False
        for label, extra in (("grid", []), ("--json", ["--json"])):
            args = [options.month, *extra]
            empty, full = time_both(empty_home, full_home, args, options.runs)
            ratio = full / empty
            failed = failed or ratio > LIMIT
            print(
                f"calendar {label:6}  empty {empty * 1000:7.1f} ms"
                f"  {options.posts:,} posts {full * 1000:7.1f} ms"
                f"  ratio {ratio:.2f} (limit {LIMIT:.0f})"
            )

        # Start-up dominates the times above. This line shows what the data adds.
        empty = time_loading(empty_home, options.month, options.runs)
        full = time_loading(full_home, options.month, options.runs)
        print(
            f"query and layout   empty {empty * 1000:7.1f} ms"
            f"  {options.posts:,} posts {full * 1000:7.1f} ms (in process)"
        )
    return 1 if failed else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts to store")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per store")
    parser.add_argument("--month", default="2026-06", help="month to show (YYYY-MM)")
    return parser.parse_args()


def fill_store(database: Path, count: int) -> None:
    """Insert `count` posts, each with one target, in one transaction."""
    generator = random.Random(20260601)
    now = datetime.now(UTC).strftime(TIME_FORMAT)
    posts = []
    for _ in range(count):
        offset = timedelta(seconds=generator.uniform(0, SPREAD_DAYS * 86400))
        status = generator.choice(STATUSES)
        scheduled: str | None = (SPREAD_START + offset).strftime(TIME_FORMAT)
        if status == "draft" and generator.random() < 0.3:
            scheduled = None
        text = f"{generator.choice(TEXTS)} #{generator.randrange(10_000)}"
        posts.append((uuid.uuid4().hex, text, status, scheduled, now, now))

    connection = sqlite3.connect(database)
    with connection:
        connection.executemany(
            "INSERT INTO post (uid, text, status, scheduled_for, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            posts,
        )
        connection.execute(
            "INSERT INTO target (post_id, platform, status)"
            " SELECT id, 'twitter', 'pending' FROM post"
        )
    connection.close()


def time_both(
    empty_home: Path, full_home: Path, args: list[str], runs: int
) -> tuple[float, float]:
    """Return the median seconds of `rabb calendar ARGS` on each store."""
    empty_times = []
    full_times = []
    for _ in range(runs):
        empty_times.append(run_calendar(empty_home, args))
        full_times.append(run_calendar(full_home, args))
    return statistics.median(empty_times), statistics.median(full_times)


def time_loading(home: Path, month: str, runs: int) -> float:
    """Return the median seconds to query a month and lay out its grid."""
    from rabb_cli.calendar import load_months, month_sequence, parse_month
    from rabb_cli.calendar_view import render_calendar
    from rabb_cli.store import open_store
    from rabb_cli.timeparse import load_zone

    zone = load_zone("America/New_York")
    firsts = month_sequence(parse_month(month), 0)
    store = open_store(home / "rabb.db")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        months = load_months(store, firsts, "monday", zone)
        render_calendar(months, today=firsts[0], zone=zone, statuses=(), width=120)
        times.append(time.perf_counter() - started)
    store.close()
    return statistics.median(times)


def run_calendar(home: Path, args: list[str]) -> float:
    """Run `rabb calendar ARGS` in a subprocess and return its wall time in seconds."""
    env = {
        **os.environ,
        "RABB_HOME": str(home),
        "RABB_TIMEZONE": "America/New_York",
        "COLUMNS": "120",
    }
    env.pop("NO_COLOR", None)
    return time_run([sys.executable, "-m", "rabb_cli", "calendar", *args], env)


if __name__ == "__main__":
    sys.exit(main())
