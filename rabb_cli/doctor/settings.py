"""The doctor's checks of the settings: config file, Late key, Resend, zone."""

import stat
from typing import TYPE_CHECKING

from rabb_cli.doctor.base import (
    Finding,
    Setup,
    error,
    no_config,
    ok,
    secret_names,
    warning,
)
from rabb_cli.errors import RabbError
from rabb_cli.redact import mask
from rabb_cli.timeparse import detect_system_zone

if TYPE_CHECKING:
    from rabb_cli.config import Config
    from rabb_cli.publish.late import RemoteAccount


def check_config(setup: Setup) -> Finding:
    """Check that the settings load, and that a file with a key is private."""
    path = setup.paths.config_file
    loaded = setup.config_or_error
    if isinstance(loaded, RabbError):
        return error(loaded.message, loaded.hint or f"fix {path}")
    if not path.exists():
        return ok(f"no config file at {path}; settings come from the environment")

    mode = stat.S_IMODE(path.stat().st_mode)
    secrets = [name for name in secret_names() if loaded.source(name) == "config.toml"]
    if secrets:
        return ok(f"{path} (mode {mode:04o}, holds {', '.join(secrets)})")
    return ok(f"{path} (mode {mode:04o}, holds no API key)")


def check_late_key(setup: Setup) -> Finding:
    """Check that a Late key is set and that Late accepts it (GET /v1/accounts)."""
    from rabb_cli.publish.late import LateUnauthorized
    from rabb_cli.publish.settings import OUTBOX

    config = setup.config
    if config is None:
        return no_config(setup)
    if config.get("publish.publisher") == OUTBOX:
        return ok(
            "not applicable: the outbox publisher writes posts to files and never"
            " calls Late"
        )
    key = config.get("late_api_key")
    if not key:
        return error(
            "no Late API key is set, so run-due cannot publish",
            "set late_api_key in config.toml (mode 0600), or LATE_API_KEY; or set"
            ' publisher = "outbox" under [publish] to write posts to files instead',
        )

    masked_key = f"{mask(key)} (from {config.source('late_api_key')})"
    try:
        accounts = _fetch_accounts(config)
    except LateUnauthorized:
        return error(
            f"Late rejected the key {masked_key} with HTTP 401 Unauthorized",
            "check the key in Late's dashboard, then set the right one in"
            " late_api_key or LATE_API_KEY",
        )
    except RabbError as failure:
        return warning(
            f"the key {masked_key} could not be checked: {failure.message}",
            "check the network and late_base_url, then run 'rabb doctor' again",
        )
    return _accounts_finding(masked_key, accounts)


def _fetch_accounts(config: "Config") -> "list[RemoteAccount]":
    from rabb_cli.publish.late import LateClient

    client = LateClient(
        config.get("late_api_key"),
        config.get("late_base_url"),
        config.get("publish.timeout"),
        max_connections=1,
    )
    try:
        return client.list_accounts()
    finally:
        client.close()


def _accounts_finding(masked_key: str, accounts: "list[RemoteAccount]") -> Finding:
    usable = [account for account in accounts if account.active and account.can_post]
    if not usable:
        return warning(
            f"Late accepted the key {masked_key}, but no active account can post, so"
            " every post will fail",
            "connect an account in Late, then run 'rabb accounts'",
        )
    count = "1 account" if len(usable) == 1 else f"{len(usable)} accounts"
    return ok(f"Late accepted the key {masked_key}; {count} can post")


def check_resend(setup: Setup) -> Finding:
    """Check that the alert settings are complete and agree; sends no email."""
    config = setup.config
    if config is None:
        return no_config(setup)
    recipient = config.get("alerts.email")
    switch = config.get("alerts.on_failure")
    enabled = switch if switch is not None else recipient is not None
    if not enabled:
        return _alerts_off(config, switch)
    if recipient is None:
        return error(
            "alerts.on_failure is true, but alerts.email is not set, so a failure"
            " alert has no recipient",
            "set alerts.email to your address",
        )

    missing = _missing_alert_settings(config)
    if missing:
        return error(
            f"failure alerts go to {recipient}, but {' and '.join(missing)}"
            f" {'is' if len(missing) == 1 else 'are'} not set, so no alert can be sent",
            _alert_fix(missing),
        )
    key = f"{mask(config.get('resend_api_key'))} from {config.source('resend_api_key')}"
    return ok(
        f"failure alerts go to {recipient} from {config.get('alerts.from')} through"
        f" Resend (key {key}); no test email was sent"
    )


def _alerts_off(config: "Config", switch: bool | None) -> Finding:
    if switch is False:
        return ok("failure alerts are off (alerts.on_failure = false)")
    present = [name for name in ("resend_api_key", "alerts.from") if config.get(name)]
    if present:
        return warning(
            f"{' and '.join(present)} {'is' if len(present) == 1 else 'are'} set,"
            " but alerts.email is not, so no failure alert is sent",
            "set alerts.email to the address that should receive alerts",
        )
    return ok(
        "failure alerts are off; set alerts.email, alerts.from and resend_api_key"
        " to get an email when a post fails"
    )


def _missing_alert_settings(config: "Config") -> list[str]:
    names = ("resend_api_key", "alerts.from")
    return [name for name in names if not config.get(name)]


def _alert_fix(missing: list[str]) -> str:
    fixes = {
        "resend_api_key": "set resend_api_key in config.toml (mode 0600) or"
        " RESEND_API_KEY",
        "alerts.from": "set alerts.from to an address on a domain verified in Resend",
    }
    return "; ".join(fixes[name] for name in missing)


def check_zone(setup: Setup) -> Finding:
    """Say which zone rabb reads and shows times in, and where it comes from."""
    from rabb_cli.timeparse import format_local, zone_name

    config = setup.config
    if config is None:
        return no_config(setup)
    source = config.source("timezone")
    if source != "default":
        zone = setup.zone
        now = format_local(setup.now, zone)
        return ok(f"{zone_name(zone)} from {source} (now {now})")

    system = detect_system_zone()
    origin = f"TZ={setup.environ['TZ']}" if setup.environ.get("TZ") else "the system"
    if system.fallback:
        return warning(
            f"the system zone is unknown ({system.fallback}), so rabb reads and"
            " shows times in UTC",
            "set timezone in config.toml, or RABB_TIMEZONE, to an IANA name such as"
            " 'Europe/Berlin'",
        )
    described = f"{zone_name(system.zone)} from {origin}"
    described += f" (now {format_local(setup.now, system.zone)})"
    if system.notes:
        return warning(f"{described}, but {system.notes}", "check the zone settings")
    return ok(described)
