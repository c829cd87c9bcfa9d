"""Settings from config.toml and the environment, and safe writing of the file."""

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from rabb_cli.config import load_config, update_config
from rabb_cli.errors import ConfigError, InvalidInput
from rabb_cli.paths import resolve_paths
from rabb_cli.redact import redact
from tests.conftest import Cli
from tests.helpers import run_rabb

KEY = "sk_" + "ab12" * 16


def write_config(home: Path, text: str, mode: int = 0o600) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_defaults_without_file(home: Path) -> None:
    config = load_config(resolve_paths(), environ={})
    assert config.get("publish.max_attempts") == 4
    assert config.get("publish.backoff_base") == timedelta(seconds=30)
    assert config.get("publish.lease") == timedelta(minutes=15)
    assert config.get("publish.backoff_max") == timedelta(hours=1)
    assert config.get("publish.concurrency") == 4
    assert config.get("publish.max_lateness") == timedelta(hours=24)
    assert config.get("publish.timeout") == timedelta(minutes=5)
    assert config.get("timezone") is None
    assert config.source("publish.max_attempts") == "default"


def test_rabb_home_moves_everything(home: Path) -> None:
    paths = resolve_paths()
    assert paths.config_file == home / "config.toml"
    assert paths.database == home / "rabb.db"
    assert paths.state_dir == home / "state"


def test_platform_folders_without_rabb_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without RABB_HOME the files follow the XDG folders on Linux."""
    monkeypatch.delenv("RABB_HOME", raising=False)
    for variable, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(variable, str(tmp_path / folder))

    paths = resolve_paths()

    assert paths.config_file == tmp_path / "config" / "rabb" / "config.toml"
    assert paths.database == tmp_path / "data" / "rabb" / "rabb.db"
    assert paths.state_dir == tmp_path / "state" / "rabb"


def test_default_folders_under_home(tmp_path: Path) -> None:
    """A real run without RABB_HOME or XDG variables writes below $HOME only."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "RABB_HOME" and not key.startswith("XDG_")
    }
    env["HOME"] = str(tmp_path)

    result = run_rabb("compose", "Stored at home", "-p", "twitter", env=env)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".local" / "share" / "rabb" / "rabb.db").is_file()
    assert not (tmp_path / ".config" / "rabb" / "config.toml").exists()


def test_file_values_parsed(home: Path) -> None:
    write_config(
        home,
        'timezone = "Europe/Berlin"\n[publish]\nmax_attempts = 6\nlease = "20m"\n',
    )
    config = load_config(resolve_paths(), environ={})
    assert config.get("timezone") == "Europe/Berlin"
    assert config.get("publish.max_attempts") == 6
    assert config.get("publish.lease") == timedelta(minutes=20)
    assert config.source("publish.lease") == "config.toml"


def test_environment_beats_file(home: Path) -> None:
    write_config(home, 'timezone = "Europe/Berlin"\n')
    config = load_config(resolve_paths(), environ={"RABB_TIMEZONE": "Asia/Tokyo"})
    assert config.get("timezone") == "Asia/Tokyo"
    assert config.source("timezone") == "RABB_TIMEZONE"


def test_late_key_variables_in_order(home: Path) -> None:
    env = {"LATE_API_KEY": "sk_late_key_value", "ZERNIO_API_KEY": "sk_zernio_value"}
    assert load_config(resolve_paths(), environ=env).get("late_api_key") == (
        "sk_late_key_value"
    )
    only_zernio = {"ZERNIO_API_KEY": "sk_zernio_value"}
    assert load_config(resolve_paths(), environ=only_zernio).get("late_api_key") == (
        "sk_zernio_value"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('timezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
        ("[publish]\nmax_attempts = 0\n", "must be at least 1"),
        ('[publish]\nlease = "soon"\n', "invalid duration 'soon'"),
        ('[publish]\npublisher = "carrier-pigeon"\n', "not one of late, outbox"),
        ('[alerts]\nemail = "nobody"\n', "not an email address"),
        ("[publsh]\nmax_attempts = 3\n", "unknown setting 'publsh'"),
        ("[publish]\nmax_attempt = 3\n", "unknown setting 'publish.max_attempt'"),
    ],
)
def test_invalid_file_rejected(home: Path, text: str, fragment: str) -> None:
    write_config(home, text)
    with pytest.raises(InvalidInput) as raised:
        load_config(resolve_paths(), environ={})
    assert fragment in str(raised.value)


def test_invalid_toml_reported(home: Path) -> None:
    write_config(home, "timezone = \n")
    with pytest.raises(InvalidInput, match="invalid TOML"):
        load_config(resolve_paths(), environ={})


def test_key_in_readable_file_rejected(home: Path) -> None:
    path = write_config(home, f'late_api_key = "{KEY}"\n', mode=0o644)
    with pytest.raises(ConfigError) as raised:
        load_config(resolve_paths(), environ={})
    message = str(raised.value)
    assert "mode 0644" in message
    assert f"chmod 600 {path}" in message
    assert KEY not in message


def test_key_in_private_file_accepted(home: Path) -> None:
    write_config(home, f'late_api_key = "{KEY}"\n')
    config = load_config(resolve_paths(), environ={})
    assert config.get("late_api_key") == KEY
    assert KEY not in redact(f"Authorization failed for {KEY}")


def test_update_keeps_comments_and_mode(home: Path) -> None:
    path = write_config(home, '# my notes\ntimezone = "UTC"\n', mode=0o644)
    update_config(path, {"alerts.email": "me@example.com", "timezone": None})
    text = path.read_text()
    assert "# my notes" in text
    assert 'email = "me@example.com"' in text
    assert "timezone" not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_update_rejects_invalid_value(home: Path) -> None:
    path = home / "config.toml"
    with pytest.raises(InvalidInput):
        update_config(path, {"publish.max_attempts": 0})
    assert not path.exists()


def test_bad_config_is_one_line_error(cli: Cli, home: Path) -> None:
    write_config(home, "[publish]\nmax_attempts = -1\n")
    result = cli("list")
    assert result.exit_code == 2
    assert result.stderr.startswith("rabb: error: invalid value -1 for")
    assert len(result.stderr.splitlines()) == 1


def test_writable_config_rejected(home: Path) -> None:
    path = write_config(home, 'timezone = "UTC"\n', mode=0o666)
    with pytest.raises(ConfigError) as raised:
        load_config(resolve_paths(), environ={})
    message = str(raised.value)
    assert "can be changed by other users (mode 0666)" in message
    assert f"chmod 600 {path}" in message


@pytest.mark.parametrize(
    "text",
    [
        "late_api_key = 12345\n",
        'late_api_key = "sk_ünicode_value_123"\n',
        'late_api_key = "sk two words"\n',
    ],
)
def test_malformed_key_rejected(home: Path, text: str) -> None:
    write_config(home, text)
    with pytest.raises(InvalidInput) as raised:
        load_config(resolve_paths(), environ={})
    assert "late_api_key" in str(raised.value)
    assert "ünicode" not in str(raised.value)


def test_malformed_key_in_environment(home: Path) -> None:
    with pytest.raises(InvalidInput, match="LATE_API_KEY"):
        load_config(resolve_paths(), environ={"LATE_API_KEY": "sk_new\nline"})


def test_backoff_max_below_base_rejected(home: Path) -> None:
    write_config(home, '[publish]\nbackoff_base = "1h"\nbackoff_max = "1s"\n')
    with pytest.raises(InvalidInput, match="backoff_max is shorter"):
        load_config(resolve_paths(), environ={})


def test_huge_duration_rejected(home: Path) -> None:
    write_config(home, '[publish]\ntimeout = "99999999999d"\n')
    with pytest.raises(InvalidInput, match="timeout"):
        load_config(resolve_paths(), environ={})


def test_empty_rabb_home_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABB_HOME", "  ")
    with pytest.raises(ConfigError, match="RABB_HOME is set but empty"):
        resolve_paths()


def test_home_that_is_a_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    monkeypatch.setenv("RABB_HOME", str(blocker))
    result = cli("compose", "hi", "-p", "threads")
    assert result.exit_code == 1
    assert result.stderr == (
        f"rabb: error: cannot create the folder {blocker} (File exists). Check that"
        " no file has that name and that you may write there.\n"
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://zernio.com/api", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/api", True),
        ("http://zernio.com/api", False),
        ("http://10.0.0.5/api", False),
    ],
)
def test_base_url_needs_https(home: Path, value: str, accepted: bool) -> None:
    env = {"LATE_BASE_URL": value}
    if accepted:
        assert load_config(resolve_paths(), environ=env).get("late_base_url") == value
        return
    with pytest.raises(InvalidInput, match="unencrypted"):
        load_config(resolve_paths(), environ=env)


@pytest.mark.parametrize(
    ("variable", "value", "stored"),
    [
        ("LATE_BASE_URL", "HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("LATE_BASE_URL", "Https://zernio.com/api/", "https://zernio.com/api"),
        ("RESEND_API_URL", "HTTPS://api.resend.com", "https://api.resend.com"),
    ],
)
def test_url_scheme_any_case(
    home: Path, variable: str, value: str, stored: str
) -> None:
    config = load_config(resolve_paths(), environ={variable: value})
    assert config.get(variable.lower()) == stored


def test_uppercase_http_still_needs_loopback(home: Path) -> None:
    with pytest.raises(InvalidInput, match="unencrypted"):
        load_config(resolve_paths(), environ={"LATE_BASE_URL": "HTTP://zernio.com"})


def test_uppercase_scheme_with_userinfo_named(home: Path) -> None:
    url = "HTTP://user:pw-SECRET9@127.0.0.1:8080"
    with pytest.raises(InvalidInput) as raised:
        load_config(resolve_paths(), environ={"LATE_BASE_URL": url})
    message = str(raised.value)
    assert "'HTTP://***@127.0.0.1:8080'" in message
    assert "user name or password" in message
    assert "not an http or https URL" not in message
    assert "SECRET9" not in message


def test_uppercase_scheme_config_show(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LATE_BASE_URL", "HTTP://127.0.0.1:8080")
    result = cli("config", "show")
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:8080" in result.stdout


@pytest.mark.parametrize(
    ("setting", "variable", "url"),
    [
        ("late_base_url", "LATE_BASE_URL", "http://user:pw-SECRET9@127.0.0.1:8080"),
        ("late_base_url", "LATE_BASE_URL", "https://user:pw-SECRET9@zernio.com/api"),
        ("resend_api_url", "RESEND_API_URL", "https://pw-SECRET9@api.resend.com"),
        ("resend_api_url", "RESEND_API_URL", "https://:pw-SECRET9@api.resend.com"),
    ],
)
def test_base_url_with_userinfo_rejected(
    home: Path, setting: str, variable: str, url: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        load_config(resolve_paths(), environ={variable: url})
    message = str(raised.value)
    assert f"for {setting} in {variable}" in message
    assert "user name or password" in message
    assert "***@" in message
    assert "SECRET9" not in message


def test_userinfo_in_config_file_cli(home: Path) -> None:
    url = "http://user:pw-SECRET9@127.0.0.1:8080"
    write_config(home, f'late_base_url = "{url}"\n')
    for command in (["config", "show"], ["--debug", "accounts"], ["doctor"]):
        result = run_rabb(*command)
        output = (result.stdout + result.stderr).decode()
        assert "SECRET9" not in output
        assert result.returncode != 0
    result = run_rabb("config", "show")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().count("\n") == 1
    assert "late_base_url in config.toml" in result.stderr.decode()


def test_userinfo_rejected_by_update(home: Path) -> None:
    path = home / "config.toml"
    with pytest.raises(InvalidInput) as raised:
        update_config(path, {"resend_api_url": "https://me:pw-SECRET9@api.resend.com"})
    assert "SECRET9" not in str(raised.value)
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("concurrency", 32, True),
        ("concurrency", 33, False),
        ("concurrency", 10000, False),
        ("max_attempts", 100, True),
        ("max_attempts", 101, False),
        ("max_attempts", 1000000, False),
    ],
)
def test_count_upper_bounds(home: Path, name: str, value: int, accepted: bool) -> None:
    write_config(home, f"[publish]\n{name} = {value}\n")
    if accepted:
        assert load_config(resolve_paths()).get(f"publish.{name}") == value
        return
    maximum = 32 if name == "concurrency" else 100
    with pytest.raises(InvalidInput) as raised:
        load_config(resolve_paths())
    assert str(raised.value) == (
        f"invalid value {value} for publish.{name} in config.toml (must be between"
        f" 1 and {maximum}). Use a whole number from 1 to {maximum}."
    )


def test_config_folder_named(cli: Cli, home: Path) -> None:
    folder = home / "config.toml"
    folder.mkdir(parents=True)
    result = cli("list")
    assert result.exit_code == 1
    assert result.stderr == (
        f"rabb: error: cannot read {folder}: Is a directory. Move the folder"
        f" {folder} away, because config.toml must be a file.\n"
    )
