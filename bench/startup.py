"""Start-up time of `rabb --help` as a ratio to `python -c "import typer"`.

    .venv/bin/python bench/startup.py [--runs 41]

Both commands run as new processes with this interpreter and the `rabb` console
script installed beside it. The two are interleaved, so a slow spell on the
machine slows both alike, and the medians are compared. Exits 1 when the ratio is
above 1.5, the target in docs/benchmarks.md.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 1.5
WARM_UP_RUNS = 3


def time_run(command: list[str], env: dict[str, str]) -> float:
    """Return the wall-clock seconds that one run of `command` takes."""
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Return the median seconds of each command over `runs` interleaved runs."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
    for command in commands.values():
        for _ in range(WARM_UP_RUNS):
            time_run(command, env)

    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(time_run(command, env))
    return {name: statistics.median(times) for name, times in samples.items()}


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
    medians = measure(commands, arguments.runs)
    ratio = medians["rabb --help"] / medians["python -c 'import typer'"]

    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    for name, seconds in medians.items():
        print(f"{name:26} median {seconds * 1000:6.1f} ms over {arguments.runs} runs")
    verdict = "ok" if ratio <= TARGET_RATIO else "too slow"
    print(f"ratio {ratio:.2f} (target at most {TARGET_RATIO}): {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
