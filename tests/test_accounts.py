"""`rabb accounts`, the account cache, and `-p` resolution when composing."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from rabb_cli.accounts import resolve_target, target_for
from rabb_cli.errors import InvalidInput
from rabb_cli.models import Account
from rabb_cli.textrules import TargetSpec
from tests.conftest import Cli
from tests.late_respx import API_KEY, error, mock_late

REMOTE = [
    {"_id": "x-1", "platform": "twitter", "username": "alice", "isActive": True},
    {"_id": "x-2", "platform": "twitter", "username": "@bob", "isActive": True},
    {"_id": "b-1", "platform": "bluesky", "username": "alice.bsky", "isActive": True},
    {
        "_id": "li-1",
        "platform": "linkedin",
        "username": "alice-li",
        "isActive": True,
        "enabled": False,
    },
]


@pytest.fixture
def late(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("LATE_API_KEY", API_KEY)
    with mock_late() as router:
        router.get("/accounts").mock(
            return_value=httpx.Response(200, json={"accounts": REMOTE})
        )
        yield router


def account(
    id: str, platform: str, username: str | None, can_post: bool = True
) -> Account:
    return Account(id=id, platform=platform, username=username, can_post=can_post)


CACHE = [
    account("x-1", "twitter", "alice"),
    account("x-2", "twitter", "@bob"),
    account("b-1", "bluesky", "alice.bsky"),
    account("li-1", "linkedin", "alice-li", can_post=False),
]


def test_resolve_single_account() -> None:
    assert resolve_target(TargetSpec("bluesky"), CACHE).id == "b-1"


@pytest.mark.parametrize("handle", ["@bob", "bob", "BOB", "x-2"])
def test_resolve_by_handle_or_id(handle: str) -> None:
    assert resolve_target(TargetSpec("twitter", handle), CACHE).id == "x-2"


def test_resolve_ambiguous_lists_choices() -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_target(TargetSpec("twitter"), CACHE)
    assert str(raised.value) == (
        "2 X accounts are connected, so -p twitter is ambiguous. Choose one:"
        " -p twitter:@alice, -p twitter:@bob."
    )


def test_resolve_unknown_handle_lists_choices() -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_target(TargetSpec("twitter", "@carol"), CACHE)
    message = str(raised.value)
    assert message.startswith("no X account '@carol' is connected in Late.")
    assert "-p twitter:@alice, -p twitter:@bob" in message


def test_resolve_unconnected_platform() -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_target(TargetSpec("threads"), CACHE)
    message = str(raised.value)
    assert message.startswith("no Threads account is connected in Late.")
    assert "twitter:@alice, twitter:@bob, bluesky:@alice.bsky" in message


def test_resolve_account_that_cannot_post() -> None:
    with pytest.raises(InvalidInput, match="no LinkedIn account can post"):
        resolve_target(TargetSpec("linkedin"), CACHE)
    with pytest.raises(InvalidInput, match="cannot post"):
        resolve_target(TargetSpec("linkedin", "@alice-li"), CACHE)


def test_target_for_shortest_form() -> None:
    assert target_for(CACHE[0], CACHE) == "twitter:@alice"
    assert target_for(CACHE[2], CACHE) == "bluesky"
    assert target_for(CACHE[3], CACHE) == "linkedin:@alice-li"


def test_accounts_fetches_and_lists(cli: Cli, late: respx.MockRouter) -> None:
    result = cli("accounts")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TARGET", "(-p)", "ACCOUNT", "NAME", "STATUS", "ID"]
    assert "twitter:@alice" in result.stdout
    assert "twitter:@bob" in result.stdout
    assert "cannot post" in result.stdout
    assert late.routes[0].calls.last.request.headers["authorization"] == (
        f"Bearer {API_KEY}"
    )


def test_accounts_json(cli: Cli, late: respx.MockRouter) -> None:
    data = json.loads(cli("accounts", "--json").stdout)
    by_id: dict[str, dict[str, Any]] = {row["id"]: row for row in data}
    assert by_id["b-1"]["target"] == "bluesky"
    assert by_id["x-2"]["target"] == "twitter:@bob"
    assert by_id["li-1"]["can_post"] is False
    assert by_id["x-1"]["fetched_at"].endswith("Z")


def test_accounts_cached_without_key(
    cli: Cli, late: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("accounts")
    monkeypatch.delenv("LATE_API_KEY")
    result = cli("accounts", "--cached", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 4
    assert late.routes[0].call_count == 1


def test_accounts_refresh_replaces_cache(cli: Cli, late: respx.MockRouter) -> None:
    cli("accounts")
    late.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": REMOTE[:1]})
    )
    data = json.loads(cli("accounts", "--json").stdout)
    assert [row["id"] for row in data] == ["x-1"]
    assert data[0]["target"] == "twitter"


def test_accounts_without_key(cli: Cli) -> None:
    result = cli("accounts")
    assert result.exit_code == 1
    assert "no Late API key is set" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_accounts_401(cli: Cli, late: respx.MockRouter) -> None:
    late.get("/accounts").mock(return_value=error(401, "Unauthorized"))
    result = cli("accounts")
    assert result.exit_code == 1
    assert result.stderr.startswith("rabb: error: Late rejected the API key (HTTP 401")
    assert API_KEY not in result.stderr


def test_accounts_empty(cli: Cli, late: respx.MockRouter) -> None:
    late.get("/accounts").mock(return_value=httpx.Response(200, json={"accounts": []}))
    result = cli("accounts")
    assert result.exit_code == 0
    assert "No accounts are connected in Late" in result.stdout


def test_compose_without_cache_unchecked(cli: Cli) -> None:
    result = cli("compose", "Hello", "-p", "twitter:@anyone")
    assert result.exit_code == 0, result.stderr


def test_compose_checks_cached_accounts(cli: Cli, late: respx.MockRouter) -> None:
    cli("accounts")
    ambiguous = cli("compose", "Hello", "-p", "twitter")
    assert ambiguous.exit_code == 2
    assert "-p twitter is ambiguous" in ambiguous.stderr
    assert "-p twitter:@alice, -p twitter:@bob" in ambiguous.stderr
    assert len(ambiguous.stderr.splitlines()) == 1
    assert json.loads(cli("list", "--json").stdout) == []

    assert cli("compose", "Hello", "-p", "twitter:@bob", "-p", "bluesky").exit_code == 0


def test_schedule_and_edit_check_accounts(cli: Cli, late: respx.MockRouter) -> None:
    assert cli("compose", "Draft", "-p", "threads").exit_code == 0
    cli("accounts")
    scheduled = cli("schedule", "1", "--at", "in 1h")
    assert scheduled.exit_code == 2
    assert "no Threads account is connected" in scheduled.stderr
    edited = cli("edit", "1", "-p", "twitter:@nobody")
    assert edited.exit_code == 2
    assert "no X account '@nobody'" in edited.stderr
    assert cli("edit", "1", "-p", "bluesky").exit_code == 0
    assert cli("schedule", "1", "--at", "in 1h").exit_code == 0


def test_resolve_without_usable_account_says_it_once() -> None:
    cache = [account("ig-1", "instagram", "gram", can_post=False)]
    with pytest.raises(InvalidInput) as raised:
        resolve_target(TargetSpec("twitter"), cache)
    assert str(raised.value) == (
        "no X account is connected in Late. Connect one in Late and run"
        " 'rabb accounts'."
    )
    with pytest.raises(InvalidInput) as named:
        resolve_target(TargetSpec("twitter", "@carol"), cache)
    assert str(named.value) == (
        "no X account '@carol' is connected in Late. Connect it in Late, then run"
        " 'rabb accounts' to refresh the list."
    )


def test_accounts_outbox_without_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABB_PUBLISHER", "outbox")
    result = cli("accounts")
    assert result.exit_code == 1
    assert result.stderr == (
        "rabb: error: no Late API key is set, and listing accounts always asks Late."
        " Set LATE_API_KEY (or ZERNIO_API_KEY), or late_api_key in config.toml with"
        " mode 0600; 'rabb accounts --cached' lists the accounts saved before.\n"
    )
    assert "RABB_PUBLISHER" not in result.stderr


ESCAPED_REMOTE = [
    {
        "_id": "ig\x1b[2J",
        "platform": "instagram",
        "username": "\x1b[31mred[/red]",
        "displayName": "Name\x07\u202egnp.exe",
        "isActive": True,
    },
    {"_id": "ig-2", "platform": "instagram", "username": "plain", "isActive": True},
]


def test_accounts_escape_values_from_late(cli: Cli, late: respx.MockRouter) -> None:
    late.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": ESCAPED_REMOTE})
    )
    result = cli("accounts")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "instagram:@\\x1b[31mred[/red]" in result.stdout
    assert "Name\\x07\\u202egnp.exe" in result.stdout
    assert "ig\\x1b[2J" in result.stdout
    listed = json.loads(cli("accounts", "--json").stdout)
    assert listed[0]["username"] == "\x1b[31mred[/red]"


def test_key_in_account_name_not_stored(
    cli: Cli, home: Path, late: respx.MockRouter
) -> None:
    echoed = [{**REMOTE[0], "username": f"x{API_KEY}", "displayName": API_KEY}]
    late.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": echoed})
    )

    result = cli("accounts", "--json")

    assert result.exit_code == 0, result.stderr
    assert API_KEY not in result.stdout
    for path in home.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_account_error_escapes_values(cli: Cli, late: respx.MockRouter) -> None:
    disconnected = [{**ESCAPED_REMOTE[0], "isActive": False}]
    # One instagram account, and it cannot post.
    late.get("/accounts").mock(
        return_value=httpx.Response(200, json={"accounts": disconnected})
    )
    cli("accounts")
    photo = "https://cdn.example.com/photo.jpg"
    result = cli("compose", "hi", "-p", "instagram", "--media", photo)
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr
    assert "@\\x1b[31mred[/red] must be reconnected in Late" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b""])
def test_accounts_unreadable_answer(
    cli: Cli, late: respx.MockRouter, body: bytes
) -> None:
    late.get("/accounts").mock(return_value=httpx.Response(200, content=body))
    result = cli("accounts")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "rabb: error: cannot read the accounts from Late: its answer is not a JSON"
    )
    assert "internal error" not in result.stderr
