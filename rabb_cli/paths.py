"""Locations of rabb's config, database, logs and locks.

By default the platform's user directories are used (on Linux the XDG ones).
`RABB_HOME=DIR` moves all of them under DIR, which is how tests stay away from the
user's real files.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from rabb_cli.errors import ConfigError, RabbError

APP_NAME = "rabb"
HOME_VARIABLE = "RABB_HOME"


@dataclass(frozen=True)
class Paths:
    """The files and folders of one rabb installation."""

    config_file: Path
    data_dir: Path
    state_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "rabb.db"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "run-due.log"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "run-due.lock"

    @property
    def outbox_dir(self) -> Path:
        return self.state_dir / "outbox"


def resolve_paths(environ: dict[str, str] | None = None) -> Paths:
    """Return the paths for `RABB_HOME` when it is set, else the platform defaults."""
    env = os.environ if environ is None else environ
    if HOME_VARIABLE in env:
        home = env[HOME_VARIABLE].strip()
        if not home:
            # A script's `RABB_HOME=$UNSET_VARIABLE` must not fall back to the
            # user's real posts.
            raise ConfigError(
                f"{HOME_VARIABLE} is set but empty",
                "give it a folder, or unset it to use the default folders",
            )
        root = Path(home).expanduser().absolute()
        return Paths(root / "config.toml", root, root / "state")

    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml",
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_state_dir(APP_NAME)),
    )


def ensure_private_dir(path: Path) -> None:
    """Create `path` and its parents, readable by the owner alone when new."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise RabbError(
            f"cannot create the folder {path} ({reason})",
            "check that no file has that name and that you may write there",
        ) from error
