"""Settings: one table of every setting, read from the environment and config.toml.

A value from an environment variable wins over config.toml, which wins over the
default. The table drives validation, `rabb config show` and the README's list of
settings. A config file that contains an API key must have mode 0600.
"""

import os
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rabb_cli.errors import ConfigError, InvalidInput
from rabb_cli.paths import Paths, ensure_private_dir
from rabb_cli.redact import register_secret


@dataclass(frozen=True)
class Setting:
    """One setting: its dotted name in config.toml, kind, default and help."""

    name: str
    kind: str
    default: Any
    help: str
    env: tuple[str, ...] = ()
    secret: bool = False
    choices: tuple[str, ...] = ()
    # The largest value a count takes; larger values are typing mistakes.
    maximum: int | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "timezone",
        "zone",
        None,
        "IANA zone for reading and showing times; the system zone when unset",
        env=("RABB_TIMEZONE",),
    ),
    Setting(
        "week_start",
        "choice",
        "monday",
        "first day of the week in the calendar",
        choices=("monday", "sunday"),
    ),
    Setting(
        "late_api_key",
        "key",
        None,
        "Late (Zernio) API key",
        env=("LATE_API_KEY", "ZERNIO_API_KEY"),
        secret=True,
    ),
    Setting(
        "late_base_url",
        "url",
        "https://zernio.com/api",
        "base URL of the Late API",
        env=("LATE_BASE_URL",),
    ),
    Setting(
        "resend_api_key",
        "key",
        None,
        "Resend API key for failure alerts",
        env=("RESEND_API_KEY",),
        secret=True,
    ),
    Setting(
        "resend_api_url",
        "url",
        "https://api.resend.com",
        "base URL of the Resend API",
        env=("RESEND_API_URL",),
    ),
    Setting(
        "publish.publisher",
        "choice",
        "late",
        "where run-due publishes: the Late API, or JSON files in the outbox folder",
        env=("RABB_PUBLISHER",),
        choices=("late", "outbox"),
    ),
    Setting(
        "publish.max_attempts",
        "count",
        4,
        "attempts per post in all, the first try included",
        # With backoff_max at 1h and max_lateness at 24h, even 100 attempts are
        # more than a day of retries can use.
        maximum=100,
    ),
    Setting(
        "publish.backoff_base",
        "duration",
        timedelta(seconds=30),
        "base delay of the exponential backoff between attempts",
    ),
    Setting(
        "publish.backoff_max",
        "duration",
        timedelta(hours=1),
        "maximum delay between attempts",
    ),
    Setting(
        "publish.max_lateness",
        "duration",
        timedelta(hours=24),
        "a post due longer ago than this is marked failed instead of published",
    ),
    Setting(
        "publish.lease",
        "duration",
        timedelta(minutes=15),
        "time after which a post left publishing by a stopped run is tried again",
    ),
    Setting(
        "publish.concurrency",
        "count",
        4,
        "posts published at the same time by one run",
        # Each is an open connection to Late, which rate-limits far below this.
        maximum=32,
    ),
    Setting(
        "publish.timeout",
        "duration",
        timedelta(seconds=300),
        "read timeout of a publish request",
    ),
    Setting(
        "alerts.email",
        "email",
        None,
        "address that receives failure alerts",
    ),
    Setting(
        "alerts.from",
        "email",
        None,
        "sender address of failure alerts, on a domain verified in Resend",
        env=("RESEND_FROM_EMAIL",),
    ),
    Setting(
        "alerts.on_failure",
        "bool",
        None,
        "send an alert when a post fails; on by default once alerts.email is set",
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# Longest duration any setting takes; longer values are typing mistakes.
MAX_DURATION = timedelta(days=30)


@dataclass
class Config:
    """The settings in effect, and where each value came from."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.values[name]

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")


def load_config(paths: Paths, environ: dict[str, str] | None = None) -> Config:
    """Read config.toml and the environment into a validated Config."""
    env = os.environ if environ is None else environ
    raw = read_file(paths.config_file)
    config = Config(paths.config_file)

    for setting in SETTINGS:
        value: Any = setting.default
        source = "default"
        present, file_value = _lookup(raw, setting.name)
        if present:
            value = convert(setting, file_value, "config.toml")
            source = "config.toml"
        for variable in setting.env:
            if env.get(variable, "").strip():
                value = convert(setting, env[variable], variable)
                source = variable
                break
        if setting.secret:
            register_secret(value)
        config.values[setting.name] = value
        config.sources[setting.name] = source

    _check_file_mode(paths.config_file, raw)
    _check_backoff(config)
    return config


def _check_backoff(config: Config) -> None:
    base = config.get("publish.backoff_base")
    maximum = config.get("publish.backoff_max")
    if maximum < base:
        raise InvalidInput(
            "publish.backoff_max is shorter than publish.backoff_base",
            "raise backoff_max or lower backoff_base in config.toml",
        )


def read_file(path: Path) -> dict[str, Any]:
    """Return the parsed config file, or an empty table when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(
            f"cannot read {path}: {error.strerror}", _read_fix(path, error)
        ) from error
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(
            f"invalid TOML in {path}: {error}", "fix the file or move it away"
        ) from error
    _reject_unknown_keys(parsed, path)
    return parsed


def _read_fix(path: Path, error: OSError) -> str:
    """Return the command that makes config.toml readable again."""
    if isinstance(error, IsADirectoryError):
        return f"move the folder {path} away, because config.toml must be a file"
    if not isinstance(error, PermissionError):
        return f"check the file {path} and the disk it is on"
    from rabb_cli.dbfiles import user_name

    try:
        owner = path.stat().st_uid
    except OSError:
        return f"check that you may open the folder {path.parent}"
    if owner != os.geteuid():
        return f"run 'sudo chown {user_name()} {path}', then 'chmod 600 {path}'"
    return f"run 'chmod 600 {path}'"


def update_config(
    path: Path, changes: dict[str, Any], origins: dict[str, str] | None = None
) -> None:
    """Set (or, with None, remove) settings in config.toml, keeping its comments.

    `origins` names where each value came from (such as `--email`) for error
    messages. The whole resulting file is checked before anything is written. It
    is written to a temporary file with mode 0600 and renamed over the old one, so
    a crash never leaves half a file and keys are never readable by others. When
    config.toml is a symbolic link, the file it points to is replaced.
    """
    import tomlkit

    for name, value in changes.items():
        if value is not None:
            origin = (origins or {}).get(name, "the command line")
            convert(SETTINGS_BY_NAME[name], value, origin)

    target = Path(os.path.realpath(path))
    try:
        document = tomlkit.parse(target.read_text("utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
    except (UnicodeDecodeError, tomlkit.exceptions.ParseError) as error:
        raise InvalidInput(
            f"invalid TOML in {path}: {error}", "fix the file or move it away"
        ) from error
    for name, value in changes.items():
        _set_in_document(document, name, value)
    text = tomlkit.dumps(document)
    _validate_text(text, path)

    ensure_private_dir(target.parent)
    _write_private(target, text)


def _validate_text(text: str, path: Path) -> None:
    """Raise InvalidInput when `text`, as config.toml, has an invalid setting."""
    parsed = tomllib.loads(text)
    _reject_unknown_keys(parsed, path)
    for setting in SETTINGS:
        present, value = _lookup(parsed, setting.name)
        if present:
            convert(setting, value, "config.toml")


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def convert(setting: Setting, value: Any, origin: str) -> Any:
    """Validate a raw value for `setting` and return it in its Python type."""
    converter = _CONVERTERS[setting.kind]
    try:
        return converter(setting, value)
    except (InvalidInput, ValueError, TypeError) as error:
        detail = error.message if isinstance(error, InvalidInput) else str(error)
        failure = InvalidInput(
            f"invalid value {_shown(setting, value)} for {setting.name} in {origin}"
            f" ({detail})",
            _expected(setting),
        )
        failure.setting = f"{setting.name} in {origin}"
        raise failure from error


def _lookup(raw: dict[str, Any], name: str) -> tuple[bool, Any]:
    table: Any = raw
    for part in name.split("."):
        if not isinstance(table, dict) or part not in table:
            return False, None
        table = table[part]
    return True, table


def _reject_unknown_keys(parsed: dict[str, Any], path: Path) -> None:
    sections = {name.split(".")[0] for name in SETTINGS_BY_NAME if "." in name}
    for key, value in parsed.items():
        if key in sections and isinstance(value, dict):
            names = [f"{key}.{inner}" for inner in value]
        else:
            names = [key]
        for name in names:
            if name not in SETTINGS_BY_NAME:
                known = ", ".join(SETTINGS_BY_NAME)
                raise InvalidInput(
                    f"unknown setting {name!r} in {path}", f"valid names are {known}"
                )


def _check_file_mode(path: Path, raw: dict[str, Any]) -> None:
    if not path.exists():
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        # Whoever can write the file can point late_base_url at their own server
        # and receive the key rabb sends there.
        raise ConfigError(
            f"{path} can be changed by other users (mode {mode:04o})",
            f"run 'chmod 600 {path}'",
        )
    has_secret = any(
        _lookup(raw, setting.name)[0] for setting in SETTINGS if setting.secret
    )
    if has_secret and mode & 0o077:
        raise ConfigError(
            f"{path} contains an API key but other users can read it (mode {mode:04o})",
            f"run 'chmod 600 {path}'",
        )


def _set_in_document(document: Any, name: str, value: Any) -> None:
    import tomlkit

    *sections, key = name.split(".")
    table = document
    for section in sections:
        if section not in table:
            if value is None:
                return
            table[section] = tomlkit.table()
        table = table[section]
    if value is None:
        table.pop(key, None)
    elif isinstance(value, timedelta):
        from rabb_cli.timeparse import format_setting_duration

        table[key] = format_setting_duration(value)
    else:
        table[key] = value


def _shown(setting: Setting, value: Any) -> str:
    if setting.secret:
        return "(hidden)"
    if setting.kind == "url" and isinstance(value, str):
        return repr(_without_userinfo(value))
    return repr(value)


def _without_userinfo(url: str) -> str:
    """Return `url` with any `user:password@` part replaced by `***@`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    # Replaced in the text as given, so the scheme keeps the case the user wrote.
    return url.replace(parts.netloc, f"***@{host}", 1)


def _expected(setting: Setting) -> str:
    return {
        "zone": "use an IANA zone name such as 'Europe/Berlin'",
        "choice": f"use one of {', '.join(setting.choices)}",
        "count": (
            f"use a whole number from 1 to {setting.maximum}"
            if setting.maximum
            else "use a whole number of at least 1"
        ),
        "duration": "use a duration such as '30s', '15m' or '24h'",
        "bool": "use true or false",
        "email": "use an address such as 'me@example.com'",
        "url": "use an https URL without 'user:password@' (http only for 127.0.0.1"
        " or localhost)",
        "text": "use a non-empty string",
        "key": "copy the key again from the service's dashboard, as one line",
    }[setting.kind]


def _to_zone(setting: Setting, value: Any) -> str:
    from rabb_cli.timeparse import load_zone

    return load_zone(str(value)).key


def _to_choice(setting: Setting, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in setting.choices:
        raise ValueError(f"not one of {', '.join(setting.choices)}")
    return text


def _to_count(setting: Setting, value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("not a number")
    number = int(str(value).strip())
    if number < 1:
        raise ValueError("must be at least 1")
    if setting.maximum is not None and number > setting.maximum:
        raise ValueError(f"must be between 1 and {setting.maximum}")
    return number


def _to_duration(setting: Setting, value: Any) -> timedelta:
    from rabb_cli.timeparse import parse_duration

    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    span = parse_duration(str(value))
    if span <= timedelta():
        raise ValueError("must be longer than zero")
    if span > MAX_DURATION:
        raise ValueError("must be at most 30d")
    return span


def _to_bool(setting: Setting, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true or false")


def _to_email(setting: Setting, value: Any) -> str:
    text = str(value).strip()
    address = text.rsplit("<", 1)[-1].rstrip(">").strip()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(char.isspace() for char in address):
        raise ValueError("not an email address")
    return text


def _to_url(setting: Setting, value: Any) -> str:
    text = str(value).strip().rstrip("/")
    # Schemes are case-insensitive (RFC 3986, section 3.1), so `HTTP://` is
    # accepted and stored in lowercase.
    scheme, separator, rest = text.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        raise ValueError("not an http or https URL")
    text = f"{scheme}://{rest}"
    parts = urlsplit(text)
    if parts.username is not None or parts.password is not None:
        # httpx would send them as Basic auth in place of the API key, and rabb
        # prints this URL in `config show` and debug logs.
        raise ValueError("it contains a user name or password")

    # The API key travels with every request, so plain http is allowed only to
    # this machine, as tests and local stand-ins use.
    host = (parts.hostname or "").lower()
    if scheme == "http" and host not in _LOOPBACK_HOSTS:
        raise ValueError("plain http would send the API key unencrypted")
    return text


def _to_text(setting: Setting, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    if not value.strip():
        raise ValueError("empty")
    return value.strip()


def _to_key(setting: Setting, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    key = value.strip()
    # Keys travel in an HTTP header, which takes printable ASCII only.
    if not key or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError("not a key: keys are one word of printable ASCII")
    return key


_CONVERTERS = {
    "zone": _to_zone,
    "choice": _to_choice,
    "count": _to_count,
    "duration": _to_duration,
    "bool": _to_bool,
    "email": _to_email,
    "url": _to_url,
    "text": _to_text,
    "key": _to_key,
}
