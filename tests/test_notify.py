"""`rabb notify`: showing and setting the alert settings, and `rabb notify test`."""

import json
import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.conftest import Cli
from tests.helpers import write_config
from tests.resend_respx import (
    ALERTS_CONFIG,
    RESEND_KEY,
    accepted,
    mock_resend,
    rejected,
    route_emails,
    sent_emails,
    sent_keys,
)


def config_file(home: Path) -> dict[str, object]:
    return tomllib.loads((home / "config.toml").read_text())


def test_without_options_shows_off(cli: Cli, home: Path) -> None:
    result = cli("notify")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Failure alerts are off: no alerts.email address is set. Set one with"
        " 'rabb notify --email ADDRESS'."
    )
    assert lines[1].split() == ["alerts.email", "(not", "set)", "(default)"]
    assert lines[3].split() == ["alerts.on_failure", "(not", "set)", "(default)"]
    assert lines[5].split() == [
        "resend_api_url",
        "https://api.resend.com",
        "(default)",
    ]
    assert not (home / "config.toml").exists()
    assert not (home / "rabb.db").exists()


def test_set_email_writes_config(cli: Cli, home: Path) -> None:
    result = cli("notify", "--email", "me@example.com")
    assert result.exit_code == 0, result.stderr
    assert config_file(home) == {"alerts": {"email": "me@example.com"}}
    mode = stat.S_IMODE((home / "config.toml").stat().st_mode)
    assert mode == 0o600
    assert result.stdout.splitlines()[1] == (
        "Failure alerts are on: an email goes to me@example.com when a post fails."
    )
    # Without a sender and a key, nothing can be sent yet: the warnings name both.
    assert result.stderr.splitlines() == [
        "rabb: warning: alerts cannot be sent: no sender address is set. Set"
        " RESEND_FROM_EMAIL, or alerts.from in config.toml ('rabb notify --from"
        " ADDRESS'), to an address on a domain verified in Resend.",
        "rabb: warning: alerts cannot be sent: no Resend API key is set. Set"
        " RESEND_API_KEY, or resend_api_key in config.toml with mode 0600.",
    ]


def test_set_keeps_other_settings(cli: Cli, home: Path) -> None:
    write_config(home, '# my settings\ntimezone = "Europe/Berlin"\n')
    result = cli(
        "notify", "--email", "me@example.com", "--from", "rabb <a@example.com>"
    )
    assert result.exit_code == 0, result.stderr
    text = (home / "config.toml").read_text()
    assert text.startswith('# my settings\ntimezone = "Europe/Berlin"\n')
    assert config_file(home)["alerts"] == {
        "email": "me@example.com",
        "from": "rabb <a@example.com>",
    }


def test_on_failure_switch(cli: Cli, home: Path) -> None:
    write_config(home, ALERTS_CONFIG)
    off = cli("notify", "--no-on-failure")
    assert off.exit_code == 0
    assert config_file(home)["alerts"]["on_failure"] is False  # type: ignore[index]
    assert off.stdout.splitlines()[1] == (
        "Failure alerts are off: alerts.on_failure is false. Turn them on with"
        " 'rabb notify --on-failure'."
    )
    on = cli("notify", "--on-failure")
    assert config_file(home)["alerts"]["on_failure"] is True  # type: ignore[index]
    assert on.stdout.splitlines()[1].startswith("Failure alerts are on")


def test_invalid_address_stores_nothing(cli: Cli, home: Path) -> None:
    result = cli("notify", "--email", "not an address")
    assert result.exit_code == 2
    assert result.stderr == (
        "rabb: error: invalid value 'not an address' for alerts.email in --email"
        " (not an email address). Use an address such as 'me@example.com'.\n"
    )
    assert not (home / "config.toml").exists()


def test_show_masks_key_and_names_sources(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    monkeypatch.setenv("RESEND_FROM_EMAIL", "env@example.com")
    write_config(home, ALERTS_CONFIG)
    result = cli("notify")
    assert RESEND_KEY not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["alerts.from", "env@example.com", "(RESEND_FROM_EMAIL)"]
    assert lines[4].split() == ["resend_api_key", "re_…7Zq7", "(RESEND_API_KEY)"]
    assert lines[-1] == "Send a test email with 'rabb notify test'."
    assert result.stderr == ""


def test_json_output(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    write_config(home, ALERTS_CONFIG)
    data = json.loads(cli("notify", "--json").stdout)
    assert data["enabled"] is True
    assert data["off_reason"] is None
    assert data["missing"] == []
    assert data["emails"] is None
    by_name = {row["name"]: row for row in data["settings"]}
    assert by_name["alerts.email"]["value"] == "me@example.com"
    assert by_name["resend_api_key"]["value"] == "re_…7Zq7"
    assert by_name["alerts.on_failure"] == {
        "name": "alerts.on_failure",
        "value": None,
        "source": "default",
    }


def test_counts_emails(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    write_config(home, ALERTS_CONFIG)
    assert cli("list").exit_code == 0  # Creates the database.
    connection = sqlite3.connect(home / "rabb.db")
    for number, status in enumerate(("sent", "sent", "pending", "failed")):
        connection.execute(
            "INSERT INTO alert_email (idempotency_key, status, recipient, sender,"
            " subject, html, text, created_at) VALUES (?, ?, '', '', '', '', '',"
            " '2026-06-01T12:00:00.000000Z')",
            (f"key-{number}", status),
        )
    connection.commit()
    connection.close()
    result = cli("notify")
    assert "Alert emails: 2 sent, 1 pending, 1 failed." in result.stdout.splitlines()


def test_send_test_email(cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    write_config(home, ALERTS_CONFIG)
    with mock_resend() as router:
        route = route_emails(router, accepted("test-id-1"))
        result = cli("notify", "test")
        again = cli("notify", "test", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Resend accepted the test email to me@example.com (Resend email id"
        " test-id-1).\n"
    )
    assert json.loads(again.stdout) == {
        "sent": True,
        "to": "me@example.com",
        "resend_id": "test-id-1",
    }
    first, _ = sent_emails(route)
    assert first["subject"] == "rabb: test alert"
    assert first["from"] == "rabb <alerts@example.com>"
    assert "me@example.com" in first["text"]
    first_key, second_key = sent_keys(route)
    assert first_key != second_key


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            rejected(422, "validation_error", "The domain is not verified"),
            "Resend did not send the test email: HTTP 422 validation_error: The"
            " domain is not verified. Check RESEND_API_KEY, and that the sender is"
            " on a domain verified in Resend.",
        ),
        (
            rejected(500, "application_error", "Oops"),
            "Resend did not send the test email: HTTP 500 application_error: Oops."
            " Try again later.",
        ),
        (
            httpx.ConnectError("connection refused"),
            "Resend did not send the test email: cannot reach Resend: ConnectError:"
            " connection refused. Try again later.",
        ),
    ],
)
def test_send_test_reports_error(
    cli: Cli,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: httpx.Response | Exception,
    message: str,
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    write_config(home, ALERTS_CONFIG)
    with mock_resend() as router:
        route_emails(router, answer)
        result = cli("notify", "test")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"rabb: error: {message}\n"


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        (
            "",
            RESEND_KEY,
            "no alert address is set, so there is nobody to send a test to. Set one"
            " with 'rabb notify --email ADDRESS'.",
        ),
        (
            '[alerts]\nemail = "me@example.com"\n',
            RESEND_KEY,
            "cannot send a test email: no sender address is set. Set"
            " RESEND_FROM_EMAIL, or alerts.from in config.toml ('rabb notify --from"
            " ADDRESS'), to an address on a domain verified in Resend.",
        ),
        (
            ALERTS_CONFIG,
            "",
            "cannot send a test email: no Resend API key is set. Set RESEND_API_KEY,"
            " or resend_api_key in config.toml with mode 0600.",
        ),
    ],
)
def test_send_test_needs_settings(
    cli: Cli,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: str,
    key: str,
    message: str,
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", key)
    write_config(home, config)
    with mock_resend() as router:
        result = cli("notify", "test")
    assert len(router.calls) == 0
    assert result.exit_code == 1
    assert result.stderr == f"rabb: error: {message}\n"


def test_set_then_test_in_one_command(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    monkeypatch.setenv("RESEND_FROM_EMAIL", "alerts@example.com")
    with mock_resend() as router:
        route = route_emails(router, accepted())
        result = cli("notify", "--email", "new@example.com", "test")
    assert result.exit_code == 0, result.stderr
    assert sent_emails(route)[0]["to"] == ["new@example.com"]
    assert config_file(home) == {"alerts": {"email": "new@example.com"}}


def test_invalid_toml_stores_nothing(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text("this is [ not toml\n")
    path.chmod(0o600)
    result = cli("notify", "--email", "me@example.com")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"rabb: error: invalid TOML in {path}")
    assert path.read_text() == "this is [ not toml\n"


def test_other_invalid_setting_stores_nothing(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text("[publish]\nmax_attempts = 0\n")
    path.chmod(0o600)
    result = cli("notify", "--email", "me@example.com")
    assert result.exit_code == 2
    assert "publish.max_attempts" in result.stderr
    assert "me@example.com" not in path.read_text()


def test_notify_writes_through_symlink(cli: Cli, home: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "rabb.toml"
    real.parent.mkdir()
    real.write_text("# kept in a dotfiles repository\n")
    real.chmod(0o600)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").symlink_to(real)
    result = cli("notify", "--email", "me@example.com")
    assert result.exit_code == 0, result.stderr
    assert (home / "config.toml").is_symlink()
    assert 'email = "me@example.com"' in real.read_text()
    assert "# kept in a dotfiles repository" in real.read_text()


def test_settings_table_keeps_columns(cli: Cli, home: Path) -> None:
    cli("notify", "--email", "me@example.com", "--from", "rabb <rabb@example.com>")
    lines = cli("notify").stdout.splitlines()
    email = next(line for line in lines if "alerts.email" in line)
    sender = next(line for line in lines if "alerts.from" in line)
    assert email.startswith("  alerts.email ")
    assert email.index("me@example.com") == sender.index("rabb <rabb@example.com>")
