"""The SQLite store: connection settings, migrations and post queries.

Connections use WAL so readers never block the writer, a busy timeout so
overlapping processes wait instead of failing, and foreign keys. Transactions that
may write start with `BEGIN IMMEDIATE`, which takes the write lock up front: two
processes can then never both read a post as due and both claim it.
"""

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, func, select

from rabb_cli.dbfiles import names, permission_fix, unreadable_paths, unwritable_paths
from rabb_cli.errors import NotFound, RabbError
from rabb_cli.migrations import MIGRATIONS
from rabb_cli.models import Post
from rabb_cli.paths import ensure_private_dir
from rabb_cli.status import PostStatus

BUSY_TIMEOUT_SECONDS = 30
MAX_ID = 2**63 - 1
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """Access to one database file."""

    def __init__(self, engine: Engine, database: Path) -> None:
        self.engine = engine
        self.database = database
        self._writer = engine.execution_options(begin_immediate=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Yield a session in a write transaction that commits on success."""
        try:
            with (
                Session(self._writer, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session
        except OperationalError as error:
            raise database_error(self.database, error) from error

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading; it never takes the write lock."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except OperationalError as error:
            raise database_error(self.database, error) from error

    def get_post(self, session: Session, post_id: int) -> Post:
        # SQLite integers stop at 2**63 - 1; a larger id cannot name a post.
        post = session.get(Post, post_id) if 0 < post_id <= MAX_ID else None
        if post is None:
            raise NotFound(
                f"post {post_id} not found", "run 'rabb list' to see the post ids"
            )
        return post

    def list_posts(
        self,
        session: Session,
        *,
        statuses: Sequence[PostStatus] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Post]:
        """Return posts ordered by scheduled time, unscheduled ones last.

        `start` is inclusive and `end` exclusive. With either bound, posts without
        a scheduled time are left out. `limit` keeps the first posts of that order.
        """
        query = _filter_posts(select(Post), statuses, start, end)
        query = query.order_by(
            col(Post.scheduled_for).is_(None), col(Post.scheduled_for), col(Post.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.exec(query).all())

    def count_posts(
        self,
        session: Session,
        *,
        statuses: Sequence[PostStatus] = (),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        """Return how many posts `list_posts` returns without a limit."""
        query = _filter_posts(
            select(func.count()).select_from(Post), statuses, start, end
        )
        return int(session.exec(query).one())

    def list_scheduled_between(
        self,
        session: Session,
        start: datetime,
        end: datetime,
        *,
        statuses: Sequence[PostStatus] = (),
    ) -> list[tuple[int, datetime, str, str]]:
        """Return id, scheduled time, status and text of posts in [start, end).

        Rows come oldest first, from one query that the scheduled-time indexes
        serve. Targets are not loaded, which keeps a month of a large store cheap.
        """
        query = select(
            col(Post.id), col(Post.scheduled_for), col(Post.status), col(Post.text)
        ).where(col(Post.scheduled_for) >= start, col(Post.scheduled_for) < end)
        if statuses:
            query = query.where(col(Post.status).in_([s.value for s in statuses]))
        query = query.order_by(col(Post.scheduled_for), col(Post.id))
        return [
            (post_id, scheduled_for, status, text)
            for post_id, scheduled_for, status, text in session.exec(query).all()
            if post_id is not None and scheduled_for is not None
        ]

    def close(self) -> None:
        self.engine.dispose()


def _filter_posts(
    query: Any,
    statuses: Sequence[PostStatus],
    start: datetime | None,
    end: datetime | None,
) -> Any:
    if statuses:
        query = query.where(col(Post.status).in_([s.value for s in statuses]))
    if start is not None:
        query = query.where(col(Post.scheduled_for) >= start)
    if end is not None:
        query = query.where(col(Post.scheduled_for) < end)
    return query


def open_store(database: Path) -> Store:
    """Open (creating if needed) the database file and bring its schema up to date."""
    ensure_private_dir(database.parent)
    engine = create_engine(
        f"sqlite:///{database}",
        connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        poolclass=NullPool,
    )
    event.listen(engine, "connect", _configure_connection)
    event.listen(engine, "begin", _begin_transaction)
    try:
        migrate(engine, database)
    except (sqlite3.DatabaseError, DatabaseError) as error:
        engine.dispose()
        raise database_error(database, error) from error
    except Exception:
        engine.dispose()
        raise
    return Store(engine, database)


def database_error(database: Path, error: Exception) -> RabbError:
    """Return a RabbError naming why SQLite failed on `database` and the fix.

    SQLAlchemy's text is left out because it repeats the statement and its
    parameters, which can contain post text.
    """
    reason = str(getattr(error, "orig", None) or error)
    if "locked" in reason:
        return RabbError(
            f"the database {database} is locked by another process",
            "wait for it to finish (a long 'rabb run-due', for example), then try"
            " again",
        )
    if "readonly" in reason or "read-only" in reason:
        return _read_only_error(database)
    if "unable to open" in reason:
        return _open_error(database)
    if "disk" in reason and "full" in reason:
        return RabbError(
            f"cannot write to the database {database}: the disk is full",
            "free some space, then try again",
        )
    return RabbError(
        f"cannot open the database {database} ({reason})",
        "check the file, or restore it from a backup",
    )


def _read_only_error(database: Path) -> RabbError:
    blocked = unwritable_paths(database)
    if blocked:
        return RabbError(
            f"cannot write to the database {database}: {names(blocked)}"
            f" {'is' if len(blocked) == 1 else 'are'} read-only for you",
            permission_fix(blocked),
        )
    return RabbError(
        f"cannot write to the database {database}, which is read-only",
        f"check the permissions of the file, of its {database.name}-wal and"
        f" {database.name}-shm files and of its folder",
    )


def _open_error(database: Path) -> RabbError:
    blocked = unreadable_paths(database) or unwritable_paths(database)
    if blocked:
        return RabbError(
            f"cannot open the database {database}: permission denied on"
            f" {names(blocked)}",
            permission_fix(blocked),
        )
    return RabbError(
        f"cannot open the database {database}",
        "check that its folder exists and that you may read and write it",
    )


def migrate(engine: Engine, database: Path) -> None:
    """Run the migrations the database has not seen yet, each in a transaction."""
    with engine.connect() as connection:
        version = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
    if version > SCHEMA_VERSION:
        raise RabbError(
            f"the database {database} has schema version {version}, newer than"
            f" {SCHEMA_VERSION} which this rabb knows",
            "upgrade rabb",
        )
    if version == SCHEMA_VERSION:
        return

    if version > 0:
        backup_database(engine, database.with_name(f"{database.name}.v{version}.bak"))

    writer = engine.execution_options(begin_immediate=True)
    with writer.connect() as connection:
        for number, migration in enumerate(MIGRATIONS, start=1):
            with connection.begin():
                current = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
                if number <= current:
                    continue  # Another process migrated while this one waited.
                _apply(connection, number, migration.name, migration.statements)


def backup_database(engine: Engine, target: Path) -> None:
    """Copy the database to `target` with SQLite's online backup."""
    with engine.connect() as connection:
        source: Any = connection.connection.dbapi_connection
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()


def _apply(connection: Any, number: int, name: str, statements: Sequence[str]) -> None:
    connection.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " name VARCHAR PRIMARY KEY, applied_at VARCHAR(27) NOT NULL)"
    )
    for statement in statements:
        connection.exec_driver_sql(statement)
    connection.execute(
        text("INSERT INTO schema_migration (name, applied_at) VALUES (:name, :at)"),
        {"name": name, "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    )
    # PRAGMA takes no bound parameters; `number` is an int from enumerate.
    connection.exec_driver_sql(f"PRAGMA user_version = {int(number)}")


def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level; `_begin_transaction` emits BEGIN itself, which
    # is the documented way to get correct transactions from pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    # FULL syncs the WAL on every commit: a claimed or published post survives a
    # power cut.
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _begin_transaction(connection: Any) -> None:
    if connection.get_execution_options().get("begin_immediate"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
