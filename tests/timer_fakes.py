"""Fake `systemctl` and `crontab` programs for the `rabb timer` subprocess tests.

Both are /bin/sh scripts put first on PATH. They append each call's arguments to
a log file, so no test reaches the real user manager or the real crontab.
`systemctl` responds to `--user show-environment` only when FAKE_SYSTEMD is `up`,
and reports the timer's state and the service's last exit status from
FAKE_TIMER_STATE and FAKE_EXIT_STATUS (default `active` and 0). `crontab` keeps the
crontab in the file FAKE_CRONTAB.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RABB = Path(sys.executable).parent / "rabb"

FAKE_SYSTEMCTL = """#!/bin/sh
printf '%s\\n' "systemctl $*" >> "$FAKE_LOG"
case "$*" in
  *show-environment*)
    if [ "$FAKE_SYSTEMD" != up ]; then
      echo "Failed to connect to bus: No medium found" >&2
      exit 1
    fi
    echo "HOME=/nonexistent" ;;
  *"show rabb-run-due.timer"*)
    echo "ActiveState=${FAKE_TIMER_STATE:-active}"
    echo "NextElapseUSecRealtime=Fri 2031-01-03 10:05:00 UTC" ;;
  *"show rabb-run-due.service"*)
    printf 'Result=success\\nExecMainStatus=%s\\n' "${FAKE_EXIT_STATUS:-0}" ;;
esac
exit 0
"""

FAKE_CRONTAB = """#!/bin/sh
printf '%s\\n' "crontab $*" >> "$FAKE_LOG"
case "$1" in
  -l)
    if [ -f "$FAKE_CRONTAB" ]; then
      cat "$FAKE_CRONTAB"
    else
      echo "no crontab for tester" >&2
      exit 1
    fi ;;
  -r) rm -f "$FAKE_CRONTAB" ;;
  -) cat > "$FAKE_CRONTAB" ;;
  *) echo "usage: crontab [-l | -r | -]" >&2; exit 2 ;;
esac
"""


@dataclass
class Machine:
    """A private HOME with fake tools, and a way to run rabb against it."""

    root: Path
    env: dict[str, str]

    @property
    def crontab(self) -> Path:
        return Path(self.env["FAKE_CRONTAB"])

    @property
    def unit_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "systemd" / "user"

    def calls(self) -> list[str]:
        log = Path(self.env["FAKE_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def rabb(
        self, *args: str, program: Path = RABB
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed `rabb` console script (or `program`) with `args`."""
        return subprocess.run(
            [str(program), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def make_machine(root: Path, *, systemd: bool, crontab: bool = True) -> Machine:
    """Return a Machine whose PATH starts with fake tools in `root`/bin."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    _write_script(bin_dir / "systemctl", FAKE_SYSTEMCTL)
    if crontab:
        _write_script(bin_dir / "crontab", FAKE_CRONTAB)

    env = dict(os.environ)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(root / "user"),
        XDG_CONFIG_HOME=str(root / "user" / ".config"),
        FAKE_LOG=str(root / "calls.log"),
        FAKE_CRONTAB=str(root / "crontab.txt"),
        FAKE_SYSTEMD="up" if systemd else "down",
    )
    return Machine(root, env)


def _write_script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)
