"""`--help` and TAB completion load none of the heavy libraries.

Each check runs in a new Python process, because modules that other tests
imported would hide an import here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rabb_cli.docgen import command_help
from tests.conftest import Cli

pytestmark = pytest.mark.slow

# Pydantic comes with typer, but loading it costs more than the rest of a TAB press.
HEAVY_MODULES = ["sqlmodel", "sqlalchemy", "httpx", "resend", "rich", "pydantic"]

# Runs rabb once per argument list in argv[1] (JSON), in one process, then writes
# the heavy modules that got imported to the file named in argv[2].
_CHECK = """
import json, sys
from rabb_cli.cli import run
for args in json.loads(sys.argv[1]):
    try:
        run(args)
    except SystemExit:
        pass
heavy = set(json.loads(sys.argv[3]))
loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
with open(sys.argv[2], "w") as handle:
    json.dump(loaded, handle)
"""


def heavy_imports(
    tmp_path: Path, runs: list[list[str]], env: dict[str, str] | None = None
) -> list[str]:
    report = tmp_path / "loaded.json"
    arguments = [json.dumps(runs), str(report), json.dumps(HEAVY_MODULES)]
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, *arguments],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(report.read_text())
    return loaded


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    runs = [[*words[1:], "--help"] for words, _ in command_help()]
    runs.append([])
    assert ["timer", "install", "--help"] in runs

    assert heavy_imports(tmp_path, runs) == []


def test_help_check_detects_imports(tmp_path: Path) -> None:
    # `rabb list` opens the store, which imports SQLAlchemy: the check must see it.
    assert "sqlalchemy" in heavy_imports(tmp_path, [["list"]])


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_imports_nothing_heavy(tmp_path: Path, cli: Cli, shell: str) -> None:
    assert cli("compose", "A post to complete", "-p", "x").exit_code == 0
    env = {"_RABB_COMPLETE": f"complete_{shell}"}
    requests = ["rabb show ", "rabb compose -p ", "rabb list --status ", "rabb ti"]
    for words in requests:
        if shell == "bash":
            env |= {"COMP_WORDS": words, "COMP_CWORD": str(words.count(" "))}
        else:
            env |= {"_TYPER_COMPLETE_ARGS": words}
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"

        assert heavy_imports(tmp_path, [[]], env) == [], words
