"""Installing, removing and inspecting the timer with `systemctl --user` or `crontab`.

Both programs are looked up on PATH each time they run, so tests can put fake ones
first on PATH. They run with LC_ALL=C so that their messages and dates are in
one known format.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from rabb_cli import crontab
from rabb_cli.errors import RabbError
from rabb_cli.paths import Paths, ensure_private_dir
from rabb_cli.timer import (
    SERVICE_NAME,
    TIMER_NAME,
    Interval,
    cron_line,
    interval_from_cron,
    interval_from_on_calendar,
    next_cron_run,
    service_timeout,
    service_unit,
    timer_unit,
)

TOOL_TIMEOUT_SECONDS = 30
# Variables copied into the unit or crontab line when set: where rabb keeps its
# files and which zone it shows times in.
PASSED_VARIABLES = ("RABB_HOME", "RABB_TIMEZONE", "TZ")
LINGER_DIR = Path("/var/lib/systemd/linger")
_SYSTEMD_TIME = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC")


@dataclass(frozen=True)
class TimerPlan:
    """Everything a back end needs to install the timer."""

    interval: Interval
    command: list[str]
    environment: dict[str, str]
    timeout: timedelta
    paths: Paths


@dataclass
class TimerStatus:
    """The timer one back end has installed, and the state it reports."""

    backend: str
    interval: str | None
    location: str
    command: str
    state: str | None = None
    next_run: datetime | None = None
    next_run_text: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def rabb_program(argv0: str, executable: str) -> list[str]:
    """Return the command that starts the running rabb.

    That is the `rabb` console script this process was started as, or else this
    Python interpreter with `-m rabb_cli`. Paths are made absolute, but symbolic
    links (such as pipx's ~/.local/bin/rabb) are kept, so the timer follows the
    link to wherever it points later.
    """
    script = Path(argv0)
    if script.name == "rabb" and script.is_file() and os.access(script, os.X_OK):
        return [os.path.abspath(argv0)]
    return [os.path.abspath(executable), "-m", "rabb_cli"]


def build_plan(
    interval: Interval,
    paths: Paths,
    publish_timeout: timedelta,
    concurrency: int,
    environ: Mapping[str, str],
    program: list[str],
) -> TimerPlan:
    """Return the plan to run `program run-due` at every `interval`."""
    return TimerPlan(
        interval=interval,
        command=[*program, "run-due"],
        environment=timer_environment(environ),
        timeout=service_timeout(publish_timeout, concurrency),
        paths=paths,
    )


def timer_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables of PASSED_VARIABLES that are set, for the timer."""
    passed = {}
    for name in PASSED_VARIABLES:
        value = environ.get(name, "").strip()
        if value and name == "RABB_HOME":
            value = str(Path(value).expanduser().absolute())
        if value:
            passed[name] = value
    return passed


def unpassed_settings(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return (variable, setting) pairs set in `environ` that the timer will miss.

    cron and the systemd user manager start run-due without the shell's
    environment, so a key in LATE_API_KEY reaches it only through config.toml.
    """
    from rabb_cli.config import SETTINGS

    missed = []
    for setting in SETTINGS:
        for variable in setting.env:
            if variable not in PASSED_VARIABLES and environ.get(variable, "").strip():
                missed.append((variable, setting.name))
    return missed


def run_tool(
    args: Sequence[str], *, stdin: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run `systemctl` or `crontab` from PATH and return the finished process.

    Raises RabbError when the program is missing, takes longer than 30s, or (with
    `check`) exits with a non-zero status. The message quotes its stderr.
    """
    program = shutil.which(args[0])
    if program is None:
        raise RabbError(f"{args[0]} not found on PATH", "install it, or check PATH")
    try:
        finished = subprocess.run(
            [program, *args[1:]],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RabbError(
            f"'{' '.join(args)}' timed out after {TOOL_TIMEOUT_SECONDS}s"
        ) from error

    if check and finished.returncode != 0:
        raise RabbError(f"'{' '.join(args)}' failed: {tool_message(finished)}")
    return finished


def tool_message(finished: subprocess.CompletedProcess[bytes]) -> str:
    """Return the first line of a program's stderr, or its exit status."""
    text = finished.stderr.decode("utf-8", "replace").strip()
    first_line = text.splitlines()[0] if text else ""
    return first_line or f"exit status {finished.returncode}"


def linger_enabled(user: str) -> bool:
    """Return whether systemd keeps `user`'s manager, and timers, running at logout."""
    return (LINGER_DIR / user).exists()


class Systemd:
    """The timer as a systemd user service and timer."""

    name = "systemd"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self._available: bool | None = None

    def probe(self) -> str | None:
        """Return why the user manager cannot be used, or None when it responds."""
        if shutil.which("systemctl") is None:
            return "systemctl not found on PATH"
        finished = run_tool(["systemctl", "--user", "show-environment"], check=False)
        if finished.returncode != 0:
            return f"'systemctl --user' failed: {tool_message(finished)}"
        return None

    def available(self) -> bool:
        if self._available is None:
            self._available = self.probe() is None
        return self._available

    def unit_dir(self) -> Path:
        """Return the folder the user manager reads unit files from."""
        config_home = self.environ.get("XDG_CONFIG_HOME", "")
        if not os.path.isabs(config_home):
            config_home = str(Path.home() / ".config")
        return Path(config_home) / "systemd" / "user"

    def unit_files(self, plan: TimerPlan) -> dict[Path, str]:
        service = service_unit(plan.command, plan.environment, plan.timeout)
        return {
            self.unit_dir() / SERVICE_NAME: service,
            self.unit_dir() / TIMER_NAME: timer_unit(plan.interval),
        }

    def installed(self) -> bool:
        return (self.unit_dir() / TIMER_NAME).exists()

    def install(self, plan: TimerPlan) -> bool:
        """Write the units, then enable and (re)start the timer.

        Returns whether a unit file changed.
        """
        files = self.unit_files(plan)
        changed = any(_read_text(path) != text for path, text in files.items())
        for path, text in files.items():
            _write_atomically(path, text)

        run_tool(["systemctl", "--user", "daemon-reload"])
        run_tool(["systemctl", "--user", "enable", TIMER_NAME])
        run_tool(["systemctl", "--user", "restart", TIMER_NAME])
        return changed

    def uninstall(self) -> bool:
        """Stop and disable the timer and delete both units; False if none."""
        present = [
            path
            for path in (self.unit_dir() / TIMER_NAME, self.unit_dir() / SERVICE_NAME)
            if path.exists()
        ]
        if not present:
            return False

        manager = self.available()
        if manager:
            # Fails harmlessly when the manager never loaded the timer.
            run_tool(
                ["systemctl", "--user", "disable", "--now", TIMER_NAME], check=False
            )
        for path in present:
            path.unlink()
        if manager:
            run_tool(["systemctl", "--user", "daemon-reload"])
        return True

    def status(self) -> TimerStatus | None:
        """Return what is installed and when the timer fires next, or None."""
        if not self.installed():
            return None
        timer_text = _read_text(self.unit_dir() / TIMER_NAME) or ""
        service_text = _read_text(self.unit_dir() / SERVICE_NAME) or ""
        interval = interval_from_on_calendar(_unit_value(timer_text, "OnCalendar"))
        status = TimerStatus(
            backend=self.name,
            interval=interval.text if interval else None,
            location=str(self.unit_dir() / TIMER_NAME),
            command=_unit_value(service_text, "ExecStart"),
        )
        if self.available():
            self._add_live_state(status)
        else:
            status.details["warning"] = "the systemd user manager is not reachable"
        return status

    def _add_live_state(self, status: TimerStatus) -> None:
        timer = self._show(TIMER_NAME, "ActiveState,NextElapseUSecRealtime")
        service = self._show(SERVICE_NAME, "Result,ExecMainStatus")
        status.state = timer.get("ActiveState") or None
        next_text = timer.get("NextElapseUSecRealtime", "")
        status.next_run = parse_systemd_time(next_text)
        status.next_run_text = next_text or None
        if service.get("Result"):
            status.details["last_result"] = service["Result"]
        if service.get("ExecMainStatus"):
            status.details["last_exit_status"] = service["ExecMainStatus"]

    def _show(self, unit: str, properties: str) -> dict[str, str]:
        base = ["systemctl", "--user", "show", unit, f"--property={properties}"]
        # --timestamp=utc (present in systemd 252) prints times that parse alike in
        # every zone. A version without it rejects the option, and its local times
        # are then shown as text.
        finished = run_tool([*base, "--timestamp=utc"], check=False)
        if finished.returncode != 0:
            finished = run_tool(base, check=False)
        return _parse_properties(finished.stdout.decode("utf-8", "replace"))


class Cron:
    """The timer as one line in the user's crontab."""

    name = "cron"

    def available(self) -> bool:
        return shutil.which("crontab") is not None

    def probe(self) -> str | None:
        return None if self.available() else "crontab not found on PATH"

    def line(self, plan: TimerPlan, *, require_flock: bool = True) -> str:
        """Return the crontab line for `plan`.

        Raises RabbError when flock is not on PATH, unless `require_flock` is off,
        in which case the line calls `flock` by name.
        """
        flock = shutil.which("flock")
        if flock is None and require_flock:
            raise RabbError(
                "flock not found on PATH, and the crontab line needs it so that"
                " runs never overlap",
                "install util-linux, or use --systemd",
            )
        return cron_line(
            plan.interval,
            plan.command,
            plan.environment,
            os.path.abspath(flock) if flock else "flock",
            str(plan.paths.lock_file),
            str(plan.paths.log_file),
        )

    def read(self) -> str:
        """Return the user's crontab, or "" when there is none."""
        finished = run_tool(["crontab", "-l"], check=False)
        if finished.returncode == 0:
            return crontab.decode(finished.stdout)
        if b"no crontab" in finished.stderr.lower():
            return ""
        raise RabbError(f"'crontab -l' failed: {tool_message(finished)}")

    def write(self, text: str) -> None:
        if text:
            run_tool(["crontab", "-"], stdin=crontab.encode(text))
        else:
            run_tool(["crontab", "-r"])

    def install(self, plan: TimerPlan) -> bool:
        """Put rabb's line into the crontab; returns whether the crontab changed."""
        line = self.line(plan)
        # The redirection to the log file fails, and the run with it, when the
        # state folder is missing.
        ensure_private_dir(plan.paths.state_dir)
        current = self.read()
        updated = crontab.with_line(current, line)
        if updated == current:
            return False
        self.write(updated)
        return True

    def uninstall(self) -> bool:
        """Remove rabb's line from the crontab; False when there was none."""
        if not self.available():
            return False
        current = self.read()
        updated = crontab.without_line(current)
        if updated == current:
            return False
        self.write(updated)
        return True

    def status(self, now: datetime) -> TimerStatus | None:
        """Return rabb's crontab line and its next run, or None."""
        if not self.available():
            return None
        lines = crontab.rabb_lines(self.read())
        if not lines:
            return None

        line = lines[0]
        interval = interval_from_cron(crontab.schedule_of(line))
        status = TimerStatus(
            backend=self.name,
            interval=interval.text if interval else None,
            location="crontab",
            command=line,
            state="installed",
        )
        if interval:
            status.next_run = next_cron_run(interval, now, _cron_zone())
        if len(lines) > 1:
            status.details["warning"] = f"{len(lines)} rabb lines in the crontab"
        return status


def choose_backend(requested: str | None) -> Systemd | Cron:
    """Return the requested back end, or systemd when its user manager responds,
    else cron.

    Raises RabbError when no back end is requested and neither can be used.
    """
    if requested == "systemd":
        return Systemd()
    if requested == "cron":
        return Cron()

    systemd = Systemd()
    if systemd.available():
        return systemd
    cron = Cron()
    if cron.available():
        return cron
    raise RabbError(
        "cannot install a timer: neither a systemd user manager ('systemctl"
        " --user') nor crontab is available",
        "install cron, or run 'rabb run-due' every minute from another scheduler",
    )


def backend_to_print(requested: str | None) -> tuple[Systemd | Cron, str]:
    """Return the back end `rabb timer install --print` shows, and why.

    That is the requested one, else the one `install` would choose. Where neither
    can be used, it is systemd when `systemctl` is on PATH and cron otherwise, so
    that `--print` works on any machine.
    """
    if requested is not None:
        backend = Systemd() if requested == "systemd" else Cron()
        return backend, f"as requested with --{requested}"
    systemd = Systemd()
    if systemd.available():
        return systemd, "because 'systemctl --user' responds"
    if Cron().available():
        return Cron(), "because no systemd user manager responds"
    if shutil.which("systemctl") is not None:
        return systemd, "because systemctl is on PATH, though it does not respond"
    return Cron(), "because neither systemctl nor crontab is on PATH"


def require_available(backend: Systemd | Cron) -> None:
    """Raise RabbError naming the problem when `backend` cannot be used here."""
    problem = backend.probe()
    if problem is None:
        return
    other = "--cron" if backend.name == "systemd" else "--systemd"
    raise RabbError(f"cannot use {backend.name}: {problem}", f"try {other}")


def other_backend(backend: Systemd | Cron) -> Systemd | Cron:
    return Cron() if backend.name == "systemd" else Systemd()


def parse_systemd_time(text: str) -> datetime | None:
    """Parse a time that `systemctl show --timestamp=utc` prints, or return None."""
    match = _SYSTEMD_TIME.search(text)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _cron_zone() -> tzinfo:
    from rabb_cli.timeparse import system_zone

    # NOTE: cron reads the schedule in the zone of the cron daemon, normally the
    # system zone. When TZ is set only in this shell the two differ, and a step of
    # hours is then shown shifted.
    return system_zone()


def _parse_properties(text: str) -> dict[str, str]:
    properties = {}
    for line in text.splitlines():
        name, separator, value = line.partition("=")
        if separator:
            properties[name] = value
    return properties


def _unit_value(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{key}="):
            return line.removeprefix(f"{key}=")
    return ""


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, "utf-8")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
