"""Process-wide options and the objects a command needs: paths, config, zone, store."""

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

from rabb_cli.paths import Paths, resolve_paths

if TYPE_CHECKING:
    from rabb_cli.config import Config
    from rabb_cli.store import Store


@dataclass
class GlobalOptions:
    """Options given before the command name, such as `rabb --debug list`."""

    debug: bool = False
    verbose: bool = False
    no_color: bool = False
    # The command line after `rabb`, to suggest running the same command again.
    arguments: tuple[str, ...] = ()


options = GlobalOptions()


def colour_enabled(stream: object = None) -> bool:
    """Return whether output may carry colour and style escape sequences.

    Colour is off with `--no-color`, with `NO_COLOR` set to anything but empty
    (see no-color.org), with `TERM=dumb`, and when the stream is not a terminal.
    """
    if options.no_color or os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


class AppContext:
    """Lazily built paths, settings, zone and store for one command."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or resolve_paths()

    @cached_property
    def config(self) -> "Config":
        # Imported here because reading TOML is not needed for --help.
        from rabb_cli.config import load_config

        return load_config(self.paths)

    @cached_property
    def zone(self) -> tzinfo:
        from rabb_cli.timeparse import load_zone, system_zone

        name = self.config.get("timezone")
        return load_zone(name) if name else system_zone()

    @cached_property
    def store(self) -> "Store":
        from rabb_cli.store import open_store

        return open_store(self.paths.database)

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class _Holder:
    context: AppContext | None = None


_holder = _Holder()


def get_context() -> AppContext:
    """Return the context of the running command, creating it on first use."""
    if _holder.context is None:
        _holder.context = AppContext()
    return _holder.context


def reset_context() -> None:
    """Forget the current context, closing its store; tests call this between runs."""
    context = _holder.context
    if context is not None and "store" in context.__dict__:
        context.store.close()
    _holder.context = None
