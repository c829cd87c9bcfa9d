"""`rabb timer install`, `uninstall` and `status`, run as real processes.

Fake `systemctl` and `crontab` programs come first on PATH (see timer_fakes), so
these tests never touch the real user manager or crontab.
"""

import getpass
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from rabb_cli.timer import CRON_MARKER
from tests.fake_late import FakeLate
from tests.helpers import query
from tests.timer_fakes import RABB, make_machine

pytestmark = pytest.mark.slow

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_flock = pytest.mark.skipif(
    shutil.which("flock") is None, reason="flock is not installed"
)


def linger_on() -> bool:
    return Path("/var/lib/systemd/linger", getpass.getuser()).exists()


def test_install_prefers_systemd(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)

    result = machine.rabb("timer", "install", "--every", "5m")

    assert result.returncode == 0, result.stderr
    service = (machine.unit_dir / "rabb-run-due.service").read_text()
    timer = (machine.unit_dir / "rabb-run-due.timer").read_text()
    assert f'ExecStart="{RABB}" run-due' in service.splitlines()
    assert "OnCalendar=*-*-* *:00/5:00" in timer.splitlines()
    calls = machine.calls()
    assert "systemctl --user daemon-reload" in calls
    assert "systemctl --user enable rabb-run-due.timer" in calls
    assert "systemctl --user restart rabb-run-due.timer" in calls
    assert not machine.crontab.exists()
    assert "Installed the systemd user timer rabb-run-due.timer" in result.stdout
    if not linger_on():
        assert f"loginctl enable-linger {getpass.getuser()}" in result.stdout


@needs_flock
def test_install_falls_back_to_cron(tmp_path: Path, home: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)

    result = machine.rabb("timer", "install")

    assert result.returncode == 0, result.stderr
    lines = machine.crontab.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("* * * * * RABB_HOME=")
    assert lines[0].endswith(CRON_MARKER)
    assert f" {RABB} run-due " in lines[0]
    assert f"-n {home}/state/run-due.lock" in lines[0]
    assert f">>{home}/state/run-due.log 2>&1" in lines[0]
    assert (home / "state").is_dir()
    assert not machine.unit_dir.exists()
    assert f"Log file: {home}/state/run-due.log" in result.stdout


@pytest.fixture
def spaced_rabb(tmp_path: Path) -> Path:
    """The real console script, reached through a folder with a space."""
    folder = tmp_path / "my tools"
    folder.mkdir()
    link = folder / "rabb"
    link.symlink_to(RABB)
    return link


@needs_flock
def test_cron_line_spaces_and_home(tmp_path: Path, spaced_rabb: Path) -> None:
    machine = make_machine(tmp_path / "machine", systemd=False)
    data = tmp_path / "rabb data"
    machine.env.update(RABB_HOME=str(data), RABB_TIMEZONE="Europe/Berlin")

    result = machine.rabb("timer", "install", "--cron", program=spaced_rabb)

    assert result.returncode == 0, result.stderr
    line = machine.crontab.read_text().rstrip("\n")
    assert f"RABB_HOME='{data}' RABB_TIMEZONE=Europe/Berlin " in line
    assert f" '{spaced_rabb}' run-due " in line
    assert f" -n '{data}/state/run-due.lock' " in line
    assert f" >>'{data}/state/run-due.log' 2>&1 " in line


def test_units_spaces_and_home(tmp_path: Path, spaced_rabb: Path) -> None:
    machine = make_machine(tmp_path / "machine", systemd=True)
    data = tmp_path / "rabb data"
    machine.env.update(RABB_HOME=str(data), TZ="America/New_York")
    del machine.env["RABB_TIMEZONE"]

    result = machine.rabb("timer", "install", program=spaced_rabb)

    assert result.returncode == 0, result.stderr
    service = machine.unit_dir / "rabb-run-due.service"
    lines = service.read_text().splitlines()
    assert f'ExecStart="{spaced_rabb}" run-due' in lines
    assert f'Environment="RABB_HOME={data}"' in lines
    assert 'Environment="TZ=America/New_York"' in lines
    assert not [line for line in lines if "RABB_TIMEZONE" in line]
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    verify = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "--user",
            "verify",
            str(service),
            str(machine.unit_dir / "rabb-run-due.timer"),
        ],
        capture_output=True,
        text=True,
        env={**machine.env, "XDG_RUNTIME_DIR": str(runtime)},
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


@needs_flock
def test_crontab_survives_round_trip(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)
    original = (
        b"# my jobs\r\nMAILTO=me@example.com\n\n0 3 * * * /usr/bin/backup --at 3\\%\n"
        b"\n# caf\xe9\n*/10 * * * * date >> /tmp/log\n"
    )
    machine.crontab.write_bytes(original)

    installed = machine.rabb("timer", "install", "--cron")
    assert installed.returncode == 0, installed.stderr
    with_rabb = machine.crontab.read_bytes()
    assert with_rabb.startswith(original)
    assert with_rabb[len(original) :].rstrip(b"\n").endswith(CRON_MARKER.encode())
    assert with_rabb.count(CRON_MARKER.encode()) == 1

    removed = machine.rabb("timer", "uninstall")

    assert removed.returncode == 0, removed.stderr
    assert machine.crontab.read_bytes() == original
    assert "Removed rabb's line from your crontab." in removed.stdout


@needs_flock
def test_install_twice_one_line(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)
    machine.crontab.write_text("0 3 * * * backup\n")

    first = machine.rabb("timer", "install", "--cron")
    second = machine.rabb("timer", "install", "--cron")

    assert first.returncode == second.returncode == 0
    text = machine.crontab.read_text()
    assert text.count(CRON_MARKER) == 1
    assert text.startswith("0 3 * * * backup\n")
    assert text.endswith(f"{CRON_MARKER}\n")
    assert "nothing changed" in second.stdout
    writes = [call for call in machine.calls() if call == "crontab -"]
    assert len(writes) == 1


@needs_flock
def test_install_new_interval_replaces(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)
    machine.rabb("timer", "install", "--cron")

    result = machine.rabb("timer", "install", "--cron", "--every", "15m")

    assert result.returncode == 0, result.stderr
    lines = machine.crontab.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("*/15 * * * * ")


@needs_flock
def test_uninstall_last_line_removes_crontab(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)
    machine.rabb("timer", "install", "--cron")

    result = machine.rabb("timer", "uninstall")

    assert result.returncode == 0, result.stderr
    assert not machine.crontab.exists()
    assert "crontab -r" in machine.calls()


def test_print_writes_nothing(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.crontab.write_text("0 3 * * * backup\n")

    result = machine.rabb("timer", "install", "--print", "--every", "1h")

    assert result.returncode == 0, result.stderr
    assert f"# {machine.unit_dir}/rabb-run-due.service" in result.stdout
    assert "OnCalendar=*-*-* *:00:00" in result.stdout
    assert not machine.unit_dir.exists()
    assert machine.crontab.read_text() == "0 3 * * * backup\n"
    assert machine.calls() == ["systemctl --user show-environment"]


@needs_flock
def test_print_cron_line_only(tmp_path: Path, home: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)

    result = machine.rabb("timer", "install", "--cron", "--print", "--every", "30m")

    assert result.returncode == 0, result.stderr
    comment, line = result.stdout.splitlines()
    assert comment == (
        "# cron, as requested with --cron: 'rabb timer install --cron' adds this"
        " line at the end of your crontab"
    )
    assert line.startswith("*/30 * * * * RABB_HOME=")
    assert line.endswith(CRON_MARKER)
    assert machine.calls() == []
    assert not (home / "state").exists()


@pytest.mark.parametrize(
    ("systemd", "comment"),
    [
        (
            False,
            "# cron, because neither systemctl nor crontab is on PATH: 'rabb timer"
            " install --cron' adds this line at the end of your crontab",
        ),
        (
            True,
            "# systemd, because systemctl is on PATH, though it does not respond:"
            " 'rabb timer install --systemd' writes these files",
        ),
    ],
)
def test_print_without_any_backend(
    tmp_path: Path, home: Path, systemd: bool, comment: str
) -> None:
    machine = make_machine(tmp_path, systemd=False, crontab=False)
    tools = tmp_path / "bin"
    if not systemd:
        (tools / "systemctl").unlink()
    # No flock either: the printed line then calls it by name, with a warning.
    machine.env["PATH"] = str(tools)

    result = machine.rabb("timer", "install", "--print")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == comment
    if systemd:
        assert f"# {machine.unit_dir}/rabb-run-due.service" in lines
        assert "TimeoutStartSec=7800" in lines
        assert result.stderr == ""
    else:
        assert lines[1].startswith(
            f"* * * * * RABB_HOME={home} RABB_TIMEZONE=UTC flock"
        )
        assert result.stderr == (
            "rabb: warning: flock is not on PATH; install util-linux before using"
            " this line\n"
        )
    assert not machine.unit_dir.exists()
    assert not machine.crontab.exists()


def test_neither_backend_one_line_error(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False, crontab=False)
    machine.env["PATH"] = str(tmp_path / "bin")

    result = machine.rabb("timer", "install")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("rabb: error: cannot install a timer: neither")
    assert "crontab" in result.stderr


def test_systemd_unavailable_error(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)

    result = machine.rabb("timer", "install", "--systemd")

    assert result.returncode == 1
    assert result.stderr == (
        "rabb: error: cannot use systemd: 'systemctl --user' failed: Failed to"
        " connect to bus: No medium found. Try --cron.\n"
    )
    assert not machine.unit_dir.exists()


def test_cron_missing_error(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True, crontab=False)
    machine.env["PATH"] = str(tmp_path / "bin")

    result = machine.rabb("timer", "install", "--cron")

    assert result.returncode == 1
    assert result.stderr.startswith("rabb: error: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--systemd", "--cron"], "--systemd and --cron exclude each other"),
        (["--every", "7m"], "unsupported interval '7m'"),
        (["--every", "often"], "invalid duration 'often'"),
    ],
)
def test_install_invalid_input(tmp_path: Path, args: list[str], message: str) -> None:
    machine = make_machine(tmp_path, systemd=True)

    result = machine.rabb("timer", "install", *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert not machine.unit_dir.exists()
    assert "daemon-reload" not in " ".join(machine.calls())


@needs_flock
def test_switch_backend_removes_other(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.rabb("timer", "install", "--systemd")
    assert (machine.unit_dir / "rabb-run-due.timer").exists()

    result = machine.rabb("timer", "install", "--cron")

    assert result.returncode == 0, result.stderr
    assert not (machine.unit_dir / "rabb-run-due.timer").exists()
    assert not (machine.unit_dir / "rabb-run-due.service").exists()
    assert "systemctl --user disable --now rabb-run-due.timer" in machine.calls()
    assert machine.crontab.read_text().count(CRON_MARKER) == 1
    assert "Removed the rabb systemd user timer" in result.stdout


def test_uninstall_systemd(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.rabb("timer", "install")

    result = machine.rabb("timer", "uninstall")

    assert result.returncode == 0, result.stderr
    assert list(machine.unit_dir.iterdir()) == []
    calls = machine.calls()
    disable = calls.index("systemctl --user disable --now rabb-run-due.timer")
    reloads = [
        index
        for index, call in enumerate(calls)
        if call == "systemctl --user daemon-reload"
    ]
    assert reloads[-1] > disable
    assert "Removed the systemd user timer" in result.stdout


def test_uninstall_nothing_installed(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)

    result = machine.rabb("timer", "uninstall")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "No rabb timer is installed; nothing changed.\n"
    assert "crontab -" not in machine.calls()


def test_install_warns_unpassed_key(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.env["LATE_API_KEY"] = "sk_secret_value_123"

    result = machine.rabb("timer", "install")

    assert result.returncode == 0, result.stderr
    assert "LATE_API_KEY is set in this shell" in result.stderr
    assert "set late_api_key in" in result.stderr
    service = (machine.unit_dir / "rabb-run-due.service").read_text()
    assert "sk_secret_value_123" not in service
    assert "LATE_API_KEY" not in service


def test_status_systemd(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.rabb("timer", "install", "--every", "5m")

    result = machine.rabb("timer", "status")

    assert result.returncode == 0, result.stderr
    assert "Timer: systemd user timer (active), every 5m" in result.stdout
    assert "next run: 2031-01-03 10:05 UTC" in result.stdout
    assert "last result: success" in result.stdout
    assert "Last run: none recorded" in result.stdout


@needs_flock
def test_status_cron_json(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False)
    machine.rabb("timer", "install", "--every", "10m")

    result = machine.rabb("timer", "status", "--json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["installed"] is True
    [timer] = status["timers"]
    assert timer["backend"] == "cron"
    assert timer["interval"] == "10m"
    assert timer["command"].endswith(CRON_MARKER)
    minute = int(timer["next_run"][14:16])
    assert minute % 10 == 0
    assert status["last_run"] is None


def test_status_not_installed(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=False, crontab=False)
    machine.env["PATH"] = str(tmp_path / "bin")

    result = machine.rabb("timer", "status")

    assert result.returncode == 0, result.stderr
    assert "No rabb timer is installed." in result.stdout
    assert "Neither back end is available here" in result.stdout


def test_status_last_run(tmp_path: Path, home: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    home.mkdir(parents=True)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("CREATE TABLE run (id INTEGER PRIMARY KEY, started_at TEXT)")
    connection.execute(
        "INSERT INTO run (started_at) VALUES ('2031-01-03T09:58:00.000000Z')"
    )
    connection.commit()
    connection.close()

    text = machine.rabb("timer", "status")
    data = machine.rabb("timer", "status", "--json")

    assert "Last run: 2031-01-03 09:58 UTC" in text.stdout
    assert json.loads(data.stdout)["last_run"]["started_at"] == "2031-01-03T09:58:00Z"


def test_install_from_python_module(tmp_path: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    result = subprocess.run(
        [os.fspath(RABB.parent / "python"), "-m", "rabb_cli", "timer", "install"],
        env=machine.env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    service = (machine.unit_dir / "rabb-run-due.service").read_text()
    expected = f'ExecStart="{RABB.parent / "python"}" -m rabb_cli run-due'
    assert expected in service.splitlines()


def test_status_shows_real_run(tmp_path: Path, home: Path) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.env["RABB_PUBLISHER"] = "outbox"
    machine.rabb("timer", "install")
    assert machine.rabb("schedule", "Later", "-p", "x", "--at", "in 2h").returncode == 0

    ran = machine.rabb("run-due")
    text = machine.rabb("timer", "status")
    data = machine.rabb("timer", "status", "--json")

    assert ran.returncode == 0, ran.stderr
    [row] = query(home / "rabb.db", "SELECT started_at, finished_at, status FROM run")
    assert row[2] == "ok"
    last_run = json.loads(data.stdout)["last_run"]
    assert last_run["started_at"] == row[0][:19] + "Z"
    assert last_run["finished_at"] == row[1][:19] + "Z"
    assert last_run["status"] == "ok"
    assert last_run["due"] == 0
    assert last_run["failed"] == 0
    assert "exit_code" not in last_run
    assert "ago): nothing was due" in text.stdout


def test_status_shows_failed_run(
    tmp_path: Path, home: Path, fake_late: FakeLate
) -> None:
    machine = make_machine(tmp_path, systemd=True)
    machine.env |= {"LATE_BASE_URL": fake_late.base_url, "LATE_API_KEY": "sk_wrong"}
    machine.rabb("schedule", "Now", "-p", "x", "--at", "in 1s")
    time.sleep(1.1)

    ran = machine.rabb("run-due")
    text = machine.rabb("timer", "status")
    data = machine.rabb("timer", "status", "--json")

    assert ran.returncode == 1
    last_run = json.loads(data.stdout)["last_run"]
    assert last_run["status"] == "error"
    assert last_run["error"].startswith("Late rejected the API key (HTTP 401")
    assert last_run["finished_at"] is not None
    assert "ago): error: Late rejected the API key (HTTP 401" in text.stdout
