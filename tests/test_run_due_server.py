"""`rabb run-due` in real processes against the fake Late server on 127.0.0.1.

These tests cover what only real sockets, timing and processes show. A read timeout
comes after Late stored the post, two runs start together, and a run is killed with
SIGKILL while its request is in flight. The cheap path runs when nothing is due.
"""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rabb_cli import posts
from rabb_cli.publish.due import parse_time
from rabb_cli.store import open_store
from tests.conftest import subprocess_env
from tests.fake_late import API_KEY, FakeLate, Reply
from tests.helpers import _BOOTSTRAP, query, run_rabb, start_rabb, write_config

pytestmark = pytest.mark.slow

# Modules that the cheap path must not load.
HEAVY_MODULES = ("sqlmodel", "sqlalchemy", "httpx", "resend", "rich")


def add_posts(
    home: Path, count: int, due: timedelta = timedelta(minutes=-1)
) -> list[int]:
    """Store `count` scheduled posts with distinct text, due `due` from now."""
    store = open_store(home / "rabb.db")
    ids = []
    try:
        for number in range(count):
            text = f"Post {number} {uuid.uuid4().hex[:8]}"
            content = posts.build_content(text, ["twitter"])
            post = posts.create_post(store, content, datetime.now(UTC) + due)
            assert post.id is not None
            ids.append(post.id)
    finally:
        store.close()
    return ids


def late_env(fake: FakeLate) -> dict[str, str]:
    return subprocess_env(LATE_API_KEY=API_KEY, LATE_BASE_URL=fake.base_url)


def post_rows(home: Path) -> list[tuple[int, str, int, str | None]]:
    sql = "SELECT id, status, attempts, claimed_at FROM post ORDER BY id"
    return query(home / "rabb.db", sql)


def test_read_timeout_after_store_publishes_once(
    home: Path, fake_late: FakeLate
) -> None:
    write_config(
        home,
        '[publish]\ntimeout = "0.5s"\nbackoff_base = "1s"\nbackoff_max = "1s"\n',
    )
    [post_id] = add_posts(home, 1)
    # Late stores the post, then responds only after the client has given up.
    fake_late.script("POST", "/v1/posts", Reply(delay=1.2))
    env = late_env(fake_late)

    first = run_rabb("run-due", env=env)
    assert first.returncode == 0, first.stderr
    assert b"RETRY" in first.stdout
    assert b"no answer from Late within 0.5s" in first.stdout
    assert len(fake_late.posts) == 1
    assert post_rows(home)[0][1] == "scheduled"

    fake_late.wait_idle()
    time.sleep(1.1)  # Past the backoff, which is at most 1 s.
    second = run_rabb("run-due", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"post {post_id}: PUBLISHED".encode())

    assert len(fake_late.posts) == 1
    creates = fake_late.creates()
    assert len(creates) == 2
    assert len({request.headers["idempotency-key"] for request in creates}) == 1
    assert len({request.headers["x-request-id"] for request in creates}) == 1
    assert post_rows(home)[0][1:3] == ("published", 2)


def test_two_runs_publish_each_post_once(home: Path, fake_late: FakeLate) -> None:
    write_config(home, "[publish]\nconcurrency = 4\n")
    ids = add_posts(home, 20)
    # Slow creates keep both runs busy at the same time.
    fake_late.script("POST", "/v1/posts", *[Reply(delay=0.2) for _ in range(20)])
    env = late_env(fake_late)

    processes = [start_rabb("run-due", env=env) for _ in range(2)]
    outputs = [process.communicate(timeout=60) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr

    creates = fake_late.creates()
    assert len(creates) == 20
    assert len(fake_late.posts) == 20
    assert len({request.headers["idempotency-key"] for request in creates}) == 20
    assert [row[1] for row in post_rows(home)] == ["published"] * 20
    lines = b"".join(stdout for stdout, _ in outputs).decode().splitlines()
    assert sorted(int(line.split(":")[0].split()[1]) for line in lines) == ids
    published = query(home / "rabb.db", "SELECT published FROM run")
    assert len(published) == 2
    assert sum(count for (count,) in published) == 20


def test_killed_run_publishes_once_after_lease(home: Path, fake_late: FakeLate) -> None:
    write_config(home, '[publish]\nlease = "2s"\ntimeout = "60s"\n')
    [post_id] = add_posts(home, 1)
    release = threading.Event()
    # Late stores the post and keeps the request open until the test releases it.
    fake_late.script("POST", "/v1/posts", Reply(hold=release))
    env = late_env(fake_late)

    process = start_rabb("run-due", env=env)
    fake_late.wait_until(lambda: len(fake_late.creates()) == 1, timeout=30)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    _, status, attempts, claimed_at = post_rows(home)[0]
    assert (status, attempts) == ("publishing", 1)
    release.set()
    fake_late.wait_idle()

    claimed = parse_time(claimed_at)
    assert claimed is not None
    # `show` prints when the next run takes over the killed run's claim.
    shown = json.loads(run_rabb("show", str(post_id), "--json", env=env).stdout)
    lease_ends = claimed + timedelta(seconds=2)
    assert shown["lease_ends_at"] == lease_ends.strftime("%Y-%m-%dT%H:%M:%SZ")
    pause = (claimed + timedelta(seconds=2.2) - datetime.now(UTC)).total_seconds()
    time.sleep(max(pause, 0))
    after = run_rabb("run-due", env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith(f"post {post_id}: PUBLISHED".encode())

    assert len(fake_late.posts) == 1
    creates = fake_late.creates()
    assert len(creates) == 2
    assert (
        creates[0].headers["idempotency-key"] == creates[1].headers["idempotency-key"]
    )
    assert post_rows(home)[0][1:3] == ("published", 2)
    again = run_rabb("run-due", env=env)
    assert again.returncode == 0
    assert len(fake_late.creates()) == 2


def test_killed_before_store_publishes_once(home: Path, fake_late: FakeLate) -> None:
    write_config(home, '[publish]\nlease = "1s"\ntimeout = "60s"\n')
    [post_id] = add_posts(home, 1)
    release = threading.Event()
    # This time the request dies before Late saved anything.
    fake_late.script("POST", "/v1/posts", Reply(hold=release, store=False))
    env = late_env(fake_late)

    process = start_rabb("run-due", env=env)
    fake_late.wait_until(lambda: len(fake_late.creates()) == 1, timeout=30)
    process.kill()
    process.wait(timeout=10)
    release.set()
    fake_late.wait_idle()
    assert fake_late.posts == {}

    time.sleep(1.2)
    after = run_rabb("run-due", env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith(f"post {post_id}: PUBLISHED".encode())
    assert len(fake_late.posts) == 1


def test_second_run_finds_nothing(home: Path, fake_late: FakeLate) -> None:
    add_posts(home, 2)
    env = late_env(fake_late)
    assert run_rabb("run-due", env=env).returncode == 0
    second = run_rabb("run-due", env=env)
    assert second.returncode == 0
    assert second.stdout == b""
    assert len(fake_late.creates()) == 2


def test_base_url_with_version_path(home: Path, fake_late: FakeLate) -> None:
    add_posts(home, 1)
    env = subprocess_env(
        LATE_API_KEY=API_KEY, LATE_BASE_URL=fake_late.base_url + "/v1/"
    )
    result = run_rabb("run-due", env=env)
    assert result.returncode == 0, result.stderr
    assert [request.path for request in fake_late.recorded()] == [
        "/v1/accounts",
        "/v1/posts",
    ]


def imported_modules(
    *args: str, env: dict[str, str]
) -> tuple[set[str], "subprocess.CompletedProcess[bytes]"]:
    """Run rabb with `-X importtime` and return the top-level modules it imported."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _BOOTSTRAP, *args],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    modules = set()
    for line in completed.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name.split(".")[0])
    return modules, completed


def test_nothing_due_skips_heavy_imports(home: Path) -> None:
    add_posts(home, 1, due=timedelta(hours=1))
    env = subprocess_env(LATE_API_KEY=API_KEY, LATE_BASE_URL="http://127.0.0.1:9")
    modules, completed = imported_modules("run-due", env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == b""
    assert "rabb_cli" in modules
    assert "sqlite3" in modules
    for name in HEAVY_MODULES:
        assert name not in modules, name

    recorded = query(home / "rabb.db", "SELECT status, due, finished_at FROM run")
    assert len(recorded) == 1
    assert recorded[0][:2] == ("ok", 0)
    assert recorded[0][2] is not None

    modules, completed = imported_modules("run-due", "--json", env=env)
    assert completed.returncode == 0
    assert json.loads(completed.stdout)["posts"] == []
    assert not set(HEAVY_MODULES) & modules


def test_due_work_loads_engine(home: Path, fake_late: FakeLate) -> None:
    # The counterpart of the test above: with work due, the engine does load.
    add_posts(home, 1)
    modules, completed = imported_modules("run-due", env=late_env(fake_late))
    assert completed.returncode == 0, completed.stderr
    assert {"httpx", "sqlmodel"} <= modules


def unsent_rows(home: Path) -> list[tuple[str, int, str | None, str | None]]:
    """Return (status, attempts, attempt_key, claimed_by) of each post not published."""
    sql = (
        "SELECT status, attempts, attempt_key, claimed_by FROM post"
        " WHERE status != 'published' ORDER BY id"
    )
    return query(home / "rabb.db", sql)


def start_held_run(
    home: Path, fake_late: FakeLate, release: threading.Event, env: dict[str, str]
) -> "subprocess.Popen[bytes]":
    """Start a run over 6 due posts, 2 at a time, with Late holding each create.

    Returns once the first 2 creates reached Late and wait for `release`.
    """
    write_config(home, '[publish]\nconcurrency = 2\ntimeout = "60s"\n')
    add_posts(home, 6)
    fake_late.script("POST", "/v1/posts", *[Reply(hold=release) for _ in range(6)])
    process = start_rabb("run-due", env=env)
    fake_late.wait_until(lambda: len(fake_late.creates()) == 2, timeout=30)
    return process


def test_refused_connection_spends_no_attempt(home: Path) -> None:
    """A real refused connection to 127.0.0.1 costs the post no attempt."""
    [post_id] = add_posts(home, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    env = subprocess_env(LATE_API_KEY=API_KEY, LATE_BASE_URL=f"http://127.0.0.1:{port}")

    result = run_rabb("run-due", "-v", env=env)
    assert result.returncode == 0, result.stderr
    assert f"post {post_id}: RETRY".encode() in result.stdout
    assert b"costing no attempt: cannot resolve -p twitter" in result.stdout
    assert b"ConnectError" in result.stdout
    log_line = f"post {post_id}: not sent, no attempt spent, next try at "
    assert log_line.encode() in result.stderr
    assert b"attempt 0" not in result.stderr
    _, status, attempts, _ = post_rows(home)[0]
    assert (status, attempts) == ("scheduled", 0)
    key = query(home / "rabb.db", "SELECT attempt_key FROM post")
    assert key == [(None,)]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_signal_releases_unsent_posts(
    home: Path, fake_late: FakeLate, stop_signal: signal.Signals
) -> None:
    """A stopped run records the requests in flight and leaves the rest unchanged."""
    release = threading.Event()
    env = late_env(fake_late)
    process = start_held_run(home, fake_late, release, env)
    process.send_signal(stop_signal)
    # The run waits for the two requests in flight before it stops.
    time.sleep(0.5)
    assert process.poll() is None
    release.set()
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 128 + stop_signal
    assert f"stopping on {stop_signal.name}".encode() in stderr
    assert b"Cannot send a request" not in stderr
    assert len(fake_late.creates()) == 2
    assert len(fake_late.posts) == 2
    assert stdout.count(b": PUBLISHED") == 2
    statuses = [row[1] for row in post_rows(home)]
    assert statuses.count("published") == 2
    # The four posts never sent are as they were: no attempt, no key, no claim.
    assert unsent_rows(home) == [("scheduled", 0, None, None)] * 4
    run = query(home / "rabb.db", "SELECT status, error FROM run")
    assert run == [("error", f"the run was stopped by {stop_signal.name}")]

    after = run_rabb("run-due", env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.count(b": PUBLISHED") == 4
    assert len(fake_late.posts) == 6


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_stops_at_once(
    home: Path, fake_late: FakeLate, stop_signal: signal.Signals
) -> None:
    """A second signal stops the run; only the posts in flight may be unknown."""
    release = threading.Event()
    env = late_env(fake_late)
    process = start_held_run(home, fake_late, release, env)
    process.send_signal(stop_signal)
    time.sleep(0.3)
    process.send_signal(stop_signal)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        release.set()
    assert process.returncode == 128 + stop_signal
    message = f"the run was stopped at once by a second {stop_signal.name}"
    assert f"rabb: {message}".encode() in stderr
    run = query(home / "rabb.db", "SELECT status, error FROM run")
    assert run == [("error", message)]

    assert len(fake_late.creates()) == 2
    rows = unsent_rows(home)
    in_flight = [row for row in rows if row[1] == 1]
    untouched = [row for row in rows if row[1] == 0]
    assert len(in_flight) == 2
    assert untouched == [("scheduled", 0, None, None)] * 4
    # The posts whose request was in flight keep their key for a safe resend.
    assert all(row[2] is not None for row in in_flight)
