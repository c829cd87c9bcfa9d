"""Timing of attempts: full-jitter exponential backoff and the limits Late announces.

After failed attempt n (1 for the first try) the next one waits a random time between
zero and min(cap, base * 2**(n - 1)). Drawing the whole delay at random ("full
jitter") spreads the retries of many clients instead of bunching them. The wait is
never shorter than the delay Late requests in `Retry-After`, or in `X-RateLimit-Reset`
once the rate limit is used up.
"""

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

logger = logging.getLogger("rabb.publish")

# Values of X-RateLimit-Reset below this are read as seconds from now, not as a Unix
# time: 1e9 seconds after 1970 is September 2001.
_EPOCH_THRESHOLD = 1_000_000_000
# Values above this are Unix times in milliseconds (1e12 ms is also September 2001).
_MILLISECONDS_THRESHOLD = 1_000_000_000_000
# 9999-12-31, the last day datetime can hold.
_MAX_TIMESTAMP = 253_402_214_400
# Longer waits that a server requests are cut to this. Late's longest documented
# waits (an account's daily publishing cap, and its cooldown after failures) end
# within 24 hours, so a longer Retry-After is a faulty header, not a real limit.
MAX_SERVER_WAIT = timedelta(hours=24)


def backoff_delay(
    attempt: int, base: timedelta, cap: timedelta, rng: random.Random
) -> timedelta:
    """Return a random delay after failed attempt `attempt` (1 for the first try)."""
    exponent = max(attempt - 1, 0)
    # Cap the exponent first: 2**exponent for a large attempt count would overflow.
    ceiling = cap if exponent > 62 else min(cap, base * (2**exponent))
    return timedelta(seconds=rng.uniform(0, ceiling.total_seconds()))


def next_attempt_time(
    now: datetime,
    attempt: int,
    base: timedelta,
    cap: timedelta,
    rng: random.Random,
    not_before: datetime | None = None,
    latest: datetime | None = None,
) -> datetime:
    """Return when to try again after failed attempt `attempt`.

    The result is the backoff delay from `now`, or `not_before` (the time Late asked
    for) when that is later. `latest` cuts the backoff delay so that the attempt
    comes no later than it, but never moves `not_before`.
    """
    if latest is not None:
        cap = max(min(cap, latest - now), timedelta())
    planned = now + backoff_delay(attempt, base, cap, rng)
    if not_before is not None and not_before > planned:
        return not_before
    return planned


def unsent_backoff_step(waited: timedelta, base: timedelta) -> int:
    """Return the attempt number whose backoff suits a post unsent for `waited`.

    A failure that sent nothing spends no attempt, so the attempt count cannot
    grow the backoff. The step grows with the time the post has waited instead,
    which keeps the ceiling of the delay at most `waited`: the waits about double.
    """
    if base <= timedelta() or waited <= base:
        return 1
    return 1 + int(math.log2(waited / base))


def check_time(
    now: datetime,
    previous_interval: timedelta | None,
    base: timedelta,
    cap: timedelta,
    not_before: datetime | None = None,
) -> datetime:
    """Return when to look again at a post that Late is still publishing.

    The first check comes `base` after `now`, and each later interval doubles the
    previous one, up to `cap`.
    """
    if previous_interval is None:
        interval = base
    else:
        interval = min(cap, max(base, previous_interval * 2))
    planned = now + interval
    if not_before is not None and not_before > planned:
        return not_before
    return planned


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Return the instant a `Retry-After` header names, or None when it is invalid.

    The header contains a number of seconds or an HTTP date (RFC 9110, 10.2.3).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        moment = _parse_http_date(text)
        return None if moment is None else min(moment, now + MAX_SERVER_WAIT)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return now + timedelta(seconds=min(seconds, MAX_SERVER_WAIT.total_seconds()))


def parse_rate_limit_reset(value: str | None, now: datetime) -> datetime | None:
    """Return the instant an `X-RateLimit-Reset` header names, or None when invalid.

    Late sends a Unix time in seconds. Small values are read as seconds from now and
    very large ones as milliseconds, since other servers send those forms.
    """
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if number < _EPOCH_THRESHOLD:
        reset = now + timedelta(seconds=min(number, MAX_SERVER_WAIT.total_seconds()))
    else:
        if number > _MILLISECONDS_THRESHOLD:
            number /= 1000
        reset = datetime.fromtimestamp(min(number, _MAX_TIMESTAMP), UTC)
    return min(reset, now + MAX_SERVER_WAIT)


def server_wait(
    headers: Mapping[str, str], status: int, now: datetime
) -> datetime | None:
    """Return the earliest time Late allows another request, or None for no limit.

    `Retry-After` always counts. `X-RateLimit-Reset` counts on a 429 and when
    `X-RateLimit-Remaining` is 0, because otherwise requests are still allowed.
    """
    candidates = [parse_retry_after(headers.get("retry-after"), now)]
    if status == 429 or _remaining(headers) == 0:
        candidates.append(parse_rate_limit_reset(headers.get("x-ratelimit-reset"), now))
    known = [moment for moment in candidates if moment is not None]
    return max(known) if known else None


def _remaining(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers.get("x-ratelimit-remaining", "").strip())
    except ValueError:
        return None


def _parse_http_date(text: str) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        # RFC 5322 dates with "-0000" parse as naive; HTTP dates are always GMT.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class RateLimitPacer:
    """The request budget Late reports, shared by the threads of one run.

    After a response that exhausts the rate limit (or a 429), every thread waits until
    the limit resets before it sends again. A wait longer than `max_wait` is not
    slept: `reserve` returns the reset time so the caller can try the post later.
    """

    def __init__(
        self,
        max_wait: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._blocked_until: datetime | None = None

    def observe(self, headers: Mapping[str, str], status: int) -> None:
        """Record the limit a response announces."""
        until = server_wait(headers, status, self._clock())
        if until is not None:
            self.block_until(until)

    def block_until(self, until: datetime) -> None:
        with self._lock:
            if self._blocked_until is None or until > self._blocked_until:
                self._blocked_until = until

    def reserve(self) -> datetime | None:
        """Wait until a request may be sent; return the reset time if that is too far.

        Returns None once the caller may send.
        """
        with self._lock:
            until = self._blocked_until
        if until is None:
            return None
        wait = until - self._clock()
        if wait <= timedelta():
            return None
        if wait > self.max_wait:
            return until
        logger.info("rate limit used up; waiting %.1fs", wait.total_seconds())
        self._sleep(wait.total_seconds())
        return None
