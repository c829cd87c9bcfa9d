"""Connected Late accounts: the local cache, and the resolution of `-p` targets to them.

`rabb accounts` fetches the accounts from Late and replaces the cache. A target such
as `-p twitter` resolves to the one X account that can post, and `-p twitter:@handle`
to the account with that username (or id). While the cache is empty, targets are not
checked when composing, and `run-due` fetches the accounts when it needs them.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, delete, select

from rabb_cli.errors import InvalidInput
from rabb_cli.models import Account
from rabb_cli.redact import redact
from rabb_cli.textrules import PLATFORMS, TargetSpec

if TYPE_CHECKING:
    from rabb_cli.publish.late import RemoteAccount
    from rabb_cli.store import Store


def cached_accounts(session: Session) -> list[Account]:
    """Return the cached accounts ordered by platform and username."""
    rows = session.exec(select(Account)).all()
    return sorted(rows, key=lambda a: (a.platform, _normal(a.username or ""), a.id))


def replace_cache(
    store: "Store", remote: Iterable["RemoteAccount"], now: datetime
) -> list[Account]:
    """Replace the cached accounts with `remote` and return the new cache."""
    rows = [
        Account(
            id=account.id,
            platform=account.platform,
            # Names come from Late as they are, so a key echoed in one stays out
            # of the database.
            username=_masked(account.username),
            display_name=_masked(account.display_name),
            profile_id=account.profile_id,
            active=account.active,
            can_post=account.can_post,
            fetched_at=now,
        )
        for account in remote
    ]
    with store.write() as session:
        session.exec(delete(Account))
        for row in rows:
            session.merge(row)
    with store.read() as session:
        return cached_accounts(session)


def _masked(value: str | None) -> str | None:
    return redact(value) if value else value


def check_targets(session: Session, specs: Sequence[TargetSpec]) -> None:
    """Raise InvalidInput for a target the cache cannot resolve, or for an account
    that two targets name.

    Does nothing while the cache is empty, so composing works without a key.
    """
    accounts = cached_accounts(session)
    if not accounts:
        return
    resolved = {str(spec): resolve_target(spec, accounts) for spec in specs}
    repeated = repeated_account((name, a.id) for name, a in resolved.items())
    if repeated is not None:
        # Late would get the account twice in one request.
        first, second, _ = repeated
        account = resolved[second]
        raise InvalidInput(
            f"-p {first} and -p {second} name the same {_label(account.platform)}"
            f" account {account.handle}",
            "name each account once",
        )


def repeated_account(
    targets: Iterable[tuple[str, str]],
) -> tuple[str, str, str] | None:
    """Return the first two targets that name one account, with that account's id.

    `targets` are (selector, account id) pairs; the result is (first selector,
    second selector, account id), or None when each account is named once.
    """
    seen: dict[str, str] = {}
    for selector, account_id in targets:
        earlier = seen.setdefault(account_id, selector)
        if earlier != selector:
            return earlier, selector, account_id
    return None


def resolve_target(spec: TargetSpec, accounts: Sequence[Account]) -> Account:
    """Return the account `spec` names, or raise InvalidInput listing the choices."""
    on_platform = [a for a in accounts if a.platform == spec.platform]
    if spec.account is not None:
        return _named_account(spec, on_platform, accounts)

    usable = [a for a in on_platform if a.can_post]
    if len(usable) == 1:
        return usable[0]
    label = _label(spec.platform)
    if len(usable) > 1:
        raise InvalidInput(
            f"{len(usable)} {label} accounts are connected, so -p {spec.platform}"
            " is ambiguous",
            f"choose one: {_choices(usable, accounts)}",
        )
    if on_platform:
        names = ", ".join(a.handle for a in on_platform)
        raise InvalidInput(
            f"no {label} account can post: {names} must be reconnected in Late",
            "reconnect it in Late, then run 'rabb accounts'",
        )
    connected = _connected(accounts)
    also = f"; {connected}" if connected else ""
    raise InvalidInput(
        f"no {label} account is connected in Late",
        f"connect one in Late and run 'rabb accounts'{also}",
    )


def target_for(account: Account, accounts: Sequence[Account]) -> str:
    """Return the shortest `-p` value that selects `account`."""
    same_platform = [
        a for a in accounts if a.platform == account.platform and a.can_post
    ]
    if account.can_post and len(same_platform) == 1:
        return account.platform
    if account.username:
        twins = [a for a in accounts if _same_handle(a, account)]
        if len(twins) == 1:
            return f"{account.platform}:{account.handle}"
    return f"{account.platform}:{account.id}"


def _named_account(
    spec: TargetSpec, on_platform: list[Account], accounts: Sequence[Account]
) -> Account:
    requested = spec.account or ""
    matches = [a for a in on_platform if a.id == requested] or [
        a
        for a in on_platform
        if a.username and _normal(a.username) == _normal(requested)
    ]
    label = _label(spec.platform)
    if not matches:
        known = _choices(on_platform, accounts) if on_platform else None
        hint = f"choose one: {known}" if known else _connected(accounts)
        refresh = "run 'rabb accounts' to refresh the list"
        raise InvalidInput(
            f"no {label} account {requested!r} is connected in Late",
            f"{hint}; {refresh}" if hint else f"connect it in Late, then {refresh}",
        )
    if len(matches) > 1:
        raise InvalidInput(
            f"{len(matches)} {label} accounts match {requested!r}",
            f"choose one by id: {_choices(matches, accounts, by_id=True)}",
        )
    account = matches[0]
    if not account.can_post:
        raise InvalidInput(
            f"the {label} account {account.handle} cannot post (it is disconnected"
            " or not enabled for posting in Late)",
            "reconnect it in Late, then run 'rabb accounts'",
        )
    return account


def _choices(
    options: Sequence[Account], accounts: Sequence[Account], by_id: bool = False
) -> str:
    if by_id:
        return ", ".join(f"-p {a.platform}:{a.id}" for a in options)
    return ", ".join(f"-p {target_for(a, accounts)}" for a in options)


def _connected(accounts: Sequence[Account]) -> str | None:
    """Return the accounts that can post, as `connected: ...`, or None."""
    usable = [a for a in accounts if a.can_post]
    if not usable:
        return None
    return "connected: " + ", ".join(f"{a.platform}:{a.handle}" for a in usable)


def _same_handle(first: Account, second: Account) -> bool:
    if first.platform != second.platform or not first.username or not second.username:
        return False
    return _normal(first.username) == _normal(second.username)


def _normal(name: str) -> str:
    return name.strip().lstrip("@").casefold()


def _label(platform: str) -> str:
    known = PLATFORMS.get(platform)
    return known.label if known else platform
