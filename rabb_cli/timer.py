"""Intervals, systemd unit files and the crontab line that `rabb timer` installs.

Every function here is pure: it takes paths, settings and the clock as arguments and
returns text or values, so tests can check the output without a user manager or a
crontab. `rabb_cli.schedulers` runs `systemctl` and `crontab` with this output.

An interval must be a whole number of minutes that divides an hour, or a whole
number of hours that divides a day. Only those repeat evenly as a cron `*/N` step,
and the same set is used for systemd so that both back ends behave alike.
"""

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from rabb_cli.errors import InvalidInput

SERVICE_NAME = "rabb-run-due.service"
TIMER_NAME = "rabb-run-due.timer"
# Ends the crontab line that `rabb timer install` owns. It follows a `#`, so
# /bin/sh ignores it, and it contains no `%`, which cron would turn into a newline.
CRON_MARKER = "# rabb-timer: managed by 'rabb timer install'"
UNIT_HEADER = (
    "# Written by 'rabb timer install'. Remove it with 'rabb timer uninstall'."
)

# The number of due posts, each as slow as `publish.timeout`, that one run may
# publish before systemd stops it (see service_timeout).
SLOW_RUN_POSTS = 100
SERVICE_OVERHEAD = timedelta(minutes=5)

MINUTE_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12, 24)

# systemd rejects these in a program path ("Executable name contains special
# characters", systemd 252): quotes, backslashes and control characters.
_UNSAFE_PROGRAM = re.compile(r"[\"'\\\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:=@+-]+")


@dataclass(frozen=True)
class Interval:
    """Time between two runs, in whole minutes."""

    minutes: int

    @property
    def text(self) -> str:
        """Return the interval as `--every` takes it, such as `5m` or `2h`."""
        if self.minutes < 60:
            return f"{self.minutes}m"
        return f"{self.minutes // 60}h"

    @property
    def span(self) -> timedelta:
        return timedelta(minutes=self.minutes)


INTERVALS = tuple(
    [Interval(step) for step in MINUTE_STEPS] + [Interval(60 * h) for h in HOUR_STEPS]
)
ACCEPTED_INTERVALS = ", ".join(interval.text for interval in INTERVALS)


def parse_interval(text: str) -> Interval:
    """Parse `--every` (such as `1m`, `15m` or `2h`) into an Interval.

    Raises InvalidInput for a malformed duration and for one that cron cannot
    repeat evenly, such as `90s` or `7m`.
    """
    from rabb_cli.timeparse import parse_duration

    span = parse_duration(text)
    minutes, seconds = divmod(span.total_seconds(), 60)
    interval = Interval(int(minutes))
    if seconds or interval not in INTERVALS:
        raise InvalidInput(
            f"unsupported interval {text!r}: cron repeats a job evenly only at"
            " whole minutes that divide an hour or whole hours that divide a day",
            f"use one of {ACCEPTED_INTERVALS}",
        )
    return interval


def cron_schedule(interval: Interval) -> str:
    """Return the five cron time fields that run a job at every `interval`."""
    if interval.minutes == 1:
        return "* * * * *"
    if interval.minutes < 60:
        return f"*/{interval.minutes} * * * *"
    hours = interval.minutes // 60
    if hours == 1:
        return "0 * * * *"
    if hours == 24:
        return "0 0 * * *"
    return f"0 */{hours} * * *"


def on_calendar(interval: Interval) -> str:
    """Return the systemd `OnCalendar=` expression for `interval`."""
    if interval.minutes == 1:
        return "*-*-* *:*:00"
    if interval.minutes < 60:
        return f"*-*-* *:00/{interval.minutes}:00"
    hours = interval.minutes // 60
    if hours == 1:
        return "*-*-* *:00:00"
    if hours == 24:
        return "*-*-* 00:00:00"
    return f"*-*-* 00/{hours}:00:00"


def interval_from_cron(schedule: str) -> Interval | None:
    """Return the interval whose cron fields are `schedule`, or None."""
    normalized = " ".join(schedule.split())
    return next((i for i in INTERVALS if cron_schedule(i) == normalized), None)


def interval_from_on_calendar(expression: str) -> Interval | None:
    """Return the interval whose `OnCalendar=` expression is `expression`, or None."""
    normalized = expression.strip()
    return next((i for i in INTERVALS if on_calendar(i) == normalized), None)


def accuracy(interval: Interval) -> timedelta:
    """Return the `AccuracySec=` for `interval`: a sixtieth of it, 1s to 1min.

    systemd's default of one minute would let a run every minute drift by a whole
    interval, so the accuracy shrinks with the interval.
    """
    sixtieth = interval.span / 60
    return min(max(sixtieth, timedelta(seconds=1)), timedelta(minutes=1))


def service_timeout(publish_timeout: timedelta, concurrency: int) -> timedelta:
    """Return the `TimeoutStartSec=` of the service.

    systemd stops a oneshot service that is still running after TimeoutStartSec,
    and its default of 90s is shorter than one slow publish request
    (`publish.timeout`, 5m by default). A run makes one attempt per due post,
    `publish.concurrency` posts at a time, so its length grows with the number
    of due posts. The limit leaves room for SLOW_RUN_POSTS posts that each take
    the whole `publish.timeout`, plus SERVICE_OVERHEAD for start-up, the store,
    the accounts and alerts: 2h10m with the defaults. A run that needs longer is
    stuck rather than slow. systemd then stops it, the posts it claimed are sent
    again after `publish.lease` with the same idempotency key, and the others stay
    due for the next run.
    """
    rounds = math.ceil(SLOW_RUN_POSTS / max(concurrency, 1))
    return publish_timeout * rounds + SERVICE_OVERHEAD


def next_cron_run(interval: Interval, after: datetime, zone: tzinfo) -> datetime:
    """Return the first minute after `after` at which cron runs the job, in UTC.

    cron reads its fields as wall-clock time in `zone`, so a step of hours follows
    daylight-saving changes. The search walks minute by minute over at most two
    days, which is enough for every accepted interval.
    """
    start = after.astimezone(UTC).replace(second=0, microsecond=0)
    for step in range(1, 2 * 24 * 60 + 1):
        candidate = start + timedelta(minutes=step)
        local = candidate.astimezone(zone)
        if _cron_matches(interval, local):
            return candidate
    raise AssertionError(f"no run of {interval.text} within two days")


def _cron_matches(interval: Interval, local: datetime) -> bool:
    if interval.minutes < 60:
        return local.minute % interval.minutes == 0
    hours = interval.minutes // 60
    return local.minute == 0 and local.hour % hours == 0


def service_unit(
    command: Sequence[str], environment: Mapping[str, str], timeout: timedelta
) -> str:
    """Return the text of the oneshot service that runs `command` once."""
    lines = [
        UNIT_HEADER,
        "[Unit]",
        "Description=Publish due rabb posts",
        "",
        "[Service]",
        "Type=oneshot",
        f"ExecStart={exec_command(command)}",
    ]
    lines += [environment_assignment(name, environment[name]) for name in environment]
    lines += [
        f"# Room for {SLOW_RUN_POSTS} due posts that each take publish.timeout,",
        "# publish.concurrency at a time, plus 5min. A longer run is stuck.",
        f"TimeoutStartSec={int(timeout.total_seconds())}",
    ]
    return "\n".join(lines) + "\n"


def timer_unit(interval: Interval) -> str:
    """Return the text of the timer that starts the service at every `interval`."""
    accuracy_seconds = int(accuracy(interval).total_seconds())
    lines = [
        UNIT_HEADER,
        "[Unit]",
        f"Description=Run rabb run-due every {interval.text}",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar(interval)}",
        "# Start a run at boot when the machine was off at a scheduled time.",
        "Persistent=true",
        f"AccuracySec={accuracy_seconds}s",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return "\n".join(lines) + "\n"


def exec_command(command: Sequence[str]) -> str:
    """Quote a program and its arguments for `ExecStart=`.

    systemd splits the line at spaces outside quotes, reads C escapes inside double
    quotes, expands `%` specifiers everywhere and `$VARIABLE` in the arguments. The
    program path must not contain quotes, backslashes or control characters.
    """
    program, *arguments = command
    if _UNSAFE_PROGRAM.search(program):
        raise InvalidInput(
            f"cannot run {program!r} from a systemd unit, because systemd rejects"
            " quotes, backslashes and control characters in a program path",
            "install rabb in a folder without them, or use --cron",
        )
    words = ['"' + program.replace("%", "%%") + '"']
    words += [_systemd_argument(argument) for argument in arguments]
    return " ".join(words)


def _systemd_argument(argument: str) -> str:
    _reject_control(argument, "systemd unit")
    if _PLAIN_WORD.fullmatch(argument):
        return argument
    escaped = _systemd_escape(argument).replace("$", "$$")
    return f'"{escaped}"'


def environment_assignment(name: str, value: str) -> str:
    """Return an `Environment=` line that sets `name` to `value` exactly.

    Inside double quotes systemd reads C escapes and `%` specifiers, but it never
    expands `$`, unlike in `ExecStart=`.
    """
    _reject_control(value, "systemd unit")
    return f'Environment="{name}={_systemd_escape(value)}"'


def _systemd_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def cron_line(
    interval: Interval,
    command: Sequence[str],
    environment: Mapping[str, str],
    flock: str,
    lock_file: str,
    log_file: str,
) -> str:
    """Return the crontab line that runs `command` at every `interval`.

    `flock -n` skips a run while the previous one still holds the lock, and all
    output is appended to `log_file`. The line ends with CRON_MARKER.

    cron runs the line with the crontab's SHELL, /bin/sh unless the user set
    another. So the line uses only POSIX syntax that dash, bash, zsh and fish 3.1
    or newer read alike: `NAME=value` before the command, single quotes, `>>` and
    `2>&1`, and a `#` comment. A csh-family SHELL cannot run it.
    """
    assignments = [f"{name}={cron_word(environment[name])}" for name in environment]
    words = [
        cron_schedule(interval),
        *assignments,
        cron_word(flock),
        "-n",
        cron_word(lock_file),
        *(cron_word(word) for word in command),
        f">>{cron_word(log_file)}",
        "2>&1",
        CRON_MARKER,
    ]
    return " ".join(words)


def cron_word(word: str) -> str:
    """Quote one word for the shell that cron starts, then escape `%` for cron.

    cron ends the command at an unescaped `%` and feeds the rest to stdin, and it
    turns `\\%` into `%` before it passes the line to the shell. How a backslash
    before a `%` is read differs between cron versions, so backslashes are
    rejected.
    """
    _reject_control(word, "crontab line")
    if "\\" in word:
        raise InvalidInput(
            f"cannot write {word!r} into a crontab line, because cron reads a"
            " backslash as the start of an escape",
            "use a path without backslashes, or use --systemd",
        )
    quoted = shlex.quote(word)
    if quoted == word and word.startswith("="):
        # zsh replaces an unquoted `=name`, even in an assignment, with the path of
        # the command `name`. shlex left the word bare, so it has no quote in it.
        quoted = f"'{word}'"
    return quoted.replace("%", "\\%")


def _reject_control(text: str, where: str) -> None:
    if _CONTROL.search(text):
        raise InvalidInput(
            f"cannot write {text!r} into a {where}, because it contains a line"
            " break or another control character",
            "use a path without control characters",
        )
