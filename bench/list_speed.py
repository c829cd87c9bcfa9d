"""Time `rabb list` on a store with 10,000 posts against two baselines.

    python bench/list_speed.py [--posts 10000] [--runs 5]

The store is filled the way bench/calendar_speed.py fills its large one. Each run
is a real `rabb list` subprocess with its output into a pipe, timed for the table
and for `--json` on the full store and for the table on an empty store, taking
turns. The script prints the median times and two ratios, and exits with 1 when a
ratio is over its limit.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from calendar_speed import fill_store
from timing import time_run

# The table may cost at most this many times `--json` on the same posts, which
# prints more per post but needs no layout.
JSON_LIMIT = 1.5
# Listing every post may cost at most this many times listing an empty store,
# whose time is start-up alone.
EMPTY_LIMIT = 4.0


def main() -> int:
    options = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="rabb-bench-") as folder:
        empty_home = Path(folder) / "empty"
        full_home = Path(folder) / "full"
        for home in (empty_home, full_home):
            run_list(home, [])  # Creates and migrates the store.
        fill_store(full_home / "rabb.db", options.posts)

        runs: dict[str, list[float]] = {"empty": [], "table": [], "json": []}
        for _ in range(options.runs):
            runs["empty"].append(run_list(empty_home, []))
            runs["table"].append(run_list(full_home, []))
            runs["json"].append(run_list(full_home, ["--json"]))
        empty, table, json = (statistics.median(runs[name]) for name in runs)

    print(f"list, empty store           {empty * 1000:8.1f} ms")
    print(f"list --json, {options.posts:,} posts   {json * 1000:8.1f} ms")
    print(f"list, {options.posts:,} posts         {table * 1000:8.1f} ms")
    ratios = (
        (table / json, JSON_LIMIT, "--json"),
        (table / empty, EMPTY_LIMIT, "empty"),
    )
    for ratio, limit, baseline in ratios:
        print(f"ratio to {baseline:6}  {ratio:5.2f} (limit {limit})")
    return 1 if any(ratio > limit for ratio, limit, _ in ratios) else 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000, help="posts to store")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each kind")
    return parser.parse_args()


def run_list(home: Path, args: list[str]) -> float:
    """Run `rabb list ARGS` in a subprocess and return its wall time in seconds."""
    env = {**os.environ, "RABB_HOME": str(home), "RABB_TIMEZONE": "UTC"}
    env["COLUMNS"] = "120"
    return time_run([sys.executable, "-m", "rabb_cli", "list", *args], env)


if __name__ == "__main__":
    sys.exit(main())
