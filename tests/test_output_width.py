"""The width output is laid out in: COLUMNS, the terminal's, or 80, never 0."""

from pathlib import Path

import pytest

from rabb_cli.output import DEFAULT_WIDTH, MIN_WIDTH, terminal_width
from tests.conftest import subprocess_env
from tests.helpers import run_rabb, write_config
from tests.terminal import run_in_terminal
from tests.test_posts_commands import strip_ansi

COMMANDS = [
    ["list"],
    ["calendar", "2030-01"],
    ["config", "show"],
    ["accounts", "--cached"],
]


@pytest.fixture
def one_post(home: Path) -> None:
    env = subprocess_env(RABB_PUBLISHER="outbox")
    result = run_rabb(
        "schedule", "A post for the width check", "-p", "threads",
        "--at", "2030-01-15 09:00", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _output(command: list[str], columns: str | None) -> tuple[int, str]:
    env = subprocess_env(RABB_PUBLISHER="outbox")
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    result = run_rabb(*command, env=env)
    return result.returncode, result.stdout.decode()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("columns", ["0", "00"])
def test_unusable_columns_fall_back(
    one_post: None, command: list[str], columns: str
) -> None:
    code, output = _output(command, columns)
    expected_code, expected = _output(command, None)
    assert code == expected_code == 0
    assert output.strip() != ""
    assert output == expected


def test_list_with_zero_columns(one_post: None) -> None:
    code, output = _output(["list"], "0")
    lines = output.splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "STATUS", "WHEN", "PLATFORMS", "TEXT"]
    assert "A post for the width check" in lines[1]
    assert all(len(line) <= DEFAULT_WIDTH for line in lines)


def test_doctor_with_zero_columns(one_post: None) -> None:
    code, output = _output(["doctor"], "0")
    assert code == 0
    assert "database" in output
    assert output.splitlines()[-1].endswith(", 0 errors")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_tiny_columns_raised_to_minimum(one_post: None, command: list[str]) -> None:
    code, output = _output(command, "3")
    expected_code, expected = _output(command, str(MIN_WIDTH))
    assert code == expected_code == 0
    assert output.strip() != ""
    assert output == expected


@pytest.mark.parametrize(
    ("columns", "width"),
    [("0", DEFAULT_WIDTH), ("", DEFAULT_WIDTH), ("-1", DEFAULT_WIDTH),
     ("7", MIN_WIDTH), ("120", 120), (" 90 ", 90)],
)  # fmt: skip
def test_terminal_width_off_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: str, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width() == width


def test_doctor_wraps_on_terminal(home: Path) -> None:
    env = subprocess_env(RABB_PUBLISHER="outbox", TERM="xterm-256color")
    env.pop("COLUMNS", None)
    output = run_in_terminal(["doctor"], env, columns=60).decode()
    lines = [strip_ansi(line) for line in output.splitlines()]
    indent = " " * (8 + len("stuck_posts") + 2)
    assert lines[0].startswith("ok      config       no config file at")
    assert all(len(line.rstrip()) <= 60 for line in lines), lines
    continued = [line for line in lines if line.startswith(indent)]
    assert len(continued) >= 5, lines
    assert all(line[len(indent)] != " " for line in continued), lines
    assert len(lines) == 10 + len(continued)
    assert lines[-1].startswith("9 checks: ")


def test_doctor_piped_one_line_each(home: Path) -> None:
    code, output = _output(["doctor"], "60")
    lines = output.splitlines()
    assert code == 0
    assert len(lines) == 10
    assert lines[3].startswith("warning database     no database at ")
    assert lines[3].endswith("check RABB_HOME")


def test_config_show_piped_unwrapped(home: Path) -> None:
    address = "a-very-long-address-for-alerts@" + "long-domain-name-" * 4 + "x.com"
    write_config(home, f'[alerts]\nemail = "{address}"\n')
    code, output = _output(["config", "show"], "80")
    [line] = [line for line in output.splitlines() if "alerts.email" in line]
    assert code == 0
    assert line.split() == ["alerts.email", address, "config.toml"]
