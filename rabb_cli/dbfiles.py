"""Permission checks on the database, its `-wal` and `-shm` files and its folder.

SQLite reports a permission problem as "unable to open database file" or
"attempt to write a readonly database", without naming the file. A `-shm` file
left read-only by an earlier read-only connection makes every write fail even
after the database itself is writable again, so the checks look at every file
SQLite touches and the messages name the ones that are wrong.

These checks use `os.access`, which is true for root on any file, so they find
nothing for root.
"""

import os
import pwd
import shlex
from pathlib import Path

# The files SQLite keeps beside a database in WAL mode.
SIDE_FILE_SUFFIXES = ("-wal", "-shm")


def database_files(database: Path) -> list[Path]:
    """Return the database and those of its `-wal` and `-shm` files that exist."""
    sides = [
        database.with_name(database.name + suffix) for suffix in SIDE_FILE_SUFFIXES
    ]
    return [database, *(path for path in sides if path.exists())]


def unreadable_paths(database: Path) -> list[Path]:
    """Return the folder and files that keep this user from reading `database`.

    A file or folder that does not exist is not listed.
    """
    folder = database.parent
    if not os.path.exists(folder):
        return []
    if not os.access(folder, os.X_OK):
        return [folder]
    files = [path for path in database_files(database) if path.exists()]
    return [path for path in files if not os.access(path, os.R_OK)]


def unwritable_paths(database: Path) -> list[Path]:
    """Return the folder and files that keep this user from writing `database`.

    SQLite creates the `-wal` and `-shm` files when they are missing, so the
    folder must then be writable too. A missing folder is not listed, because
    rabb creates it.
    """
    folder = database.parent
    if not os.path.exists(folder):
        return []
    if not os.access(folder, os.X_OK):
        return [folder]
    files = database_files(database)
    blocked = [path for path in files if path.exists() and not _writable(path)]
    missing_side_file = len(files) < 1 + len(SIDE_FILE_SUFFIXES)
    if missing_side_file and not os.access(folder, os.W_OK | os.X_OK):
        blocked.insert(0, folder)
    return blocked


def _writable(path: Path) -> bool:
    return os.access(path, os.R_OK | os.W_OK)


def names(paths: list[Path]) -> str:
    """Return `a`, `a and b` or `a, b and c` for the paths."""
    shown = [str(path) for path in paths]
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def permission_fix(paths: list[Path]) -> str:
    """Return the commands that give this user back read and write access."""
    user = user_name()
    foreign = [path for path in paths if _owner(path) != os.geteuid()]
    steps = []
    if foreign:
        steps.append(f"'sudo chown {_shell_word(user)} {_quoted(foreign)}'")
    folders = [path for path in paths if path.is_dir()]
    files = [path for path in paths if not path.is_dir()]
    if files:
        steps.append(f"'chmod u+rw {_quoted(files)}'")
    if folders:
        steps.append(f"'chmod u+rwx {_quoted(folders)}'")
    return "run " + ", then ".join(steps)


def _quoted(paths: list[Path]) -> str:
    return " ".join(_shell_word(str(path)) for path in paths)


def _shell_word(text: str) -> str:
    """Quote `text` for a shell, in double quotes where that suffices.

    The commands are shown in single quotes, which shlex's quoting would break.
    """
    quoted = shlex.quote(text)
    if quoted == text or any(char in text for char in '"$`\\!'):
        return quoted
    return f'"{text}"'


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def user_name() -> str:
    """Return the name of the user this process runs as, or its uid."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
