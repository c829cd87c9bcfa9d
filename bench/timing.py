"""Timing of whole commands for the start-up benchmarks in bench/.

Each benchmark runs its commands as new processes with the same environment, a
few times first to warm the disk cache, then interleaved, so a slow spell on the
machine slows every command alike. It compares medians, never single runs.
"""

import os
import platform
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

WARM_UP_RUNS = 3


def time_run(command: list[str], env: dict[str, str]) -> float:
    """Return the wall-clock seconds that one run of `command` takes."""
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, float]:
    """Return the median seconds of each command over `runs` interleaved runs."""
    for command in commands.values():
        for _ in range(WARM_UP_RUNS):
            time_run(command, env)

    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(time_run(command, env))
    return {name: statistics.median(times) for name, times in samples.items()}


def report(medians: dict[str, float], runs: int, target: float) -> int:
    """Print the medians and the ratio of the second command to the first.

    Returns the exit status: 0 when the ratio is at most `target`, else 1.
    """
    baseline, measured = list(medians.values())
    ratio = measured / baseline
    print(machine_description())
    width = max(len(name) for name in medians)
    for name, seconds in medians.items():
        print(f"{name:{width}}  median {seconds * 1000:6.1f} ms over {runs} runs")
    verdict = "ok" if ratio <= target else "too slow"
    print(f"ratio {ratio:.2f} (target at most {target}): {verdict}")
    return 0 if ratio <= target else 1


def machine_description() -> str:
    """Return the CPUs this process may use, the CPU model and the versions."""
    cpus = len(os.sched_getaffinity(0))
    return (
        f"{cpus} CPUs (nproc), {cpu_model()}, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}"
    )


def cpu_model() -> str:
    """Return the CPU model from /proc/cpuinfo, or the platform's processor name."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown CPU"
