"""The cheap due check on sqlite3, run records, and their agreement with the engine."""

import itertools
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rabb_cli.models import TIME_FORMAT, Post, Target
from rabb_cli.output import last_run_line
from rabb_cli.publish.due import (
    TIME_FORMAT as DUE_TIME_FORMAT,
)
from rabb_cli.publish.due import (
    DueCheck,
    check_due,
    format_time,
    last_run,
    record_empty_run,
    settle_if_nothing_due,
)
from rabb_cli.publish.engine import classify_due, select_due
from rabb_cli.publish.report import DueKind
from rabb_cli.store import Store, open_store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "rabb.db")
    yield opened
    opened.close()


def add(store: Store, **fields: object) -> int:
    values: dict[str, object] = {"uid": uuid.uuid4().hex, "text": "hi"}
    values.update(fields)
    post = Post.model_validate(values)
    post.targets = [Target(platform="twitter")]
    with store.write() as session:
        session.add(post)
        session.flush()
        assert post.id is not None
        return post.id


def test_time_format_matches_models() -> None:
    assert DUE_TIME_FORMAT == TIME_FORMAT


def test_missing_database_unknown(tmp_path: Path) -> None:
    assert check_due(tmp_path / "none.db", NOW, LEASE) is DueCheck.UNKNOWN


def test_old_schema_unknown(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    assert check_due(database, NOW, LEASE) is DueCheck.UNKNOWN
    assert last_run(database) is None


def test_due_and_not_due(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    add(store, status="scheduled", scheduled_for=NOW + timedelta(seconds=1))
    assert check_due(database, NOW, LEASE) is DueCheck.NOTHING_DUE
    assert check_due(database, NOW + timedelta(seconds=1), LEASE) is DueCheck.DUE


MINUTE = timedelta(minutes=1)
STATES = list(
    itertools.product(
        ["draft", "scheduled", "publishing", "published", "failed"],
        [None, -MINUTE, MINUTE],  # scheduled_for, relative to NOW
        [None, -MINUTE, MINUTE],  # next_attempt_at
        [None, "run-1"],  # claimed_by
        [-20 * MINUTE, -5 * MINUTE],  # claimed_at
        [None, "late-1"],  # late_post_id
        [None, "create", "check"],  # claim_kind
    )
)


def test_sql_agrees_with_engine(store: Store) -> None:
    with store.write() as session:
        for state in STATES:
            status, scheduled, next_at, claimed_by, claimed_at, late_id, kind = state
            post = Post(
                uid=uuid.uuid4().hex,
                text="hi",
                status=status,
                scheduled_for=None if scheduled is None else NOW + scheduled,
                next_attempt_at=None if next_at is None else NOW + next_at,
                claimed_by=claimed_by,
                claimed_at=NOW + claimed_at if claimed_by else None,
                claim_kind=kind if claimed_by else None,
                late_post_id=late_id,
            )
            session.add(post)
    with store.read() as session:
        everything = store.list_posts(session)
    expected = {p.id for p in everything if classify_due(p, NOW, LEASE) is not None}
    found = select_due(store, NOW, LEASE)
    assert len(everything) == len(STATES)
    assert set(found) == expected
    assert 0 < len(expected) < len(STATES)


@pytest.mark.parametrize(
    ("claim_kind", "late_post_id", "attempt_key", "expected"),
    [
        ("create", "late-1", "rabb-x-r2", DueKind.RESEND),
        ("create", "late-1", None, DueKind.RESEND),
        ("late_retry", "late-1", None, DueKind.RESEND),
        ("check", "late-1", None, DueKind.CHECK),
        # Claims stored before the kind was recorded.
        (None, "late-1", "rabb-x-r2", DueKind.RESEND),
        (None, "late-1", None, DueKind.CHECK),
        (None, None, None, DueKind.RESEND),
    ],
)
def test_stale_claim_sends_its_request(
    claim_kind: str | None,
    late_post_id: str | None,
    attempt_key: str | None,
    expected: DueKind,
) -> None:
    """A stale claim is classified by what it was doing, not by `late_post_id`."""
    post = Post(
        uid="u",
        text="hi",
        status="publishing",
        claimed_by="run-1",
        claimed_at=NOW - 20 * MINUTE,
        claim_kind=claim_kind,
        late_post_id=late_post_id,
        attempt_key=attempt_key,
    )
    assert classify_due(post, NOW, LEASE) is expected


def test_empty_run_recorded(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    run_id = settle_if_nothing_due(database, NOW, LEASE, "late")
    assert run_id is not None
    summary = last_run(database)
    assert summary is not None
    assert summary.id == run_id
    assert summary.status == "ok"
    assert summary.due == 0
    assert summary.publisher == "late"


def test_settle_declines_due_work(store: Store, tmp_path: Path) -> None:
    add(store, status="scheduled", scheduled_for=NOW - MINUTE)
    assert settle_if_nothing_due(tmp_path / "rabb.db", NOW, LEASE, "late") is None
    assert last_run(tmp_path / "rabb.db") is None


def test_old_empty_runs_pruned(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    connection = sqlite3.connect(database)
    old = format_time(NOW - timedelta(days=8))
    insert = "INSERT INTO run (started_at, pid, status, due) VALUES (?, 1, 'ok', ?)"
    connection.execute(insert, (old, 0))
    connection.execute(insert, (old, 2))
    connection.commit()
    connection.close()
    record_empty_run(database, NOW, NOW, "late")
    connection = sqlite3.connect(database)
    rows = connection.execute("SELECT due FROM run ORDER BY id").fetchall()
    connection.close()
    assert rows == [(2,), (0,)]


def test_last_run_line(store: Store, tmp_path: Path) -> None:
    assert last_run_line(None, UTC, NOW).startswith("run-due has not run yet")
    database = tmp_path / "rabb.db"
    record_empty_run(database, NOW - timedelta(minutes=3), NOW, "late")
    line = last_run_line(last_run(database), UTC, NOW)
    assert line == "run-due last ran 2026-06-01 11:57 UTC (3m ago): nothing was due"
    connection = sqlite3.connect(database)
    connection.execute(
        "INSERT INTO run (started_at, pid, status, due, published, failed)"
        " VALUES (?, 1, 'ok', 3, 2, 1)",
        (format_time(NOW - MINUTE),),
    )
    connection.commit()
    connection.close()
    line = last_run_line(last_run(database), UTC, NOW)
    assert line.endswith("(1m ago): 2 published, 1 failed")


def add_email(database: Path, **fields: object) -> None:
    values: dict[str, object] = {
        "idempotency_key": uuid.uuid4().hex,
        "status": "pending",
        "recipient": "me@example.com",
        "sender": "a@example.com",
        "subject": "s",
        "html": "h",
        "text": "t",
        "created_at": format_time(NOW - timedelta(hours=1)),
    }
    values.update(fields)
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    connection = sqlite3.connect(database)
    connection.execute(
        f"INSERT INTO alert_email ({names}) VALUES ({marks})", tuple(values.values())
    )
    connection.commit()
    connection.close()


def test_pending_alert_email_due(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    add_email(database, next_attempt_at=format_time(NOW + MINUTE))
    assert check_due(database, NOW, LEASE) is DueCheck.NOTHING_DUE
    assert check_due(database, NOW + MINUTE, LEASE) is DueCheck.DUE
    assert settle_if_nothing_due(database, NOW + MINUTE, LEASE, "late") is None


@pytest.mark.parametrize("status", ["sent", "failed"])
def test_settled_alert_email_not_due(store: Store, tmp_path: Path, status: str) -> None:
    database = tmp_path / "rabb.db"
    add_email(database, status=status, next_attempt_at=format_time(NOW - MINUTE))
    assert check_due(database, NOW, LEASE) is DueCheck.NOTHING_DUE


def test_claimed_alert_email_due_after_lease(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    add_email(
        database,
        next_attempt_at=format_time(NOW - MINUTE),
        claimed_by="run-7",
        claimed_at=format_time(NOW),
    )
    assert check_due(database, NOW + 5 * MINUTE, LEASE) is DueCheck.NOTHING_DUE
    assert check_due(database, NOW + LEASE, LEASE) is DueCheck.DUE


def test_alert_without_email_due_after_lease(store: Store, tmp_path: Path) -> None:
    database = tmp_path / "rabb.db"
    post_id = add(store, status="failed", failures=1)
    connection = sqlite3.connect(database)
    connection.execute(
        "INSERT INTO alert (post_id, failure, run_id, created_at) VALUES (?, 1, 3, ?)",
        (post_id, format_time(NOW)),
    )
    connection.commit()
    connection.close()
    # The run that recorded it sends it; only a stopped run leaves it this long.
    assert check_due(database, NOW + 14 * MINUTE, LEASE) is DueCheck.NOTHING_DUE
    assert check_due(database, NOW + LEASE, LEASE) is DueCheck.DUE


EMAIL_STATES = list(
    itertools.product(
        ["pending", "sent", "failed"],
        [None, -MINUTE, MINUTE],  # next_attempt_at
        [None, "run-1"],  # claimed_by
        [-20 * MINUTE, -5 * MINUTE],  # claimed_at
    )
)


def test_alert_sql_agrees_with_sender(store: Store, tmp_path: Path) -> None:
    from rabb_cli.publish.alerts import _due_emails

    database = tmp_path / "rabb.db"
    expected = []
    for status, next_at, claimed_by, claimed_at in EMAIL_STATES:
        connection = sqlite3.connect(database)
        connection.execute("DELETE FROM alert_email")
        connection.commit()
        connection.close()
        add_email(
            database,
            status=status,
            next_attempt_at=None if next_at is None else format_time(NOW + next_at),
            claimed_by=claimed_by,
            claimed_at=format_time(NOW + claimed_at) if claimed_by else None,
        )
        with store.read() as session:
            sender_due = bool(session.exec(_due_emails(NOW, LEASE)).all())
        cheap_due = check_due(database, NOW, LEASE) is DueCheck.DUE
        assert cheap_due == sender_due, (status, next_at, claimed_by, claimed_at)
        expected.append(cheap_due)
    assert 0 < sum(expected) < len(expected)
