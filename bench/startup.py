"""Start-up time of `rabb --help` as a ratio to `python -c "import typer"`.

    .venv/bin/python bench/startup.py [--runs 41]

Both commands run as new processes with this interpreter and the `rabb` console
script installed beside it, interleaved (see timing.py), and the medians are
compared. Exits 1 when the ratio is above 1.5, the target in docs/benchmarks.md.
"""

import argparse
import os
import sys
from pathlib import Path

from timing import measure, report

TARGET_RATIO = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41, help="runs of each command")
    arguments = parser.parse_args()

    rabb = Path(sys.executable).parent / "rabb"
    if not rabb.exists():
        print(f"{rabb} not found: install rabb into this environment", file=sys.stderr)
        return 2
    commands = {
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "rabb --help": [str(rabb), "--help"],
    }
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
    medians = measure(commands, arguments.runs, env)
    return report(medians, arguments.runs, TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())
