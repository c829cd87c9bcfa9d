"""Backoff delays, Retry-After and rate-limit headers, and the shared pacer."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from rabb_cli.publish.backoff import (
    MAX_SERVER_WAIT,
    RateLimitPacer,
    backoff_delay,
    check_time,
    next_attempt_time,
    parse_rate_limit_reset,
    parse_retry_after,
    server_wait,
    unsent_backoff_step,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASE = timedelta(seconds=30)
CAP = timedelta(hours=1)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (500, 3600)],
)
def test_backoff_within_ceiling(attempt: int, ceiling: int) -> None:
    rng = random.Random(attempt)
    delays = [backoff_delay(attempt, BASE, CAP, rng) for _ in range(300)]
    assert min(delays) >= timedelta()
    assert max(delays) <= timedelta(seconds=ceiling)
    # Full jitter spreads the delays over the whole range, not near its top.
    assert min(delays) < timedelta(seconds=ceiling * 0.2)
    assert max(delays) > timedelta(seconds=ceiling * 0.8)


def test_next_attempt_honours_server_time() -> None:
    rng = random.Random(1)
    later = NOW + timedelta(hours=2)
    assert next_attempt_time(NOW, 1, BASE, CAP, rng, not_before=later) == later


def test_next_attempt_ignores_earlier_server_time() -> None:
    rng = random.Random(2)
    planned = next_attempt_time(NOW, 4, BASE, CAP, rng, not_before=NOW)
    assert NOW <= planned <= NOW + timedelta(seconds=240)


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120", NOW) == NOW + timedelta(seconds=120)
    assert parse_retry_after(" 1.5 ", NOW) == NOW + timedelta(seconds=1.5)


def test_retry_after_http_date() -> None:
    moment = parse_retry_after("Mon, 01 Jun 2026 12:05:00 GMT", NOW)
    assert moment == datetime(2026, 6, 1, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "inf"])
def test_retry_after_invalid(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_capped() -> None:
    assert parse_retry_after("99999999999", NOW) == NOW + MAX_SERVER_WAIT


def test_rate_limit_reset_forms() -> None:
    epoch = int(datetime(2026, 6, 1, 12, 1, tzinfo=UTC).timestamp())
    minute_later = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)
    assert parse_rate_limit_reset(str(epoch), NOW) == minute_later
    assert parse_rate_limit_reset(str(epoch * 1000), NOW) == minute_later
    assert parse_rate_limit_reset("30", NOW) == NOW + timedelta(seconds=30)
    assert parse_rate_limit_reset("never", NOW) is None


def test_server_wait_uses_reset_only_when_exhausted() -> None:
    reset = str(int((NOW + timedelta(seconds=50)).timestamp()))
    plenty = {"x-ratelimit-remaining": "10", "x-ratelimit-reset": reset}
    empty = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    assert server_wait(plenty, 200, NOW) is None
    assert server_wait(empty, 200, NOW) == NOW + timedelta(seconds=50)
    assert server_wait(plenty, 429, NOW) == NOW + timedelta(seconds=50)


def test_server_wait_takes_latest() -> None:
    reset = str(int((NOW + timedelta(seconds=50)).timestamp()))
    headers = {"retry-after": "90", "x-ratelimit-reset": reset}
    assert server_wait(headers, 429, NOW) == NOW + timedelta(seconds=90)


def test_check_time_doubles_to_cap() -> None:
    first = check_time(NOW, None, BASE, CAP)
    second = check_time(NOW, BASE, BASE, CAP)
    later = check_time(NOW, timedelta(minutes=20), BASE, CAP)
    much_later = check_time(NOW, CAP, BASE, CAP)
    assert first == NOW + BASE
    assert second == NOW + 2 * BASE
    assert later == NOW + timedelta(minutes=40)
    assert much_later == NOW + CAP


def test_check_time_honours_server_time() -> None:
    later = NOW + timedelta(hours=3)
    assert check_time(NOW, None, BASE, CAP, not_before=later) == later


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_pacer_waits_for_short_reset() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    assert pacer.reserve() is None
    pacer.observe({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "20"}, 200)
    assert pacer.reserve() is None
    assert clock.slept == [20.0]


def test_pacer_defers_long_wait() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.observe({"retry-after": "600"}, 429)
    assert pacer.reserve() == NOW + timedelta(seconds=600)
    assert clock.slept == []


def test_far_http_date_capped() -> None:
    far = "Wed, 21 Oct 2099 07:28:00 GMT"
    assert parse_retry_after(far, NOW) == NOW + MAX_SERVER_WAIT


def test_near_http_date_kept() -> None:
    near = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(near, NOW) == NOW + timedelta(minutes=5)


def test_unsent_step_grows_with_wait() -> None:
    base = timedelta(seconds=30)
    assert unsent_backoff_step(timedelta(), base) == 1
    assert unsent_backoff_step(timedelta(seconds=30), base) == 1
    assert unsent_backoff_step(timedelta(seconds=60), base) == 2
    assert unsent_backoff_step(timedelta(minutes=4), base) == 4
    # The delay ceiling of that step, base * 2**(step - 1), never exceeds the wait.
    for minutes in (1, 3, 7, 30, 90):
        waited = timedelta(minutes=minutes)
        step = unsent_backoff_step(waited, base)
        assert base * 2 ** (step - 1) <= waited
