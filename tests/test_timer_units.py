"""The pure side of `rabb timer`: intervals, unit files, crontab lines and quoting."""

import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rabb_cli.errors import InvalidInput
from rabb_cli.timer import (
    CRON_MARKER,
    INTERVALS,
    Interval,
    accuracy,
    cron_line,
    cron_schedule,
    cron_word,
    environment_assignment,
    exec_command,
    interval_from_cron,
    interval_from_on_calendar,
    next_cron_run,
    on_calendar,
    parse_interval,
    service_timeout,
    service_unit,
    timer_unit,
)

# A folder name with a space, a quote, `%h` (a specifier in systemd and a line
# break in cron) and `$HOME`. Each is special to systemd, cron or /bin/sh.
AWKWARD_HOME = "rabb home/it's 100%h $HOME"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1m", 1), ("5m", 5), ("15 minutes", 15), ("60m", 60), ("1h", 60), ("6h", 360)],
)
def test_parse_interval_accepts(text: str, minutes: int) -> None:
    assert parse_interval(text) == Interval(minutes)


@pytest.mark.parametrize("text", ["7m", "90s", "30s", "1h30m", "5h", "48h", "0m"])
def test_parse_interval_rejects_uneven(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_interval(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "1m, 2m, 3m" in message
    assert "24h" in message


def test_parse_interval_rejects_garbage() -> None:
    with pytest.raises(InvalidInput, match="invalid duration 'soon'"):
        parse_interval("soon")


@pytest.mark.parametrize(
    ("minutes", "cron", "calendar"),
    [
        (1, "* * * * *", "*-*-* *:*:00"),
        (5, "*/5 * * * *", "*-*-* *:00/5:00"),
        (30, "*/30 * * * *", "*-*-* *:00/30:00"),
        (60, "0 * * * *", "*-*-* *:00:00"),
        (120, "0 */2 * * *", "*-*-* 00/2:00:00"),
        (1440, "0 0 * * *", "*-*-* 00:00:00"),
    ],
)
def test_schedule_expressions(minutes: int, cron: str, calendar: str) -> None:
    interval = Interval(minutes)
    assert cron_schedule(interval) == cron
    assert on_calendar(interval) == calendar


def test_schedules_read_back() -> None:
    for interval in INTERVALS:
        assert interval_from_cron(cron_schedule(interval)) == interval
        assert interval_from_on_calendar(on_calendar(interval)) == interval
    assert interval_from_cron("*/7 * * * *") is None
    assert interval_from_on_calendar("daily") is None


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_on_calendar_runs_at_interval() -> None:
    assert SYSTEMD_ANALYZE is not None
    for interval in INTERVALS:
        result = subprocess.run(
            [SYSTEMD_ANALYZE, "calendar", "--iterations=3", on_calendar(interval)],
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
            check=True,
        )
        found = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", result.stdout)
        times = [datetime.fromisoformat(text) for text in found]
        assert len(times) == 3, result.stdout
        assert times[1] - times[0] == interval.span, interval.text
        assert times[2] - times[1] == interval.span, interval.text


def test_accuracy_shrinks_with_interval() -> None:
    assert accuracy(Interval(1)) == timedelta(seconds=1)
    assert accuracy(Interval(5)) == timedelta(seconds=5)
    assert accuracy(Interval(60)) == timedelta(minutes=1)
    assert accuracy(Interval(1440)) == timedelta(minutes=1)


def test_service_timeout_covers_slow_runs() -> None:
    # 100 posts, 4 at a time, each taking the whole 5m timeout: 25 rounds + 5m.
    assert service_timeout(timedelta(minutes=5), 4) == timedelta(hours=2, minutes=10)
    assert service_timeout(timedelta(minutes=5), 1) == timedelta(minutes=505)
    assert service_timeout(timedelta(minutes=5), 3) == timedelta(minutes=175)
    assert service_timeout(timedelta(seconds=30), 100) == timedelta(seconds=330)


@pytest.mark.parametrize("concurrency", [1, 2, 4, 8, 100])
def test_service_timeout_fits_100_slow_posts(concurrency: int) -> None:
    timeout = timedelta(minutes=5)
    rounds = -(-100 // concurrency)
    assert service_timeout(timeout, concurrency) >= timeout * rounds


def test_service_unit_explains_timeout() -> None:
    text = service_unit(["/bin/rabb", "run-due"], {}, timedelta(seconds=7800))
    assert (
        "# Room for 100 due posts that each take publish.timeout,\n"
        "# publish.concurrency at a time, plus 5min. A longer run is stuck.\n"
        "TimeoutStartSec=7800\n"
    ) in text


def test_next_cron_run_steps() -> None:
    after = datetime(2031, 1, 3, 10, 3, 20, tzinfo=UTC)
    assert next_cron_run(Interval(5), after, UTC) == after.replace(minute=5, second=0)
    assert next_cron_run(Interval(1), after, UTC) == after.replace(minute=4, second=0)
    on_the_minute = after.replace(minute=5, second=0)
    assert next_cron_run(Interval(5), on_the_minute, UTC) == after.replace(
        minute=10, second=0
    )
    assert next_cron_run(Interval(120), after, UTC) == after.replace(
        hour=12, minute=0, second=0
    )


def test_next_cron_run_local_zone() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30, so local hours start at :30 UTC
    after = datetime(2031, 1, 3, 10, 3, tzinfo=UTC)
    assert next_cron_run(Interval(60), after, kolkata) == datetime(
        2031, 1, 3, 10, 30, tzinfo=UTC
    )


def test_next_cron_run_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks jump from 02:00 to 03:00 local on 30 March 2031.
    after = datetime(2031, 3, 29, 23, 30, tzinfo=UTC)  # 00:30 local, CET
    found = next_cron_run(Interval(120), after, berlin)
    assert found.astimezone(berlin).hour == 4
    assert found == datetime(2031, 3, 30, 2, 0, tzinfo=UTC)


def test_service_unit_text() -> None:
    text = service_unit(
        ["/opt/my tools/bin/rabb", "run-due"],
        {"RABB_HOME": f"/srv/{AWKWARD_HOME}", "TZ": "Europe/Berlin"},
        timedelta(seconds=1260),
    )
    lines = text.splitlines()
    assert "Type=oneshot" in lines
    assert 'ExecStart="/opt/my tools/bin/rabb" run-due' in lines
    assert 'Environment="RABB_HOME=/srv/rabb home/it\'s 100%%h $HOME"' in lines
    assert 'Environment="TZ=Europe/Berlin"' in lines
    assert "TimeoutStartSec=1260" in lines


def test_timer_unit_text() -> None:
    lines = timer_unit(Interval(5)).splitlines()
    assert "OnCalendar=*-*-* *:00/5:00" in lines
    assert "Persistent=true" in lines
    assert "AccuracySec=5s" in lines
    assert "WantedBy=timers.target" in lines


def test_exec_command_escapes() -> None:
    assert exec_command(["/opt/100%/rabb", "run-due"]) == '"/opt/100%%/rabb" run-due'
    assert exec_command(["/usr/bin/python3", "-m", "rabb_cli", "run-due"]) == (
        '"/usr/bin/python3" -m rabb_cli run-due'
    )
    assert exec_command(["/bin/rabb", 'say "$5" 100%']) == (
        '"/bin/rabb" "say \\"$$5\\" 100%%"'
    )


@pytest.mark.parametrize("program", ['/opt/a"b/rabb', "/opt/it's/rabb", "/a\\b/rabb"])
def test_exec_command_rejects_unsafe_program(program: str) -> None:
    with pytest.raises(InvalidInput, match="systemd rejects quotes"):
        exec_command([program, "run-due"])


def test_environment_assignment_escapes() -> None:
    assert environment_assignment("RABB_HOME", 'C:\\x "y" 5%') == (
        'Environment="RABB_HOME=C:\\\\x \\"y\\" 5%%"'
    )
    with pytest.raises(InvalidInput, match="line break"):
        environment_assignment("RABB_HOME", "/a\nb")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    # verify checks that the program exists, which also proves that systemd
    # unquoted its path to the right file.
    program = tmp_path / "my 100%h tools" / "rabb"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    service = units / "rabb-run-due.service"
    service.write_text(
        service_unit(
            [str(program), "run-due"],
            {"RABB_HOME": str(tmp_path / AWKWARD_HOME), "RABB_TIMEZONE": "UTC"},
            service_timeout(timedelta(minutes=5), 4),
        )
    )
    timer = units / "rabb-run-due.timer"
    timer.write_text(timer_unit(Interval(5)))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)

    result = subprocess.run(
        [SYSTEMD_ANALYZE, "--user", "verify", str(service), str(timer)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_cron_line_text() -> None:
    line = cron_line(
        Interval(5),
        ["/opt/my tools/bin/rabb", "run-due"],
        {"RABB_HOME": f"/srv/{AWKWARD_HOME}"},
        "/usr/bin/flock",
        f"/srv/{AWKWARD_HOME}/state/run-due.lock",
        f"/srv/{AWKWARD_HOME}/state/run-due.log",
    )
    home = "'/srv/rabb home/it'\"'\"'s 100\\%h $HOME'"
    assert line == (
        f"*/5 * * * * RABB_HOME={home} /usr/bin/flock -n"
        f" {home[:-1]}/state/run-due.lock' '/opt/my tools/bin/rabb' run-due"
        f" >>{home[:-1]}/state/run-due.log' 2>&1 {CRON_MARKER}"
    )


@pytest.mark.parametrize("word", ["/a\\b", "/a\nb", "/a\rb"])
def test_cron_word_rejects(word: str) -> None:
    with pytest.raises(InvalidInput):
        cron_word(word)


def run_like_cron(
    line: str, env: dict[str, str], wait: bool = True, shell: str = "/bin/sh"
) -> subprocess.Popen[bytes]:
    """Start the command of a crontab line the way cron does.

    cron ends the command at an unescaped `%` and turns `\\%` into `%`. Then it
    runs the rest with `SHELL -c`, /bin/sh unless the crontab sets SHELL.
    """
    command = line.split(" ", 5)[5]
    assert re.search(r"(?<!\\)%", command) is None, "unescaped % in the line"
    process = subprocess.Popen([shell, "-c", command.replace("\\%", "%")], env=env)
    if wait:
        process.wait(timeout=30)
    return process


@pytest.fixture
def fake_rabb(tmp_path: Path) -> Path:
    """A stand-in `rabb` that records its arguments and RABB_HOME, then waits
    until the file `release` exists."""
    program = tmp_path / "my 100%h tools" / "rabb"
    program.parent.mkdir()
    program.write_text(
        "#!/bin/sh\n"
        f"record='{tmp_path}/record'\n"
        'printf "%s\\n" "$*" >> "$record.args"\n'
        'printf "%s" "$RABB_HOME" > "$record.home"\n'
        'printf "%s" "$TZ" > "$record.tz"\n'
        'echo "out: started"\n'
        'echo "err: working" >&2\n'
        f"while [ ! -e '{tmp_path}/release' ]; do sleep 0.05; done\n"
    )
    program.chmod(0o755)
    return program


def every_minute_line(program: Path, home: Path) -> str:
    """Return the crontab line that runs `program run-due` with RABB_HOME=home,
    after creating the state folder the line writes to."""
    (home / "state").mkdir(parents=True)
    flock = shutil.which("flock")
    assert flock is not None
    return cron_line(
        Interval(1),
        [str(program), "run-due"],
        {"RABB_HOME": str(home)},
        flock,
        str(home / "state" / "run-due.lock"),
        str(home / "state" / "run-due.log"),
    )


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock is not installed")
def test_cron_line_runs_in_shell(tmp_path: Path, fake_rabb: Path) -> None:
    home = tmp_path / AWKWARD_HOME
    (tmp_path / "release").touch()
    line = every_minute_line(fake_rabb, home)

    process = run_like_cron(line, {"PATH": "/usr/bin:/bin"})

    assert process.returncode == 0
    assert (tmp_path / "record.args").read_text() == "run-due\n"
    assert (tmp_path / "record.home").read_text() == str(home)
    log = (home / "state" / "run-due.log").read_text()
    assert log == "out: started\nerr: working\n"
    assert (home / "state" / "run-due.lock").exists()


# The shells a user may name in the crontab's SHELL=, which then runs rabb's line.
USER_SHELLS = ["dash", "bash", "zsh", "fish"]


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock is not installed")
@pytest.mark.parametrize("shell", USER_SHELLS)
def test_cron_line_runs_under_user_shell(
    tmp_path: Path, fake_rabb: Path, shell: str
) -> None:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed")
    home = tmp_path / AWKWARD_HOME
    (tmp_path / "release").touch()
    (home / "state").mkdir(parents=True)
    flock = shutil.which("flock")
    assert flock is not None
    line = cron_line(
        Interval(1),
        [str(fake_rabb), "run-due"],
        # zsh would expand an unquoted `=ls` to the path of ls.
        {"RABB_HOME": str(home), "TZ": "=ls"},
        flock,
        str(home / "state" / "run-due.lock"),
        str(home / "state" / "run-due.log"),
    )

    process = run_like_cron(line, {"PATH": "/usr/bin:/bin"}, shell=program)

    assert process.returncode == 0
    assert (tmp_path / "record.args").read_text() == "run-due\n"
    assert (tmp_path / "record.home").read_text() == str(home)
    assert (tmp_path / "record.tz").read_text() == "=ls"
    assert (home / "state" / "run-due.log").read_text() == (
        "out: started\nerr: working\n"
    )


def test_cron_word_quotes_leading_equals() -> None:
    assert cron_word("=ls") == "'=ls'"
    assert cron_word("a=b") == "a=b"


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock is not installed")
def test_cron_line_never_overlaps(tmp_path: Path, fake_rabb: Path) -> None:
    home = tmp_path / "home"
    line = every_minute_line(fake_rabb, home)
    env = {"PATH": "/usr/bin:/bin"}
    first = run_like_cron(line, env, wait=False)
    deadline = time.monotonic() + 20
    while not (tmp_path / "record.args").exists():
        assert time.monotonic() < deadline, "the first run never started"
        time.sleep(0.05)

    second = run_like_cron(line, env)
    (tmp_path / "release").touch()
    first.wait(timeout=30)

    assert second.returncode == 1
    assert first.returncode == 0
    assert (tmp_path / "record.args").read_text() == "run-due\n"
