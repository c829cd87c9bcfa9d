"""The SQLite store: time round trips, migrations, pragmas and write locking."""

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, create_engine, insert, select
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from rabb_cli import migrations
from rabb_cli.errors import RabbError
from rabb_cli.models import Post, Target
from rabb_cli.store import SCHEMA_VERSION, open_store


def make_post(**fields: object) -> Post:
    values: dict[str, object] = {"uid": f"uid-{time.monotonic_ns()}", "text": "hi"}
    values.update(fields)
    post = Post.model_validate(values)
    post.targets = [Target(platform="twitter")]
    return post


def test_plain_datetime_drops_offset(tmp_path: Path) -> None:
    # Why the store has its own type: SQLAlchemy's DateTime on SQLite loses the zone.
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    table = Table("t", MetaData(), Column("at", DateTime(timezone=True)))
    table.metadata.create_all(engine)
    aware = datetime(2026, 8, 23, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as connection:
        connection.execute(insert(table).values(at=aware))
        stored = connection.execute(select(table.c.at)).scalar_one()
    assert stored.tzinfo is None
    engine.dispose()


def test_times_round_trip_aware(tmp_path: Path) -> None:
    store = open_store(tmp_path / "rabb.db")
    berlin_nine = datetime(2026, 8, 23, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    with store.write() as session:
        session.add(make_post(scheduled_for=berlin_nine))
    with store.read() as session:
        post = store.get_post(session, 1)
    assert post.scheduled_for is not None
    assert post.scheduled_for.tzinfo is UTC
    assert post.scheduled_for == datetime(2026, 8, 23, 7, 0, tzinfo=UTC)
    assert post.created_at.tzinfo is UTC
    store.close()


def test_times_stored_as_utc_text(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    store = open_store(database)
    at = datetime(2026, 8, 23, 9, 0, 5, 120, tzinfo=timezone(timedelta(hours=2)))
    with store.write() as session:
        session.add(make_post(scheduled_for=at))
    store.close()
    raw = sqlite3.connect(database).execute("SELECT scheduled_for FROM post")
    assert raw.fetchone()[0] == "2026-08-23T07:00:05.000120Z"


def test_naive_datetime_rejected(tmp_path: Path) -> None:
    store = open_store(tmp_path / "rabb.db")
    with pytest.raises(Exception, match="naive datetime"), store.write() as session:
        session.add(make_post(scheduled_for=datetime(2026, 8, 23, 9, 0)))
    with store.read() as session:
        assert store.list_posts(session) == []
    store.close()


def test_migrations_recorded(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    open_store(database).close()
    connection = sqlite3.connect(database)
    names = [row[0] for row in connection.execute("SELECT name FROM schema_migration")]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    assert names == [migration.name for migration in migrations.MIGRATIONS]
    assert version == SCHEMA_VERSION


def test_pragmas_applied(tmp_path: Path) -> None:
    store = open_store(tmp_path / "rabb.db")
    with store.engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    assert journal == "wal"
    assert keys == 1
    assert busy >= 1000
    store.close()


def test_models_match_migrations(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    open_store(database).close()
    connection = sqlite3.connect(database)
    for table in SQLModel.metadata.sorted_tables:
        rows = connection.execute(f"PRAGMA table_info({table.name})").fetchall()
        migrated = {row[1] for row in rows}
        assert migrated == set(table.columns.keys()), table.name


def test_newer_schema_rejected(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    open_store(database).close()
    connection = sqlite3.connect(database)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(RabbError, match="Upgrade rabb"):
        open_store(database)


def test_pending_migration_backs_up_and_keeps_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "rabb.db"
    store = open_store(database)
    with store.write() as session:
        session.add(make_post(text="keep me"))
    store.close()

    extra = migrations.Migration(
        "9999_add_note", ("ALTER TABLE post ADD COLUMN note VARCHAR",)
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, extra))
    monkeypatch.setattr("rabb_cli.store.MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr("rabb_cli.store.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    open_store(database).close()

    connection = sqlite3.connect(database)
    assert connection.execute("SELECT text, note FROM post").fetchall() == [
        ("keep me", None)
    ]
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    backup = sqlite3.connect(tmp_path / f"rabb.db.v{SCHEMA_VERSION}.bak")
    assert backup.execute("SELECT text FROM post").fetchall() == [("keep me",)]


def test_unknown_outcome_columns_backfilled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys and emails from before the tracking columns are taken as the oldest."""
    database = tmp_path / "rabb.db"
    names = [migration.name for migration in migrations.MIGRATIONS]
    before = names.index("0004_add_unknown_outcome_tracking")
    with monkeypatch.context() as patched:
        patched.setattr("rabb_cli.store.MIGRATIONS", migrations.MIGRATIONS[:before])
        patched.setattr("rabb_cli.store.SCHEMA_VERSION", before)
        open_store(database).close()
    created = "2026-05-30T09:00:00.000000Z"
    connection = sqlite3.connect(database)
    post = (
        "INSERT INTO post (uid, text, status, created_at, updated_at, attempt_key)"
        " VALUES (?, 'hi', 'scheduled', ?, '2026-06-01T12:00:00.000000Z', ?)"
    )
    connection.execute(post, ("u1", created, "rabb-u1-r1"))
    connection.execute(post, ("u2", created, None))
    email = (
        "INSERT INTO alert_email (idempotency_key, status, recipient, sender,"
        " subject, html, text, created_at, attempts) VALUES (?, ?, 'a', 'b', 's',"
        " 'h', 't', ?, ?)"
    )
    connection.execute(email, ("k1", "pending", created, 1))
    connection.execute(email, ("k2", "pending", created, 0))
    connection.execute(email, ("k3", "sent", created, 1))
    connection.commit()
    connection.close()

    open_store(database).close()

    connection = sqlite3.connect(database)
    posts = connection.execute(
        "SELECT uid, attempt_sent_at, late_unsettled, claim_kind FROM post ORDER BY uid"
    ).fetchall()
    emails = connection.execute(
        "SELECT idempotency_key, outcome_unknown FROM alert_email ORDER BY id"
    ).fetchall()
    connection.close()
    assert posts == [("u1", created, 0, None), ("u2", None, 0, None)]
    assert emails == [("k1", 1), ("k2", 0), ("k3", 0)]


def test_unreadable_database_reported(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    database.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RabbError, match="cannot open the database"):
        open_store(database)


def test_delete_cascades_to_targets(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    store = open_store(database)
    with store.write() as session:
        session.add(make_post())
    with store.write() as session:
        session.delete(store.get_post(session, 1))
    store.close()
    count = sqlite3.connect(database).execute("SELECT count(*) FROM target")
    assert count.fetchone()[0] == 0


def test_write_takes_lock_at_begin(tmp_path: Path) -> None:
    """A write transaction holds the lock from its start, so a second one waits."""
    store = open_store(tmp_path / "rabb.db")
    order: list[str] = []
    first_started = threading.Event()

    def first() -> None:
        with store.write() as session:
            session.connection()
            first_started.set()
            time.sleep(0.3)
            order.append("first done")

    def second() -> None:
        first_started.wait()
        with store.write() as session:
            session.connection()
            order.append("second started")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert order == ["first done", "second started"]
    store.close()


def test_list_posts_orders_and_filters(tmp_path: Path) -> None:
    store = open_store(tmp_path / "rabb.db")
    base = datetime(2026, 9, 1, tzinfo=UTC)
    with store.write() as session:
        session.add(make_post(text="late", scheduled_for=base + timedelta(days=2)))
        session.add(make_post(text="none"))
        session.add(make_post(text="early", scheduled_for=base))
    with store.read() as session:
        everything = [p.text for p in store.list_posts(session)]
        ranged = store.list_posts(session, start=base, end=base + timedelta(days=1))
    assert everything == ["early", "late", "none"]
    assert [p.text for p in ranged] == ["early"]
    store.close()


def test_stored_time_without_z_rejected() -> None:
    from rabb_cli.models import UTCDateTime

    column = UTCDateTime()
    read = column.process_result_value("2026-08-23T07:00:00.000000Z", None)
    assert read == datetime(2026, 8, 23, 7, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC
    with pytest.raises(ValueError, match="not in UTC"):
        column.process_result_value("2026-08-23T07:00:00.000000", None)


def test_locked_database_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "rabb.db"
    open_store(database).close()
    monkeypatch.setattr("rabb_cli.store.BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = open_store(database)
        with pytest.raises(RabbError) as raised, store.write() as session:
            session.add(make_post())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(raised.value)
    assert message.startswith(f"the database {database} is locked by another process")
    assert "INSERT" not in message
    assert "BEGIN" not in message


def test_read_only_database_one_line(tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    store = open_store(database)
    with store.write() as session:
        session.add(make_post(text="secret draft text"))
    store.close()
    # A read-only connection stands in for a file the user may not write.
    read_only = create_engine(
        f"sqlite:///file:{database}?mode=ro&uri=true", poolclass=NullPool
    )
    from rabb_cli.store import Store

    with pytest.raises(RabbError) as raised, Store(read_only, database).write() as s:
        s.add(make_post(text="another secret"))
    message = str(raised.value)
    assert "read-only" in message
    assert "secret" not in message
