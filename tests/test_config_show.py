"""`rabb config show`: every setting, its shown value and its source."""

import json
from pathlib import Path

import pytest

from rabb_cli.config import SETTINGS
from tests.conftest import Cli
from tests.helpers import write_config

KEY = "sk_" + "3a" * 32


def test_show_lists_every_setting(cli: Cli, home: Path) -> None:
    result = cli("config", "show")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Config file: {home / 'config.toml'}"
    assert lines[1].split() == ["SETTING", "VALUE", "SOURCE"]
    names = [line.split()[0] for line in lines[2:]]
    assert names == [setting.name for setting in SETTINGS]


def test_show_values_and_sources(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        home, f'late_api_key = "{KEY}"\n[publish]\nlease = "20m"\ntimeout = "0.5s"\n'
    )
    monkeypatch.setenv("RABB_PUBLISHER", "outbox")
    data = json.loads(cli("config", "show", "--json").stdout)
    rows = {row["name"]: row for row in data["settings"]}
    assert data["config_file"] == str(home / "config.toml")
    assert rows["late_api_key"]["value"] == "sk_…3a3a"
    assert rows["late_api_key"]["source"] == "config.toml"
    assert rows["publish.lease"] == {
        "name": "publish.lease",
        "value": "20m",
        "source": "config.toml",
        "environment": [],
        "help": "time after which a post left publishing by a stopped run is tried"
        " again",
    }
    assert rows["publish.timeout"]["value"] == "0.5s"
    assert rows["publish.publisher"]["value"] == "outbox"
    assert rows["publish.publisher"]["source"] == "RABB_PUBLISHER"
    assert rows["publish.backoff_base"]["value"] == "30s"
    assert rows["publish.backoff_base"]["source"] == "default"
    assert rows["alerts.email"]["value"] is None


def test_show_never_prints_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZERNIO_API_KEY", KEY)
    for args in (("config", "show"), ("config", "show", "--json")):
        result = cli(*args)
        assert KEY not in result.stdout + result.stderr
    table = cli("config", "show").stdout
    assert "sk_…3a3a" in table
    assert "ZERNIO_API_KEY" in table


def test_config_without_subcommand_shows_help(cli: Cli) -> None:
    result = cli("config")
    assert "show" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        ("", "24h"),
        ('[publish]\nmax_lateness = "36h"\n', "36h"),
        ('[publish]\nmax_lateness = "2 days"\n', "2d"),
    ],
)
def test_show_durations_as_written(
    cli: Cli, home: Path, config: str, shown: str
) -> None:
    write_config(home, config)
    table = cli("config", "show").stdout
    [line] = [x for x in table.splitlines() if x.startswith("publish.max_lateness")]
    assert line.split()[1] == shown
    data = json.loads(cli("config", "show", "--json").stdout)
    rows = {row["name"]: row["value"] for row in data["settings"]}
    assert rows["publish.max_lateness"] == shown
    assert rows["publish.timeout"] == "5m"
