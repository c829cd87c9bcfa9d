"""`rabb doctor`: one line per check, exit status 1 on an error, never a key.

Fake `systemctl` and `crontab` programs come first on PATH (see timer_fakes), so
the timer checks never reach the real user manager or crontab. Late is a respx
route, or a closed port on 127.0.0.1 for a network failure.
"""

import hashlib
import json
import socket
import sqlite3
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from rabb_cli import doctor
from rabb_cli.publish.due import format_time
from rabb_cli.store import SCHEMA_VERSION
from rabb_cli.timeparse import detect_system_zone
from rabb_cli.timer import CRON_MARKER
from tests.conftest import Cli, Result, subprocess_env
from tests.helpers import query, run_rabb, write_config
from tests.late_respx import API_KEY, mock_late
from tests.timer_fakes import Machine, make_machine

CHECK_NAMES = [
    "config",
    "late_key",
    "resend",
    "database",
    "schema",
    "timer",
    "last_run",
    "stuck_posts",
    "zone",
]
ACCOUNTS = [{"_id": "x-1", "platform": "twitter", "username": "me", "isActive": True}]
RESEND_KEY = "re_" + "4f" * 20
OUTBOX_CONFIG = '[publish]\npublisher = "outbox"\n'
# The variables of timer_fakes.make_machine that point rabb at the fake tools.
MACHINE_VARIABLES = (
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "FAKE_LOG",
    "FAKE_CRONTAB",
    "FAKE_SYSTEMD",
)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """Fake systemctl and crontab for this process and the rabb processes it starts."""
    fake = make_machine(tmp_path / "machine", systemd=True)
    for name in MACHINE_VARIABLES:
        monkeypatch.setenv(name, fake.env[name])
    return fake


@pytest.fixture
def late() -> Iterator[respx.MockRouter]:
    with mock_late() as router:
        router.get("/accounts").mock(
            return_value=httpx.Response(200, json={"accounts": ACCOUNTS})
        )
        yield router


def checks(result: Result) -> dict[str, dict[str, Any]]:
    """Return the checks of `rabb doctor --json` by name."""
    data = json.loads(result.stdout)
    return {check["name"]: check for check in data}


def run_doctor(cli: Cli) -> tuple[Result, dict[str, dict[str, Any]]]:
    """Run `rabb doctor --json` and return its result and its checks by name."""
    result = cli("doctor", "--json")
    return result, checks(result)


def schedule_later(cli: Cli) -> int:
    result = cli("schedule", "A post for later", "-p", "twitter", "--at", "in 2h")
    assert result.exit_code == 0, result.stderr
    return int(result.stdout.split()[1])


def install_timer(cli: Cli, every: str = "1m") -> None:
    result = cli("timer", "install", "--every", every)
    assert result.exit_code == 0, result.stderr


def record_run(home: Path, started_ago: timedelta, **values: Any) -> None:
    """Record a run of run-due that started `started_ago` before now."""
    started = datetime.now(UTC) - started_ago
    row = {"started_at": format_time(started), "pid": 1, "status": "ok"}
    row["finished_at"] = format_time(started + timedelta(seconds=1))
    row.update(values)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        f"INSERT INTO run ({columns}) VALUES ({marks})", list(row.values())
    )
    connection.commit()
    connection.close()


def update_post(home: Path, post_id: int, **values: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in values)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute(
        f"UPDATE post SET {assignments} WHERE id = ?", [*values.values(), post_id]
    )
    connection.commit()
    connection.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def healthy_store(cli: Cli, home: Path, config: str) -> None:
    """A store with a post, a key or the outbox, a timer and a recent run."""
    write_config(home, config)
    schedule_later(cli)
    install_timer(cli)
    assert cli("run-due").exit_code == 0


def test_healthy_store_all_ok(
    cli: Cli, home: Path, machine: Machine, late: respx.MockRouter
) -> None:
    healthy_store(cli, home, f'late_api_key = "{API_KEY}"\n')

    result = cli("doctor")

    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(CHECK_NAMES) + 1
    for line, name in zip(lines, CHECK_NAMES, strict=False):
        assert line.split()[:2] == ["ok", name], line
    assert lines[-1] == "9 checks: 9 ok, 0 warnings, 0 errors"
    assert "Late accepted the key sk_…7c7c (from config.toml); 1 account" in lines[1]
    assert "systemd user timer (active) runs run-due every 1m" in lines[5]
    assert "nothing was due" in lines[6]
    assert late.routes[0].call_count == 1
    assert API_KEY not in result.stdout + result.stderr


def test_healthy_outbox_subprocess(home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    assert machine.rabb("schedule", "Later", "-p", "x", "--at", "in 1h").returncode == 0
    assert machine.rabb("timer", "install").returncode == 0
    assert machine.rabb("run-due").returncode == 0

    result = machine.rabb("doctor", "--json")

    assert result.returncode == 0, result.stdout
    found = {check["name"]: check for check in json.loads(result.stdout)}
    assert list(found) == CHECK_NAMES
    assert {check["status"] for check in found.values()} == {"ok"}
    assert found["late_key"]["message"].startswith("not applicable: the outbox")


def test_stale_publishing_posts_named(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    resend, used_up, on_late = (schedule_later(cli) for _ in range(3))
    claimed = format_time(datetime.now(UTC) - timedelta(hours=1))
    for post_id in (resend, used_up, on_late):
        update_post(
            home, post_id, status="publishing", claimed_by="run-9", claimed_at=claimed
        )
    update_post(home, resend, attempts=1)
    update_post(home, used_up, attempts=4)
    update_post(home, on_late, attempts=1, late_post_id="late-77")
    recent = schedule_later(cli)
    update_post(home, recent, status="publishing", claimed_by="run-10")
    update_post(home, recent, claimed_at=format_time(datetime.now(UTC)))
    before = digest(home / "rabb.db")

    result, found = run_doctor(cli)

    stuck = found["stuck_posts"]
    assert stuck["status"] == "warning"
    assert stuck["message"].startswith(
        f"posts {resend}, {used_up}, {on_late} have been PUBLISHING for longer than"
        " publish.lease (15m)"
    )
    assert (
        f"sends post {resend} again with the same idempotency key" in stuck["message"]
    )
    assert (
        f"marks post {used_up} FAILED, because its attempts are used up"
        in (stuck["message"])
    )
    assert f"checks post {on_late} on Late" in stuck["message"]
    assert str(recent) not in stuck["message"]
    assert stuck["fix"] == "nothing to do if the timer runs; else run 'rabb run-due'"
    assert result.exit_code == 0
    assert digest(home / "rabb.db") == before


def test_stale_claims_named_by_kind(cli: Cli, home: Path, machine: Machine) -> None:
    """A claim says what its run was doing, whatever `late_post_id` names."""
    write_config(home, OUTBOX_CONFIG)
    created, retried, checked = (schedule_later(cli) for _ in range(3))
    claimed = format_time(datetime.now(UTC) - timedelta(hours=1))
    kinds = {created: "create", retried: "late_retry", checked: "check"}
    for post_id, kind in kinds.items():
        update_post(
            home, post_id, status="publishing", claimed_by="run-9", claimed_at=claimed
        )
        update_post(home, post_id, claim_kind=kind, attempts=1, late_post_id="late-old")
    update_post(home, created, attempt_key="rabb-k-r2", attempt_sent_at=claimed)
    expired = schedule_later(cli)
    update_post(
        home, expired, status="publishing", claimed_by="run-9", claimed_at=claimed
    )
    sent_long_ago = format_time(datetime.now(UTC) - timedelta(days=2))
    update_post(home, expired, claim_kind="create", attempt_key="rabb-k2-r1")
    update_post(home, expired, attempt_sent_at=sent_long_ago)

    _, found = run_doctor(cli)

    message = found["stuck_posts"]["message"]
    assert f"sends post {created} again with the same idempotency key" in message
    assert f"asks Late again to retry post {retried}" in message
    assert f"checks post {checked} on Late" in message
    assert f"marks post {expired} FAILED, because its unanswered key is too old" in (
        message
    )


def test_missing_timer_warns(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)

    result = cli("doctor")
    _, found = run_doctor(cli)

    assert found["timer"]["status"] == "warning"
    assert found["timer"]["fix"] == "run 'rabb timer install'"
    assert found["last_run"]["status"] == "warning"
    assert found["last_run"]["fix"] == "run 'rabb timer install'"
    [line] = [line for line in result.stdout.splitlines() if line.split()[1] == "timer"]
    assert line.startswith("warning timer")
    assert line.endswith("are never published. Fix: run 'rabb timer install'")
    assert result.exit_code == 0


def test_wrong_key_401(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, f'late_api_key = "{API_KEY}"\n')
    with mock_late() as router:
        route = router.get("/accounts").mock(
            return_value=httpx.Response(401, json={"error": "Unauthorized"})
        )
        text = cli("doctor")
        result, found = run_doctor(cli)

    assert route.call_count == 2
    assert text.exit_code == 1
    assert result.exit_code == 1
    check = found["late_key"]
    assert check["status"] == "error"
    assert check["message"] == (
        "Late rejected the key sk_…7c7c (from config.toml) with HTTP 401 Unauthorized"
    )
    assert "check the key" in check["fix"]
    for output in (text.stdout, text.stderr, result.stdout, result.stderr):
        assert API_KEY not in output
        assert API_KEY[3:20] not in output


def test_network_failure_is_warning(
    cli: Cli, home: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A port that was free a moment ago refuses the connection.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LATE_BASE_URL", f"http://127.0.0.1:{port}")
    write_config(home, f'late_api_key = "{API_KEY}"\n')

    result, found = run_doctor(cli)

    check = found["late_key"]
    assert check["status"] == "warning"
    assert check["message"].startswith(
        "the key sk_…7c7c (from config.toml) could not be checked: cannot fetch"
    )
    assert "check the network" in check["fix"]
    assert result.exit_code == 0


def test_no_key_is_error(cli: Cli, home: Path, machine: Machine) -> None:
    result, found = run_doctor(cli)

    assert found["late_key"]["status"] == "error"
    assert found["late_key"]["message"] == (
        "no Late API key is set, so run-due cannot publish"
    )
    assert result.exit_code == 1


def test_key_from_open_file(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, f'late_api_key = "{API_KEY}"\n').chmod(0o644)

    text = cli("doctor")
    result, found = run_doctor(cli)

    config_file = home / "config.toml"
    assert found["config"]["status"] == "error"
    assert found["config"]["message"] == (
        f"{config_file} contains an API key but other users can read it (mode 0644)"
    )
    assert found["config"]["fix"] == f"run 'chmod 600 {config_file}'"
    for name in ("late_key", "resend", "stuck_posts", "zone"):
        assert found[name]["message"] == (
            "not checked, because the settings cannot be read"
        )
        assert found[name]["fix"] == f"run 'chmod 600 {config_file}'"
    assert text.exit_code == result.exit_code == 1
    assert len(text.stdout.splitlines()) == len(CHECK_NAMES) + 1
    assert API_KEY not in text.stdout + text.stderr + result.stdout + result.stderr


def test_private_file_with_key_ok(
    cli: Cli, home: Path, machine: Machine, late: respx.MockRouter
) -> None:
    write_config(home, f'late_api_key = "{API_KEY}"\n')

    _, found = run_doctor(cli)

    assert found["config"]["status"] == "ok"
    assert found["config"]["message"] == (
        f"{home / 'config.toml'} (mode 0600, holds late_api_key)"
    )


def test_invalid_toml_is_error(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, "[publish\n")

    result, found = run_doctor(cli)

    assert found["config"]["status"] == "error"
    assert found["config"]["message"].startswith(f"invalid TOML in {home}")
    assert found["config"]["fix"] == "fix the file or move it away"
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("config", "status", "message"),
    [
        ("", "ok", "failure alerts are off; set alerts.email"),
        (
            f'resend_api_key = "{RESEND_KEY}"\n[alerts]\nemail = "me@example.com"\n'
            'from = "rabb@example.com"\n',
            "ok",
            "failure alerts go to me@example.com from rabb@example.com through Resend"
            " (key re_…4f4f from config.toml); no test email was sent",
        ),
        (
            '[alerts]\nemail = "me@example.com"\n',
            "error",
            "failure alerts go to me@example.com, but resend_api_key and alerts.from"
            " are not set, so no alert can be sent",
        ),
        (
            f'resend_api_key = "{RESEND_KEY}"\n[alerts]\nemail = "me@example.com"\n',
            "error",
            "failure alerts go to me@example.com, but alerts.from is not set",
        ),
        (
            f'resend_api_key = "{RESEND_KEY}"\n',
            "warning",
            "resend_api_key is set, but alerts.email is not, so no failure alert",
        ),
        (
            '[alerts]\non_failure = true\nfrom = "rabb@example.com"\n',
            "error",
            "alerts.on_failure is true, but alerts.email is not set",
        ),
        (
            '[alerts]\non_failure = false\nemail = "me@example.com"\n',
            "ok",
            "failure alerts are off (alerts.on_failure = false)",
        ),
    ],
)
def test_resend_settings(
    cli: Cli, home: Path, machine: Machine, config: str, status: str, message: str
) -> None:
    write_config(home, config + OUTBOX_CONFIG)

    result, found = run_doctor(cli)

    assert found["resend"]["status"] == status
    assert found["resend"]["message"].startswith(message)
    assert (found["resend"]["fix"] is None) == (status == "ok")
    assert RESEND_KEY not in result.stdout


def test_missing_database_not_created(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)

    result, found = run_doctor(cli)

    database = home / "rabb.db"
    assert not database.exists()
    assert found["database"]["status"] == "warning"
    assert found["database"]["message"] == (
        f"no database at {database} yet; rabb creates it with the first post"
    )
    assert found["schema"]["status"] == "ok"
    assert found["stuck_posts"]["status"] == "ok"
    assert result.exit_code == 0


def test_newer_schema_is_error(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("PRAGMA user_version = 99")
    connection.close()

    result, found = run_doctor(cli)

    assert found["schema"]["status"] == "error"
    assert found["schema"]["message"].startswith(
        f"the database has schema version 99, newer than {SCHEMA_VERSION}"
    )
    assert found["schema"]["fix"].startswith("upgrade rabb")
    assert found["database"]["status"] == "ok"
    assert result.exit_code == 1


def test_older_schema_ok(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("PRAGMA user_version = 1")
    connection.close()

    _, found = run_doctor(cli)

    assert found["schema"]["status"] == "ok"
    assert found["schema"]["message"] == (
        f"schema version 1; the next rabb command upgrades it to {SCHEMA_VERSION}"
        " after copying the file to rabb.db.v1.bak"
    )


def test_not_a_database(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    database = home / "rabb.db"
    database.write_bytes(b"these bytes are not SQLite\n" * 300)
    before = digest(database)

    result, found = run_doctor(cli)

    assert found["database"]["status"] == "error"
    assert found["database"]["message"] == (
        f"{database} is damaged: file is not a database"
    )
    assert "restore it from a backup" in found["database"]["fix"]
    for name in ("schema", "last_run", "stuck_posts"):
        assert found[name]["status"] == "warning"
        assert found[name]["message"].startswith("not checked, because the database")
    assert result.exit_code == 1
    assert digest(database) == before


def test_damaged_page_found(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    for _ in range(40):
        schedule_later(cli)
    database = home / "rabb.db"
    [(root,)] = query(
        database, "SELECT rootpage FROM sqlite_master WHERE name = 'ix_post_scheduled'"
    )
    data = bytearray(database.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = (root - 1) * page_size
    # Point the index page's cells past the end of the page.
    data[start + 12 : start + 40] = b"\x55" * 28
    database.write_bytes(bytes(data))
    backup = home / "rabb.db.v1.bak"
    backup.write_bytes(b"")

    result, found = run_doctor(cli)

    assert found["database"]["status"] == "error"
    assert found["database"]["message"].startswith(f"{database} is damaged: ")
    assert "out of range" in found["database"]["message"]
    assert found["database"]["fix"] == (
        f"restore it from a backup such as {backup}, or move it away"
    )
    assert result.exit_code == 1


def test_last_run_too_old(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    install_timer(cli, "5m")
    record_run(home, timedelta(minutes=11))

    result, found = run_doctor(cli)

    check = found["last_run"]
    assert check["status"] == "error"
    assert "(11m ago): nothing was due; that is more than twice" in check["message"]
    assert check["message"].endswith(
        "the timer's interval of 5m, so the timer has stopped running run-due"
    )
    assert "journalctl --user -u rabb-run-due.service" in check["fix"]
    assert result.exit_code == 1


def test_last_run_within_two_intervals(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    install_timer(cli, "5m")
    record_run(home, timedelta(minutes=9), due=3, published=2, failed=1)

    result, found = run_doctor(cli)

    assert found["last_run"]["status"] == "ok"
    assert found["last_run"]["message"].endswith("(9m ago): 2 published, 1 failed")
    assert result.exit_code == 0


def test_last_run_error_status(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    record_run(home, timedelta(minutes=1), status="error", error="Late rejected it")

    result, found = run_doctor(cli)

    assert found["last_run"]["status"] == "error"
    assert found["last_run"]["message"].endswith("(1m ago): error: Late rejected it")
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("started_ago", "status", "ending"),
    [
        (timedelta(minutes=2), "ok", "still running, or stopped before it finished"),
        (timedelta(minutes=40), "warning", "ago), was stopped before it finished"),
    ],
)
def test_unfinished_run(
    cli: Cli,
    home: Path,
    machine: Machine,
    started_ago: timedelta,
    status: str,
    ending: str,
) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    install_timer(cli, "1m")
    record_run(home, started_ago, status="running", finished_at=None)

    _, found = run_doctor(cli)

    assert found["last_run"]["status"] == status
    assert found["last_run"]["message"].endswith(ending)


def test_timer_inactive_is_error(
    cli: Cli, home: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(home, OUTBOX_CONFIG)
    install_timer(cli)
    monkeypatch.setenv("FAKE_TIMER_STATE", "inactive")
    monkeypatch.setenv("FAKE_EXIT_STATUS", "1")

    result, found = run_doctor(cli)

    check = found["timer"]
    assert check["status"] == "error"
    assert check["message"].startswith("systemd user timer (inactive) runs run-due")
    assert "but the timer is inactive, so it starts nothing" in check["message"]
    assert "its last run exited with status 1" in check["message"]
    assert check["fix"] == (
        "run 'rabb timer install' again;"
        " see 'journalctl --user -u rabb-run-due.service'"
    )
    assert result.exit_code == 1


def test_timer_without_shell_key(
    cli: Cli, home: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(home, OUTBOX_CONFIG)
    install_timer(cli)
    monkeypatch.setenv("LATE_API_KEY", API_KEY)

    result, found = run_doctor(cli)

    check = found["timer"]
    assert check["status"] == "warning"
    assert (
        "it runs without LATE_API_KEY, which only this shell sets" in (check["message"])
    )
    assert check["fix"] == f"set late_api_key in {home / 'config.toml'}"
    assert API_KEY not in result.stdout


def test_timer_and_crontab_both(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    install_timer(cli)
    machine.crontab.write_text(f"* * * * * /usr/bin/true {CRON_MARKER}\n")

    _, found = run_doctor(cli)

    assert found["timer"]["status"] == "warning"
    assert "a crontab line runs it too" in found["timer"]["message"]


def test_crontab_line_ok(tmp_path: Path, home: Path) -> None:
    cron_machine = make_machine(tmp_path / "cron", systemd=False)
    cron_machine.crontab.write_text(
        f"# mine\n*/5 * * * * /usr/bin/true {CRON_MARKER}\n"
    )
    write_config(home, OUTBOX_CONFIG)

    result = cron_machine.rabb("doctor", "--json")

    found = {check["name"]: check for check in json.loads(result.stdout)}
    assert found["timer"]["status"] == "ok"
    assert found["timer"]["message"].startswith("crontab line (installed) runs")
    assert "every 5m, next at" in found["timer"]["message"]


def test_zone_from_setting(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, 'timezone = "Europe/Berlin"\n' + OUTBOX_CONFIG)

    _, found = run_doctor(cli)

    assert found["zone"]["status"] == "ok"
    assert found["zone"]["message"].startswith("UTC from RABB_TIMEZONE (now ")


def test_zone_from_config_file(
    cli: Cli, home: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RABB_TIMEZONE")
    write_config(home, 'timezone = "Europe/Berlin"\n' + OUTBOX_CONFIG)

    _, found = run_doctor(cli)

    assert found["zone"]["status"] == "ok"
    assert found["zone"]["message"].startswith("Europe/Berlin from config.toml (now ")


@pytest.mark.parametrize(
    ("tz", "status", "start"),
    [
        ("America/New_York", "ok", "America/New_York from TZ=America/New_York (now "),
        ("Not/AZone", "warning", "the system zone is unknown ("),
    ],
)
def test_zone_from_tz(home: Path, tz: str, status: str, start: str) -> None:
    write_config(home, OUTBOX_CONFIG)
    env = subprocess_env(TZ=tz)
    del env["RABB_TIMEZONE"]

    result = run_rabb("doctor", "--json", env=env)

    found = {check["name"]: check for check in json.loads(result.stdout)}
    assert found["zone"]["status"] == status
    assert found["zone"]["message"].startswith(start)
    if status == "warning":
        assert "so rabb reads and shows times in UTC" in found["zone"]["message"]
        assert "set timezone in config.toml" in found["zone"]["fix"]


FROZEN_ZONE_CHECK = datetime(2027, 7, 1, 14, 0, tzinfo=UTC)


def test_zone_from_posix_utc_name(home: Path) -> None:
    write_config(home, OUTBOX_CONFIG)
    env = subprocess_env(TZ="UTC+5")
    del env["RABB_TIMEZONE"]

    result = run_rabb("doctor", "--json", env=env, frozen_at=FROZEN_ZONE_CHECK)

    found = {check["name"]: check for check in json.loads(result.stdout)}
    assert found["zone"]["status"] == "ok"
    # Five hours west of UTC, as `TZ=UTC+5 date` shows it.
    assert found["zone"]["message"] == (
        "UTC+5 from TZ=UTC+5 (now 2027-07-01 09:00 UTC-05:00)"
    )


def test_zone_without_settings_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_zone_found() -> ZoneInfo:
        warnings.warn(
            "Can not find any timezone configuration, defaulting to UTC.",
            stacklevel=1,
        )
        return ZoneInfo("UTC")

    monkeypatch.setattr("tzlocal.reload_localzone", no_zone_found)

    found = detect_system_zone()

    assert found.fallback == (
        "Can not find any timezone configuration, defaulting to UTC."
    )
    assert found.notes is None


def test_broken_check_one_line(
    cli: Cli, home: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(home, f'late_api_key = "{API_KEY}"\n' + OUTBOX_CONFIG)

    def broken(setup: doctor.Setup) -> doctor.Finding:
        raise RuntimeError(f"boom with {API_KEY}")

    monkeypatch.setitem(doctor.CHECKS, "schema", broken)

    text = cli("doctor")
    result, found = run_doctor(cli)
    debug = cli("--debug", "doctor")

    assert list(found) == CHECK_NAMES
    assert found["schema"]["status"] == "error"
    assert found["schema"]["message"] == "the check failed: RuntimeError: boom with ***"
    assert "report it as a bug" in found["schema"]["fix"]
    assert found["zone"]["status"] == "ok"
    assert text.exit_code == result.exit_code == 1
    assert len(text.stdout.splitlines()) == len(CHECK_NAMES) + 1
    assert "Traceback" not in text.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: boom with ***" in debug.stderr
    for output in (text, result, debug):
        assert API_KEY not in output.stdout + output.stderr


def test_json_shape(cli: Cli, home: Path, machine: Machine) -> None:
    result = cli("doctor", "--json")

    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert [check["name"] for check in data] == CHECK_NAMES
    for check in data:
        assert set(check) == {"name", "status", "message", "fix"}
        assert check["status"] in ("ok", "warning", "error")
        assert isinstance(check["message"], str)
        assert "\n" not in check["message"]
        assert (check["fix"] is None) == (check["status"] == "ok")
    assert result.stderr == ""


def test_text_one_line_per_check(cli: Cli, home: Path, machine: Machine) -> None:
    write_config(home, OUTBOX_CONFIG)
    schedule_later(cli)
    record_run(home, timedelta(minutes=1), status="error", error="two\nlines\x1b[31m")

    result = cli("doctor")

    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == CHECK_NAMES
    [last_run] = [line for line in lines if line.split()[1] == "last_run"]
    assert last_run.startswith("error   last_run     last run ")
    assert "error: two lines\\x1b[31m. Fix: run 'rabb run-due -v'" in last_run
    assert "\x1b" not in result.stdout
    assert lines[-1] == "9 checks: 7 ok, 1 warning, 1 error"


def test_invalid_setting_named_by_others(
    cli: Cli, home: Path, machine: Machine
) -> None:
    write_config(home, 'late_api_key = "two words"\n')

    result, found = run_doctor(cli)

    assert found["config"]["status"] == "error"
    for name in ("late_key", "resend", "stuck_posts", "zone"):
        assert found[name]["status"] == "warning"
        assert found[name]["message"] == (
            "not checked, because late_api_key in config.toml is invalid"
        )
        assert found[name]["fix"] == (
            "copy the key again from the service's dashboard, as one line"
        )
    assert result.exit_code == 1
