"""The target rows an edit keeps, and the rule that a published target stays.

`rabb edit -p` replaces a post's whole platform list. Each new `-p` value takes over
the row of the target it names, with that row's outcome: a target published before
stays published and is never sent again. A value names an existing target when it
is written the same way, or when the cached accounts resolve both to the same Late
account (`twitter` and `twitter:@me` when @me is the only X account).

An edit is rejected when it would drop a published target, when it names one
account twice, or when rabb cannot tell whether a new value names the account of a
published target (no cached accounts to compare).
"""

from collections.abc import Sequence

from rabb_cli import accounts
from rabb_cli.errors import InvalidInput
from rabb_cli.models import Account, Target
from rabb_cli.status import TargetStatus
from rabb_cli.textrules import PLATFORMS, TargetSpec


def match_targets(
    post_id: int | None,
    specs: Sequence[TargetSpec],
    existing: Sequence[Target],
    cache: Sequence[Account],
) -> list[Target | None]:
    """Return the existing row each spec names (None for a new target).

    Raises InvalidInput when the specs drop a published target, name one account
    twice, or may name a published target's account without rabb being able to
    tell.
    """
    # parse_targets drops repeated values, so no two specs match one row by text.
    rows: list[Target | None] = [_same_text(spec, existing) for spec in specs]
    for index, spec in enumerate(specs):
        if rows[index] is None:
            rows[index] = _same_account(post_id, spec, specs, rows, existing, cache)
    dropped = [t for t in existing if is_published(t) and _index(rows, t) is None]
    if dropped:
        raise _dropped_error(post_id, specs, dropped)
    return rows


def is_published(target: Target) -> bool:
    return target.status == TargetStatus.PUBLISHED.value


def _same_text(spec: TargetSpec, existing: Sequence[Target]) -> Target | None:
    for target in existing:
        if (target.platform, target.account) == (spec.platform, spec.account):
            return target
    return None


def _index(rows: Sequence[Target | None], target: Target) -> int | None:
    """Return the position of `target` itself in `rows` (not of an equal row)."""
    for index, row in enumerate(rows):
        if row is target:
            return index
    return None


def _same_account(
    post_id: int | None,
    spec: TargetSpec,
    specs: Sequence[TargetSpec],
    rows: list[Target | None],
    existing: Sequence[Target],
    cache: Sequence[Account],
) -> Target | None:
    """Return the existing row on the spec's account, written another way.

    A published row whose account cannot be compared with the spec's is an error,
    since sending the spec could publish the post there a second time.
    """
    spec_account = account_id_of(spec, cache)
    for target in existing:
        if target.platform != spec.platform:
            continue
        target_account = target.account_id or account_id_of(_spec_of(target), cache)
        if spec_account is None or target_account is None:
            if is_published(target):
                raise _unknown_account_error(post_id, spec, target)
            continue
        if spec_account != target_account:
            continue
        taken = _index(rows, target)
        if taken is not None:
            raise _same_account_error(specs[taken], spec, target)
        return target
    return None


def account_id_of(spec: TargetSpec, cache: Sequence[Account]) -> str | None:
    """Return the Late account id the spec resolves to, or None when unknown."""
    if not cache:
        return None
    try:
        return accounts.resolve_target(spec, cache).id
    except InvalidInput:
        return None


def _spec_of(target: Target) -> TargetSpec:
    return TargetSpec(target.platform, target.account)


def _dropped_error(
    post_id: int | None, specs: Sequence[TargetSpec], dropped: Sequence[Target]
) -> InvalidInput:
    names = ", ".join(target.selector for target in dropped)
    kept = [str(spec) for spec in specs] + [target.selector for target in dropped]
    options = " ".join(f"-p {name}" for name in kept)
    return InvalidInput(
        f"post {post_id} is already published on {names}, and -p replaces the"
        " whole platform list, so it cannot leave out a platform the post went to",
        f"name every published platform too, for example 'rabb edit {post_id}"
        f" {options}'",
    )


def _unknown_account_error(
    post_id: int | None, spec: TargetSpec, published: Target
) -> InvalidInput:
    label = _label(spec.platform)
    return InvalidInput(
        f"cannot tell whether -p {spec} is the {label} account where post {post_id}"
        f" is already published (-p {published.selector}), so it could be sent there"
        " twice",
        "run 'rabb accounts' to fetch the connected accounts, or write that"
        f" platform as before: -p {published.selector}",
    )


def _same_account_error(
    first: TargetSpec, second: TargetSpec, row: Target
) -> InvalidInput:
    account = row.account_id or row.account or "account"
    return InvalidInput(
        f"-p {first} and -p {second} name the same {_label(row.platform)} account"
        f" ({account})",
        "name each account once",
    )


def _label(platform: str) -> str:
    known = PLATFORMS.get(platform)
    return known.label if known else platform
