"""`rabb notify`: show and set failure alerts, and `rabb notify test`.

`test` is an argument rather than a subcommand: the options of a command group are
converted even for a subcommand's --help, which would load Pydantic there.
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rabb_cli.config import Config
    from rabb_cli.publish.settings import AlertSettings

# The settings `rabb notify` shows, in order.
ALERT_SETTINGS = (
    "alerts.email",
    "alerts.from",
    "alerts.on_failure",
    "resend_api_key",
    "resend_api_url",
)


class Action(StrEnum):
    """An action of `rabb notify` besides showing and changing the settings."""

    TEST = "test"


def notify(
    action: Annotated[
        Action | None,
        typer.Argument(
            metavar="ACTION",
            help="'test' sends a test email to the alert address and prints"
            " Resend's response.",
            show_default=False,
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email", metavar="ADDRESS", help="Address that receives failure alerts."
        ),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="ADDRESS",
            help="Sender address, on a domain verified in Resend, such as"
            " 'rabb <alerts@example.com>'. RESEND_FROM_EMAIL overrides it.",
        ),
    ] = None,
    on_failure: Annotated[
        bool | None,
        typer.Option(
            "--on-failure/--no-on-failure",
            help="Send an alert when a post ends FAILED or PARTIAL (on by default"
            " once an address is set).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the settings, or Resend's response, as JSON."
        ),
    ] = False,
) -> None:
    """Show, set or test failure alerts by email."""
    from rabb_cli.config import update_config
    from rabb_cli.context import get_context

    context = get_context()
    # Reading the settings first rejects a broken config.toml or a malformed key
    # in the environment before anything is written.
    _ = context.config
    changes: dict[str, Any] = {}
    if email is not None:
        changes["alerts.email"] = email
    if sender is not None:
        changes["alerts.from"] = sender
    if on_failure is not None:
        changes["alerts.on_failure"] = on_failure
    if changes:
        origins = {
            "alerts.email": "--email",
            "alerts.from": "--from",
            "alerts.on_failure": "--on-failure",
        }
        update_config(context.paths.config_file, changes, origins)
        # Later steps read the settings just written.
        context.__dict__.pop("config", None)
    if action is Action.TEST:
        # `rabb notify --email ADDRESS test` sets the address, then tests it.
        send_test(json_output)
        return

    config = context.config
    if json_output:
        from rabb_cli.output import print_json

        print_json(_settings_json(config, context.zone))
        return
    if changes:
        typer.echo(f"Saved to {config.path}.")
    _render(config, context.zone)


def send_test(json_output: bool) -> None:
    """Send a test email to the alert address and print Resend's response."""
    import uuid

    from rabb_cli.context import get_context
    from rabb_cli.errors import ConfigError, RabbError
    from rabb_cli.publish.alert_email import notify_test_email
    from rabb_cli.publish.resend_client import HttpxTransport, send_email
    from rabb_cli.publish.settings import AlertSettings

    context = get_context()
    settings = AlertSettings.from_config(context.config, context.zone)
    if not settings.email:
        raise ConfigError(
            "no alert address is set, so there is nobody to send a test to",
            "set one with 'rabb notify --email ADDRESS'",
        )
    missing = settings.missing()
    if missing:
        what, how = missing[0]
        raise ConfigError(f"cannot send a test email: {what}", how)
    assert settings.api_key is not None
    assert settings.sender is not None

    message = notify_test_email(settings.email)
    transport = HttpxTransport()
    try:
        result = send_email(
            {
                "from": settings.sender,
                "to": [settings.email],
                "subject": message.subject,
                "html": message.html,
                "text": message.text,
            },
            api_key=settings.api_key,
            api_url=settings.api_url,
            # A new key each time: every `rabb notify test` is meant to send.
            idempotency_key=f"rabb-test-{uuid.uuid4().hex}",
            transport=transport,
        )
    finally:
        transport.close()
    if not result.sent:
        hint = (
            "try again later"
            if result.transient
            else "check RESEND_API_KEY, and that the sender is on a domain verified"
            " in Resend"
        )
        raise RabbError(f"Resend did not send the test email: {result.error}", hint)
    if json_output:
        from rabb_cli.output import print_json

        print_json({"sent": True, "to": settings.email, "resend_id": result.resend_id})
        return
    typer.echo(
        f"Resend accepted the test email to {settings.email}"
        f" (Resend email id {result.resend_id})."
    )


def _state_line(settings: "AlertSettings") -> str:
    reason = settings.off_reason()
    if reason is None:
        return (
            f"Failure alerts are on: an email goes to {settings.email} when a post"
            " fails."
        )
    if settings.on_failure is False:
        return (
            f"Failure alerts are off: {reason}. Turn them on with"
            " 'rabb notify --on-failure'."
        )
    return (
        f"Failure alerts are off: {reason}. Set one with 'rabb notify --email ADDRESS'."
    )


def _render(config: "Config", zone: Any) -> None:
    from rabb_cli.output import printable, warn
    from rabb_cli.publish.settings import AlertSettings

    settings = AlertSettings.from_config(config, zone)
    typer.echo(_state_line(settings))
    rows = _rows(config)
    width = max(len(row["name"]) for row in rows) + 2
    for row in rows:
        value = row["value"]
        if value is None:
            value = "(not set)"
        elif isinstance(value, bool):
            value = str(value).lower()
        # Only the value is user content; escaping it alone keeps the columns.
        shown = printable(str(value), one_line=True)
        typer.echo(f"  {row['name']:<{width}}{shown}  ({row['source']})")
    counts = _email_counts()
    if counts is not None:
        typer.echo(
            f"Alert emails: {counts['sent']} sent, {counts['pending']} pending,"
            f" {counts['failed']} failed."
        )
    if settings.requested:
        for what, how in settings.missing():
            warn(f"alerts cannot be sent: {what}. {how[0].upper()}{how[1:]}.")
        if not settings.missing():
            typer.echo("Send a test email with 'rabb notify test'.")


def _rows(config: "Config") -> list[dict[str, Any]]:
    """Return each alert setting's name, value (keys masked) and source."""
    from rabb_cli.config import SETTINGS_BY_NAME
    from rabb_cli.redact import mask

    rows = []
    for name in ALERT_SETTINGS:
        value = config.get(name)
        if value is not None and SETTINGS_BY_NAME[name].secret:
            value = mask(str(value))
        rows.append({"name": name, "value": value, "source": config.source(name)})
    return rows


def _settings_json(config: "Config", zone: Any) -> dict[str, Any]:
    from rabb_cli.publish.settings import AlertSettings

    settings = AlertSettings.from_config(config, zone)
    return {
        "enabled": settings.requested,
        "off_reason": settings.off_reason(),
        "missing": [what for what, _ in settings.missing()],
        "settings": _rows(config),
        "emails": _email_counts(),
    }


def _email_counts() -> dict[str, int] | None:
    """Return the alert emails by status, or None before the database exists."""
    from rabb_cli.context import get_context
    from rabb_cli.publish.alerts import email_counts

    context = get_context()
    if not context.paths.database.exists():
        return None
    with context.store.read() as session:
        return email_counts(session)
