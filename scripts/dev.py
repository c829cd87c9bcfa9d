"""Set up a local virtual environment, then run the demo or the whole test suite.

    python3 scripts/dev.py demo   # compose, schedule, publish (to the outbox), list
    python3 scripts/dev.py test   # ruff, mypy and pytest

Needs only python3 (3.11 or newer) and access to PyPI. The environment lives in
`.venv` beside pyproject.toml and is reinstalled when pyproject.toml changes.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".rabb-installed"
PIP_INDEX = "https://pypi.org/pypi/pip/json"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("demo", "test"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - python3 may be older than rabb.
        print("rabb needs Python 3.11 or newer", file=sys.stderr)
        return 1
    ensure_environment()
    return run_demo() if argv[0] == "demo" else run_tests()


def ensure_environment() -> None:
    """Create .venv and install rabb with its test tools, unless already current."""
    if not PYTHON.exists():
        create_venv()
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.touch()


def create_venv() -> None:
    """Create .venv with pip, also where Debian's python3 lacks ensurepip."""
    print("Creating .venv ...", flush=True)
    try:
        venv.create(VENV, with_pip=True)
        return
    except (subprocess.CalledProcessError, OSError):
        shutil.rmtree(VENV, ignore_errors=True)
    # Debian ships ensurepip in a separate package; bootstrap pip from its wheel.
    venv.create(VENV, with_pip=False)
    with urllib.request.urlopen(PIP_INDEX, timeout=60) as response:
        release = json.load(response)
    wheel = next(f for f in release["urls"] if f["filename"].endswith(".whl"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / wheel["filename"]
        urllib.request.urlretrieve(wheel["url"], path)
        subprocess.run(
            [str(PYTHON), f"{path}/pip", "install", "-q", str(path)], check=True
        )


def run_tests() -> int:
    """Run the linters, the type checker and every test; stop at the first failure."""
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "pytest"), "-n", "auto", "-q"],
    ]
    for step in steps:
        print("$", Path(step[0]).name, *step[1:], flush=True)
        code = subprocess.run(step, cwd=ROOT, check=False).returncode
        if code != 0:
            return code
    return 0


def run_demo() -> int:
    """Run the main job end to end in a throw-away home, printing each command.

    The posts go to the outbox publisher, which writes each publication as a JSON
    file instead of calling Late, so no account or key is needed.
    """
    home = Path(tempfile.mkdtemp(prefix="rabb-demo-"))
    env = {**os.environ, "RABB_HOME": str(home), "RABB_PUBLISHER": "outbox"}
    env.pop("NO_COLOR", None)
    rabb = str(BIN / "rabb")
    print(f"Demo home: {home} (publisher: outbox, no Late account needed)\n")

    before_due = [
        [rabb, "compose", "Hello from rabb! Scheduled from the terminal.", "-p", "x"],
        [rabb, "schedule", "1", "--at", "in 3s"],
        [
            rabb,
            "schedule",
            "Release notes are out: https://example.com/notes",
            "-p",
            "bluesky",
            "-p",
            "linkedin",
            "--at",
            "in 4s",
        ],
        [rabb, "compose", "An idea for next week", "-p", "threads"],
        [rabb, "edit", "3", "--at", "in 2 days"],
        [rabb, "list"],
    ]
    after_due = [
        [rabb, "run-due"],
        [rabb, "list"],
        [rabb, "show", "2"],
        [rabb, "calendar"],
    ]
    for command in before_due:
        if run_shown(command, env) != 0:
            return 1
    print("Waiting 5 seconds until both scheduled posts are due ...\n", flush=True)
    time.sleep(5)
    for command in after_due:
        if run_shown(command, env) != 0:
            return 1
    print(f"The published request bodies are in {home / 'state' / 'outbox'}")
    return 0


def run_shown(command: list[str], env: dict[str, str]) -> int:
    shown = " ".join(["rabb", *(f"'{a}'" if " " in a else a for a in command[1:])])
    print(f"$ {shown}", flush=True)
    code = subprocess.run(command, env=env, check=False).returncode
    print(flush=True)
    return code


if __name__ == "__main__":
    started = time.monotonic()
    status = main(sys.argv[1:])
    sys.exit(status)
