"""The Quick start demo, run as the README runs it, must publish its posts."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Runs the demo step of scripts/dev.py alone: the environment it would set up is
# the one running these tests.
RUN_DEMO = (
    "import runpy, sys;"
    f" sys.exit(runpy.run_path({str(ROOT / 'scripts' / 'dev.py')!r})['run_demo']())"
)


def test_demo_publishes_scheduled_posts() -> None:
    env = {key: value for key, value in os.environ.items() if key != "RABB_HOME"}
    result = subprocess.run(
        [sys.executable, "-c", RUN_DEMO],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    match = re.search(r"^Demo home: (\S+)", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    home = Path(match.group(1))
    try:
        assert result.returncode == 0, result.stderr
        posts = _posts(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    assert [post["status"] for post in posts] == ["published", "published", "draft"]
    assert "$ rabb calendar" in result.stdout
    assert "Traceback" not in result.stderr


def _posts(home: Path) -> list[dict[str, object]]:
    """Return the demo's posts, read by rabb itself, and check its outbox."""
    rabb = ROOT / ".venv" / "bin" / "rabb"
    listed = subprocess.run(
        [str(rabb), "list", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "RABB_HOME": str(home)},
        check=True,
    )
    outbox = sorted((home / "state" / "outbox").glob("post-*.json"))
    assert len(outbox) == 2
    posts: list[dict[str, object]] = json.loads(listed.stdout)
    return sorted(posts, key=lambda post: int(str(post["id"])))
