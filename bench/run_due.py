"""`rabb run-due` with nothing due on 10,000 posts, as a ratio to one bare query.

    .venv/bin/python bench/run_due.py [--posts 10000] [--runs 41]

The script builds a store in a temporary folder with the store API: 90% of the
posts published in the past, 10% scheduled up to 30 days ahead, none due. Its
config.toml has a key and selects the outbox publisher, so no run can reach the
network. It then times, interleaved (see timing.py), the `rabb run-due`
console script installed beside this interpreter against this interpreter
running `python -c` that opens the same SQLite file and runs the due query once.
rabb reads its config, checks for due work and records the run, which the
baseline does not. Exits 1 when the ratio of the medians is above 3, the target
in docs/benchmarks.md, and 2 when the store is not as expected.
"""

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from timing import WARM_UP_RUNS, measure, report

from rabb_cli.models import Post, Target
from rabb_cli.publish.due import DUE_CONDITION, DueCheck, check_due, due_parameters
from rabb_cli.store import open_store

TARGET_RATIO = 3.0
PUBLISHED_SHARE = 0.9
LEASE = timedelta(minutes=15)
CONFIG = 'late_api_key = "sk_bench_{key}"\n\n[publish]\npublisher = "outbox"\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000, help="posts to store")
    parser.add_argument("--runs", type=int, default=41, help="runs of each command")
    arguments = parser.parse_args()

    rabb = Path(sys.executable).parent / "rabb"
    if not rabb.exists():
        print(f"{rabb} not found: install rabb into this environment", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rabb-bench-") as folder:
        home = Path(folder)
        build_store(home, arguments.posts)
        if not nothing_due(home):
            print("the benchmark store has due posts", file=sys.stderr)
            return 2
        commands = {
            "python -c (sqlite3, due query)": baseline_command(home / "rabb.db"),
            "rabb run-due": [str(rabb), "run-due"],
        }
        env = {**os.environ, "RABB_HOME": str(home), "NO_COLOR": "1"}
        medians = measure(commands, arguments.runs, env)
        recorded = empty_runs(home)
    # Each run of rabb must have recorded an empty run, or it did something else.
    if recorded != WARM_UP_RUNS + arguments.runs:
        print(f"rabb recorded {recorded} empty runs, not one per run", file=sys.stderr)
        return 2
    print(f"{arguments.posts:,} posts, none due; {recorded} empty runs recorded")
    return report(medians, arguments.runs, TARGET_RATIO)


def build_store(home: Path, count: int) -> None:
    """Write config.toml and a store of `count` posts, none of them due."""
    config = home / "config.toml"
    config.write_text(CONFIG.format(key=uuid.uuid4().hex))
    config.chmod(0o600)

    generator = random.Random(20261204)
    now = datetime.now(UTC)
    store = open_store(home / "rabb.db")
    try:
        with store.write() as session:
            for number in range(count):
                post = _post(number, now, generator)
                post.targets = [Target(platform="twitter", status="published")]
                session.add(post)
    finally:
        store.close()


def _post(number: int, now: datetime, generator: random.Random) -> Post:
    text = (
        f"Post {number}: notes from the week, with a link https://example.com/{number}"
    )
    if generator.random() < PUBLISHED_SHARE:
        when = now - timedelta(minutes=generator.randrange(10, 60 * 24 * 365))
        return Post(
            uid=uuid.uuid4().hex,
            text=text,
            status="published",
            scheduled_for=when,
            published_at=when + timedelta(seconds=3),
            attempts=1,
        )
    when = now + timedelta(minutes=generator.randrange(60, 60 * 24 * 30))
    return Post(uid=uuid.uuid4().hex, text=text, status="scheduled", scheduled_for=when)


def nothing_due(home: Path) -> bool:
    found = check_due(home / "rabb.db", datetime.now(UTC), LEASE)
    return found is DueCheck.NOTHING_DUE


def baseline_command(database: Path) -> list[str]:
    """Return `python -c` that opens `database` and runs the due query once."""
    query = f"SELECT EXISTS (SELECT 1 FROM post WHERE {DUE_CONDITION})"
    # The parameters are fixed now: no post falls due during the benchmark.
    parameters = due_parameters(datetime.now(UTC), LEASE)
    code = (
        "import sqlite3, sys\n"
        f"sqlite3.connect(sys.argv[1]).execute({query!r}, {parameters!r}).fetchone()\n"
    )
    return [sys.executable, "-c", code, str(database)]


def empty_runs(home: Path) -> int:
    """Return the number of runs recorded as ok with nothing due."""
    connection = sqlite3.connect(home / "rabb.db")
    try:
        row = connection.execute(
            "SELECT count(*) FROM run WHERE status = 'ok' AND due = 0"
        ).fetchone()
    finally:
        connection.close()
    return int(row[0])


if __name__ == "__main__":
    sys.exit(main())
