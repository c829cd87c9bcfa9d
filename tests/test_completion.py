"""TAB completion through the real protocol: _RABB_COMPLETE in a new rabb process."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rabb_cli.docgen import COMPLETION_FILES, ROOT, completion_script
from tests.conftest import Cli
from tests.timer_fakes import RABB

pytestmark = pytest.mark.slow

TRICKY_TEXT = "Launch 'day' $HOME \"now\" `id` a:b\tand\nmore text that runs on and on"


def complete(
    *, shell: str, words: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Ask rabb for completions of `words` the way the shell's script does."""
    env = {
        **os.environ,
        "_RABB_COMPLETE": f"complete_{shell}",
        "PATH": f"{RABB.parent}{os.pathsep}{os.environ['PATH']}",
        **extra,
    }
    if shell == "bash":
        env["COMP_WORDS"] = words
        env["COMP_CWORD"] = str(len(words.split(" ")) - 1)
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
    return subprocess.run(
        [str(RABB)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def run_shell(command: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command with the venv's `rabb` first on PATH."""
    path = f"{RABB.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        command,
        env={**os.environ, "PATH": path, **extra_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def posts(cli: Cli) -> None:
    """Post 1 a draft with awkward text, 2 scheduled, 3 a draft, 10 to 12 drafts."""
    assert cli("compose", TRICKY_TEXT, "-p", "bluesky").exit_code == 0
    assert cli("schedule", "Second", "-p", "x", "--at", "in 2h").exit_code == 0
    for number in range(3, 13):
        assert cli("compose", f"Draft {number}", "-p", "threads").exit_code == 0
    for number in range(4, 10):
        assert cli("delete", str(number), "--yes").exit_code == 0


def test_bash_post_ids(posts: None) -> None:
    result = complete(shell="bash", words="rabb show ")
    assert result.returncode == 0
    assert result.stderr == ""
    assert sorted(result.stdout.split(), key=int) == ["1", "2", "3", "10", "11", "12"]


def test_bash_post_id_prefix(posts: None) -> None:
    result = complete(shell="bash", words="rabb show 1")
    assert sorted(result.stdout.split(), key=int) == ["1", "10", "11", "12"]


def test_ids_follow_command(posts: None) -> None:
    cancel = complete(shell="bash", words="rabb cancel ")
    assert cancel.stdout.split() == ["2"]
    schedule = complete(shell="bash", words="rabb schedule ")
    assert "2" in schedule.stdout.split()
    assert "1" in schedule.stdout.split()


def test_zsh_ids_with_text(posts: None) -> None:
    result = complete(shell="zsh", words="rabb edit ")
    assert result.returncode == 0
    assert result.stdout.startswith("_arguments '*: :((")
    assert '"2":"SCHEDULED Second"' in result.stdout
    assert '"1":"DRAFT Launch ' in result.stdout


def test_fish_ids_with_text(posts: None) -> None:
    result = complete(
        shell="fish", words="rabb show ", _TYPER_COMPLETE_FISH_ACTION="get-args"
    )
    lines = result.stdout.splitlines()
    assert "2\tSCHEDULED Second" in lines
    assert "1\tDRAFT Launch 'day' $HOME \"now\" `id` a:b and m…" in lines


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_evaluates(posts: None) -> None:
    # Stubs stand in for zsh's completion system: compdef does nothing, and
    # _arguments evals its ((...)) list the way zsh's own _arguments does.
    script = (
        "compdef() { :; }\n"
        f"source '{ROOT / COMPLETION_FILES['zsh']}'\n"
        "_arguments() {\n"
        "  local action=${1#*: :}; local -a ws\n"
        '  eval ws\\=\\( "${action[3,-3]}" \\)\n'
        '  printf "%s\\n" "${ws[@]}"\n'
        "}\n"
        "words=(rabb show 1); CURRENT=3\n"
        "_rabb_completion\n"
    )
    result = run_shell(["zsh", "-f", "-c", script])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "1:DRAFT Launch 'day' $HOME \"now\" `id` a:b and m…" in lines
    assert "12:DRAFT Draft 12" in lines


# Types `rabb show TAB` into an interactive zsh on a pseudo-terminal, with the
# real completion system, and prints what the terminal shows.
_ZSH_SESSION = r"""
zmodload zsh/zpty
zpty z "zsh -f -i"
zpty -w z "PS1='> '; autoload -Uz compinit && compinit -u -D; source '$SCRIPT'"
zpty -w -n z $'rabb show \t'
out=""
for i in {1..300}; do
  zpty -r -t z chunk && out+=$chunk
  [[ $out == *SCHEDULED*Second* ]] && break
  sleep 0.1
done
zpty -d z
print -r -- "$out"
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_interactive_tab(posts: None, tmp_path: Path) -> None:
    script = str(ROOT / COMPLETION_FILES["zsh"])
    result = run_shell(
        ["zsh", "-f", "-c", _ZSH_SESSION], HOME=str(tmp_path), SCRIPT=script
    )
    assert result.returncode == 0, result.stderr
    # Drop the terminal's escape sequences and carriage returns.
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stdout).replace("\r", "\n")
    assert re.search(r"^2 +-- SCHEDULED Second$", screen, re.MULTILINE), screen
    drafted = re.escape("DRAFT Launch 'day' $HOME \"now\" `id` a:b and m…")
    assert re.search(rf"^1 +-- {drafted}$", screen, re.MULTILINE), screen


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_script_completes(posts: None, tmp_path: Path) -> None:
    script = (
        f"source '{ROOT / COMPLETION_FILES['fish']}'\n"
        "complete --do-complete 'rabb cancel '\n"
        "complete --do-complete 'rabb compose -p blue'\n"
    )
    result = run_shell(["fish", "--no-config", "-c", script], HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2\tSCHEDULED Second", "bluesky\tBluesky"]


def test_bash_script_completes(posts: None) -> None:
    script = (
        f"source '{ROOT / COMPLETION_FILES['bash']}'\n"
        "COMP_WORDS=(rabb cancel ''); COMP_CWORD=2\n"
        "_rabb_completion rabb\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = run_shell(["bash", "--norc", "-c", script])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"


def test_no_database_no_ids(home: Path) -> None:
    result = complete(shell="zsh", words="rabb show ")
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.strip() == "_files"
    assert not (home / "rabb.db").exists()
    assert not home.exists()


def test_broken_database_no_ids(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "rabb.db").write_bytes(b"not a database" * 200)

    result = complete(shell="bash", words="rabb show ")

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.strip() == ""
    assert (home / "rabb.db").read_bytes() == b"not a database" * 200


def test_ids_leave_no_wal_files(posts: None, home: Path) -> None:
    complete(shell="bash", words="rabb show ")
    assert sorted(path.name for path in home.iterdir()) == ["rabb.db"]


def test_platform_names() -> None:
    result = complete(shell="zsh", words="rabb compose hi -p ")
    assert '"twitter":"X"' in result.stdout
    assert '"bluesky":"Bluesky"' in result.stdout
    prefix = complete(shell="bash", words="rabb schedule --platform th")
    assert prefix.stdout.split() == ["threads"]


def test_status_values() -> None:
    result = complete(shell="bash", words="rabb list --status p")
    assert result.stdout.split() == ["publishing", "published", "partial"]
    described = complete(shell="zsh", words="rabb list -s ")
    assert '"failed":"failed after every attempt"' in described.stdout


def test_command_names() -> None:
    result = complete(shell="bash", words="rabb timer ")
    assert result.stdout.split() == ["install", "uninstall", "status"]


@pytest.mark.parametrize("shell", sorted(COMPLETION_FILES))
def test_committed_script_current(shell: str) -> None:
    committed = (ROOT / COMPLETION_FILES[shell]).read_text()
    assert committed == completion_script(shell), (
        f"{COMPLETION_FILES[shell]} is stale: run python -m rabb_cli.docgen"
    )


@pytest.mark.parametrize("shell", sorted(COMPLETION_FILES))
def test_app_sources_committed_script(shell: str) -> None:
    env = {**os.environ, "_RABB_COMPLETE": f"source_{shell}"}
    result = subprocess.run(
        [str(RABB)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    committed = (ROOT / COMPLETION_FILES[shell]).read_text()
    assert result.stdout.strip() == committed.strip()


def test_retry_offers_failed_posts(posts: None, home: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(home / "rabb.db")
    connection.execute("UPDATE post SET status = 'failed' WHERE id = 2")
    connection.execute("UPDATE post SET status = 'partial' WHERE id = 11")
    connection.commit()
    connection.close()
    first = complete(shell="bash", words="rabb retry ")
    assert sorted(first.stdout.split(), key=int) == ["2", "11"]
    # Each further id is completed the same way.
    second = complete(shell="bash", words="rabb retry 2 ")
    assert sorted(second.stdout.split(), key=int) == ["2", "11"]
    described = complete(shell="zsh", words="rabb retry ")
    assert '"11":"PARTIAL Draft 11"' in described.stdout


def test_notify_offers_test(home: Path) -> None:
    result = complete(shell="bash", words="rabb notify ")
    assert result.stdout.split() == ["test"]


def test_calendar_option_values() -> None:
    statuses = complete(shell="bash", words="rabb calendar --status f")
    days = complete(shell="bash", words="rabb calendar --week-start ")
    assert statuses.stdout.split() == ["failed"]
    assert days.stdout.split() == ["monday", "sunday"]
