"""Parsing of `--at` times, durations and date bounds, in the user's time zone.

Every function takes the current instant and the zone as arguments, so results never
depend on the machine's clock or zone unless the caller passes them. Instants leave
this module as timezone-aware UTC datetimes.

Accepted `--at` forms:

- ISO 8601 with `Z` or an offset: `2026-08-23T09:00:00Z`, `2026-08-23 09:00+02:00`;
  a time of day with an offset (`17:00Z`, `12:00-05:00`) means its next occurrence.
- A date and time without an offset, read in the user's zone: `2026-08-23 09:00`,
  `23 Aug 2026 9am`.
- Relative: `now`, `in 10s`, `in 2h`, `+30m`, `now + 10 minutes`, `in 1h30m`.
- `at`-style: `tomorrow 9am`, `today 18:00`, `friday 10:00`, `next monday noon`,
  `9am tomorrow`, and a bare `14:30` meaning its next occurrence.
"""

import calendar
import logging
import os
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rabb_cli.errors import InvalidInput

# Durations of at least this many seconds (48 hours) are shown in days.
DAYS_FROM_SECONDS = 48 * 3600
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION_JOINERS = re.compile(r"\s*(?:,|\band\b)\s*")

_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_MONTH_NAMES = {
    name.lower()
    for name in (*calendar.month_name[1:], *calendar.month_abbr[1:], "sept")
}

_ISO_DATE = r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
_CLOCK = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
)
_OFFSET = r"(?P<offset>z|[+-]\d{2}(?::?\d{2})?)"
_ISO_DATETIME = re.compile(rf"^{_ISO_DATE}(?:[t ]\s*{_CLOCK}\s*{_OFFSET}?)?$")
_CLOCK_WITH_OFFSET = re.compile(rf"^{_CLOCK}\s*{_OFFSET}$")
_TIME_OF_DAY = re.compile(
    r"^(?:(?P<word>noon|midnight)"
    r"|(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<meridiem>am|pm|a\.m\.|p\.m\.)?)$"
)
# A quoted zone name in a POSIX rule, which may hold digits and signs: `<+0530>`.
_QUOTED_TZ_NAME = re.compile(r"<([A-Za-z0-9+-]{3,})>")
# Alphabetic names that stand in for quoted ones while dateutil parses the rule.
_NAME_STAND_INS = ("RABBSTDNAME", "RABBDSTNAME")
_POSIX_TZ = re.compile(
    r"^(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)[+-]?\d{1,2}(?::\d{2}){0,2}"
)
# A POSIX rule that names a daylight-saving zone but gives no dates for it.
_POSIX_DST_WITHOUT_DATES = re.compile(
    r"[A-Za-z]{3,}[+-]?\d{1,2}(?::\d{2}){0,2}[A-Za-z]{3,}(?:[+-]?\d{1,2}(?::\d{2}){0,2})?"
)
# The dates glibc uses for such a rule: the second Sunday in March to the first
# Sunday in November. glibc takes them from the `posixrules` zone file (normally
# America/New_York, with the same dates since 2007), or uses this rule when the
# file is missing. dateutil's own default is the US rule from before 2007.
GLIBC_DEFAULT_DST_DATES = ",M3.2.0,M11.1.0"
_RELATIVE_DAYS = ("yesterday", "today", "tomorrow")
_RELATIVE = re.compile(r"^(?:in\s+|\+\s*|now\s*\+\s*)(?P<duration>.+)$")


# Instants rabb accepts: from EARLIEST up to, but not including, END, so the UTC
# years 1900 to 9998. Their local dates stay inside Python's date range (years 1
# to 9999) in every zone, so no later conversion can overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
END = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ResolvedTime:
    """An instant parsed from user input, with a warning to show when it was unclear."""

    instant: datetime
    warning: str | None = None


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`, or raise InvalidInput naming it."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            f"unknown time zone {name!r}",
            "use an IANA name such as 'Europe/Berlin' or 'America/New_York'",
        ) from error


@dataclass(frozen=True)
class SystemZone:
    """The machine's zone as rabb reads it, and what went wrong on the way."""

    zone: tzinfo
    # Why rabb uses UTC in place of the system zone, if it does.
    fallback: str | None = None
    # Other warnings about the system's zone settings.
    notes: str | None = None


def system_zone() -> tzinfo:
    """Return the machine's zone, honouring `TZ`; log a warning when it is UTC by
    default because the setting could not be read."""
    detected = detect_system_zone()
    if detected.fallback:
        logging.getLogger("rabb").warning(
            "times are read in UTC because the system zone is unknown (%s);"
            " set RABB_TIMEZONE or timezone in config.toml",
            detected.fallback,
        )
    return detected.zone


def detect_system_zone() -> SystemZone:
    """Find the machine's zone: `TZ` first, then the system's settings via tzlocal.

    `TZ` may be an IANA name, a path to a zone file (`:/etc/localtime`), or a POSIX
    rule such as `EST5EDT,M3.2.0,M11.1.0`, which the C library also accepts.
    tzlocal warns when it finds no zone setting at all ("defaulting to UTC", tzlocal
    5.3) or when the zone files disagree with the system's UTC offset.
    """
    variable = os.environ.get("TZ", "").strip()
    if variable:
        return _zone_from_tz_variable(variable)

    import tzlocal

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            zone = tzlocal.reload_localzone()
        except (ZoneInfoNotFoundError, ValueError, LookupError, OSError) as failure:
            return SystemZone(UTC, fallback=" ".join(str(failure).split()))
    messages = [" ".join(str(item.message).split()) for item in caught]
    fallback = [message for message in messages if "UTC" in message]
    notes = [message for message in messages if "UTC" not in message]
    return SystemZone(
        zone, fallback="; ".join(fallback) or None, notes="; ".join(notes) or None
    )


def _zone_from_tz_variable(variable: str) -> SystemZone:
    name = variable.removeprefix(":")
    try:
        if name.startswith("/"):
            with open(name, "rb") as handle:
                return SystemZone(ZoneInfo.from_file(handle, key=name))
        return SystemZone(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass

    # dateutil's tzstr also accepts a bare word as a zone at UTC, so check the
    # POSIX form (a name of 3+ letters, then an offset) first.
    if _POSIX_TZ.match(name):
        zone = posix_zone(name)
        if zone is not None and _offsets_fit(zone):
            return SystemZone(zone)
        if zone is not None:
            reason = "has a UTC offset of 24 hours or more, which rabb cannot use"
            return SystemZone(UTC, fallback=f"TZ={variable!r} {reason}")
    return SystemZone(UTC, fallback=f"TZ={variable!r} names no known zone")


def _offsets_fit(zone: tzinfo) -> bool:
    """Return whether each UTC offset of a POSIX zone is within Python's limit.

    POSIX allows offsets up to 24 hours and glibc accepts `UTC+24`, but a Python
    datetime raises ValueError for an offset of 24 hours or more.
    """
    # dateutil's tzstr keeps its offsets in these private attributes (checked on
    # dateutil 4.0), since it has no public way to read them.
    offsets = [getattr(zone, "_std_offset", timedelta(0))]
    if getattr(zone, "hasdst", False):
        offsets.append(getattr(zone, "_dst_offset", timedelta(0)))
    return all(abs(offset) < timedelta(hours=24) for offset in offsets)


def posix_zone(rule: str) -> tzinfo | None:
    """Return the zone a POSIX `TZ` rule describes, as the C library reads it.

    The offset counts hours west of UTC, so `UTC+5` and `EST5` are five hours
    behind UTC. A rule with a daylight-saving name but no dates, such as
    `AAA5BBB`, takes glibc's default dates (the US rule). Quoted names such as
    `<-03>3` are allowed. Returns None for a rule dateutil cannot parse.
    """
    from dateutil import tz

    quoted = _QUOTED_TZ_NAME.findall(rule)
    if len(quoted) > len(_NAME_STAND_INS):
        return None
    plain = rule
    for name, stand_in in zip(quoted, _NAME_STAND_INS, strict=False):
        plain = plain.replace(f"<{name}>", stand_in, 1)
    if _POSIX_DST_WITHOUT_DATES.fullmatch(plain):
        plain += GLIBC_DEFAULT_DST_DATES
    try:
        # Without posix_offset, dateutil reverses the sign for the names UTC and
        # GMT, so `UTC+5` would be five hours east, unlike `date` and cron.
        zone = tz.tzstr(plain, posix_offset=True)
    except ValueError:
        return None
    if quoted:
        _restore_names(zone, rule, quoted)
    return zone


def _restore_names(zone: tzinfo, rule: str, names: list[str]) -> None:
    """Give a zone parsed with stand-in names the quoted names of its rule.

    dateutil reads only alphabetic names, so `posix_zone` parses `<-03>3` as
    `RABBSTDNAME3`. tzstr keeps its names and rule in these private attributes
    (checked on dateutil 4.0).
    """
    for attribute, name in zip(("_std_abbr", "_dst_abbr"), names, strict=False):
        setattr(zone, attribute, name)
    zone._s = rule  # type: ignore[attr-defined]


def zone_name(zone: tzinfo) -> str:
    """Return the IANA name of `zone`, else its `TZ` rule, else its abbreviation."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    rule = getattr(zone, "_s", None)  # dateutil's tzstr keeps the rule it parsed.
    if isinstance(rule, str):
        return rule
    return zone.tzname(datetime.now(UTC)) or "UTC"


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as `30s`, `15m`, `1h30m` or `2 days and 4 hours`."""
    return sum((span for span, _ in _duration_parts(text)), timedelta())


def _duration_parts(text: str) -> list[tuple[timedelta, bool]]:
    """Split a duration into its parts, each flagged when its unit is days or weeks."""
    cleaned = _DURATION_JOINERS.sub(" ", text.strip().lower())
    position = 0
    parts = []
    for match in _DURATION_PART.finditer(cleaned):
        between = cleaned[position : match.start()]
        seconds = _UNIT_SECONDS.get(match.group(2))
        if between.strip() or seconds is None:
            break
        try:
            span = timedelta(seconds=float(match.group(1)) * seconds)
        except OverflowError:
            raise InvalidInput(
                f"duration {text!r} is too long", "use at most a few years"
            ) from None
        parts.append((span, seconds >= _UNIT_SECONDS["day"]))
        position = match.end()
    if not cleaned or position == 0 or cleaned[position:].strip():
        raise InvalidInput(
            f"invalid duration {text!r}",
            "use a number and a unit, for example '30s', '15m', '24h' or '1h30m'",
        )
    return parts


def format_duration(span: timedelta) -> str:
    """Return `span` as a short text such as `2h 5m` or `3d 4h`, to the second.

    Only the two largest units are kept. Days start at 48 hours, because people
    write a day and a bit as hours (`24h`, `36h`), as rabb's settings do.
    """
    parts = _duration_units(span)
    return " ".join(parts[:2]) if parts else "0s"


def format_setting_duration(span: timedelta) -> str:
    """Return a duration setting exactly, as config.toml takes it: `24h`, `1h30m`,
    `0.5s`, and days from 48 hours (`3d`)."""
    seconds = abs(span.total_seconds())
    if seconds != int(seconds):
        return f"{seconds:g}s"
    return "".join(_duration_units(span)) or "0s"


def _duration_units(span: timedelta) -> list[str]:
    seconds = int(abs(span.total_seconds()))
    units = [("h", 3600), ("m", 60), ("s", 1)]
    if seconds >= DAYS_FROM_SECONDS:
        units.insert(0, ("d", 86400))
    parts = []
    for unit, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return parts


def format_utc(instant: datetime) -> str:
    """Return an instant as ISO 8601 UTC with a `Z`, to the second."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_local(instant: datetime, zone: tzinfo, *, seconds: bool = False) -> str:
    """Return an instant as local wall time with the zone's abbreviation.

    A zone such as `TZ=UTC+5` is called UTC but is not at UTC, so its offset
    follows the name, in ISO 8601 sign: `09:00 UTC-05:00`.
    """
    local = instant.astimezone(zone)
    name = local.tzname() or ""
    offset = local.utcoffset()
    if name in ("UTC", "GMT") and offset:
        sign = "-" if offset < timedelta() else "+"
        hours, minutes = divmod(int(abs(offset).total_seconds()) // 60, 60)
        name += f"{sign}{hours:02d}:{minutes:02d}"
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local:%Y-%m-%d} {clock} {name}"


def parse_when(
    text: str, *, now: datetime, zone: tzinfo, allow_past: bool = False
) -> ResolvedTime:
    """Parse a `--at` value into a UTC instant.

    Raises InvalidInput for unknown forms, impossible dates, local times that fall in
    a daylight-saving gap and, unless `allow_past`, times before `now`. A local time
    that occurs twice resolves to the earlier instant, with a warning naming both.
    """
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise InvalidInput("missing time", f"give a time such as {examples(now)}")
    if cleaned == "yesterday" and not allow_past:
        raise InvalidInput(
            f"time {text!r} is in the past",
            f"give a future time such as {examples(now)}",
        )

    try:
        resolved = _parse_any(cleaned, text, now.astimezone(UTC), zone)
        _check_range(resolved.instant, text)
    except (OverflowError, ValueError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise _range_error(text) from error
    if not allow_past and resolved.instant < now - timedelta(seconds=1):
        ago = format_duration(now - resolved.instant)
        raise InvalidInput(
            f"time {text!r} is in the past ({format_local(resolved.instant, zone)},"
            f" {ago} ago)",
            f"give a future time such as {examples(now)}",
        )
    return resolved


def parse_day_bound(text: str, *, now: datetime, zone: tzinfo, end: bool) -> datetime:
    """Parse a `--from`/`--to` bound: a date means the start or the end of that day.

    With `end`, a bare date covers the whole day, so `--to 2026-12-31` includes
    posts at 23:30 on that day. Any `--at` form is accepted too, past or future.
    """
    cleaned = text.strip().lower()
    if not (re.fullmatch(_ISO_DATE, cleaned) or cleaned in _RELATIVE_DAYS):
        instant = parse_when(text, now=now, zone=zone, allow_past=True).instant
        # An end time is inclusive: `--to 10:00` keeps a post at exactly 10:00.
        return instant + timedelta(microseconds=1) if end else instant

    try:
        day = _resolve_day(cleaned, text, now.astimezone(zone).date())
        if end:
            day += timedelta(days=1)
        instant = _localize(datetime.combine(day, time()), zone, text).instant
    except (OverflowError, ValueError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise _range_error(text) from error
    _check_range(instant, text)
    return instant


def examples(now: datetime) -> str:
    """Return accepted `--at` examples, with a date a month after `now`."""
    sample = now + timedelta(days=30)
    return f"'{sample:%Y-%m-%d} 18:00', 'tomorrow 9am', 'friday 10:00' or 'in 2h'"


def _check_range(instant: datetime, original: str) -> None:
    if not EARLIEST <= instant < END:
        raise _range_error(original)


def _range_error(original: str) -> InvalidInput:
    last_day = (END - timedelta(days=1)).date()
    return InvalidInput(
        f"time {original!r} is out of range",
        f"use a time from {EARLIEST.date()} to {last_day} UTC",
    )


def _parse_any(
    cleaned: str, original: str, now: datetime, zone: tzinfo
) -> ResolvedTime:
    if cleaned == "now":
        return ResolvedTime(now)

    relative = _RELATIVE.match(cleaned)
    if relative:
        return ResolvedTime(_add_duration(now, relative.group("duration"), zone))

    iso = _ISO_DATETIME.match(cleaned)
    if iso:
        return _parse_iso(iso, original, zone, now)

    clock = _CLOCK_WITH_OFFSET.match(cleaned)
    if clock:
        offset = _parse_offset(clock.group("offset"))
        wall = _clock_time(clock, original)
        return ResolvedTime(_next_fixed_occurrence(wall, offset, now))

    at_style = _parse_at_style(cleaned, original, now, zone)
    if at_style is not None:
        return at_style

    return _parse_free_form(cleaned, original, zone, now)


def _add_duration(now: datetime, text: str, zone: tzinfo) -> datetime:
    """Add a duration: days and weeks on the wall clock, smaller units exactly.

    So "in 2 days" keeps the time of day across a daylight-saving change, while
    "in 48h" is exactly 48 hours.
    """
    parts = _duration_parts(text)
    days = sum((span for span, is_days in parts if is_days), timedelta())
    exact = sum((span for span, is_days in parts if not is_days), timedelta())
    if days:
        local = now.astimezone(zone).replace(tzinfo=None) + days
        now = _localize(local, zone, text, shift_gaps=True).instant
    return now + exact


def _parse_iso(
    match: re.Match[str], original: str, zone: tzinfo, now: datetime
) -> ResolvedTime:
    today = now.astimezone(zone).date()
    day = _checked_date(
        int(match["year"]), int(match["month"]), int(match["day"]), original, today
    )
    if match["hour"] is None:
        raise InvalidInput(
            f"time {original!r} has a date but no time of day",
            f"add a time, for example '{day.isoformat()} 09:00'",
        )
    wall = datetime.combine(day, _clock_time(match, original))
    if match["offset"]:
        offset = _parse_offset(match["offset"])
        return ResolvedTime(wall.replace(tzinfo=offset).astimezone(UTC))
    return _localize(wall, zone, original, now=now)


def _checked_date(year: int, month: int, day: int, original: str, today: date) -> date:
    """Return the date, or raise InvalidInput with an example that is not past."""
    if not 1 <= month <= 12:
        example = _future_example(date(year, 12, 24), "18:00", today)
        raise InvalidInput(
            f"invalid date in {original!r} because month {month} does not exist",
            f"use a month from 01 to 12, for example {example}",
        )
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        month_name = calendar.month_name[month]
        example = _future_example(date(year, month, days_in_month), "09:00", today)
        raise InvalidInput(
            f"invalid date in {original!r} because {month_name} {year} has"
            f" {days_in_month} days",
            f"use a day from 1 to {days_in_month}, for example {example}",
        )
    return date(year, month, day)


def _future_example(day: date, clock: str, today: date) -> str:
    """Return `day` at `clock` as an example, or a date a month ahead once `day`
    has passed, so the example is never itself rejected as past."""
    if day < today:
        day = today + timedelta(days=30)
    return f"'{day.isoformat()} {clock}'"


def _clock_time(match: re.Match[str], original: str) -> time:
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    fraction = match["fraction"] or ""
    microsecond = int(fraction.ljust(6, "0")) if fraction else 0
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidInput(
            f"invalid time of day in {original!r}",
            "use 24-hour time from 00:00 to 23:59, for example '18:30'",
        )
    return time(hour, minute, second, microsecond)


def _parse_offset(text: str) -> tzinfo:
    if text == "z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise InvalidInput(
            f"invalid UTC offset {text!r}", "use an offset such as '+02:00' or 'Z'"
        )
    from datetime import timezone

    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _next_fixed_occurrence(wall: time, offset: tzinfo, now: datetime) -> datetime:
    today = now.astimezone(offset).date()
    candidate = datetime.combine(today, wall, tzinfo=offset)
    if candidate < now:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def _parse_at_style(
    cleaned: str, original: str, now: datetime, zone: tzinfo
) -> ResolvedTime | None:
    words = cleaned.replace(" at ", " ").split(" ")
    for split in range(len(words) + 1):
        day_words, time_words = words[:split], words[split:]
        for first, second in ((day_words, time_words), (time_words, day_words)):
            wall = _parse_time_of_day(" ".join(second), original)
            if wall is None:
                continue
            day_text = " ".join(first)
            if day_text and not _is_day_word(day_text):
                continue
            return _resolve_at(day_text, wall, original, now, zone)
    if _is_day_word(cleaned):
        raise InvalidInput(
            f"time {original!r} has a day but no time of day",
            f"add a time, for example '{cleaned} 09:00'",
        )
    return None


def _parse_time_of_day(text: str, original: str) -> time | None:
    match = _TIME_OF_DAY.match(text)
    if not match:
        return None
    if match["word"] == "noon":
        return time(12)
    if match["word"] == "midnight":
        return time(0)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    meridiem = (match["meridiem"] or "").replace(".", "")
    if not meridiem and match["minute"] is None:
        # A bare number such as "9" could be a day, an hour or a count, so it is
        # not read as a time.
        return None
    if meridiem:
        if not 1 <= hour <= 12 or minute > 59:
            raise InvalidInput(
                f"invalid time of day in {original!r}",
                "use 1 to 12 with am or pm, for example '9am' or '6:30pm'",
            )
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23 or minute > 59:
        raise InvalidInput(
            f"invalid time of day in {original!r}",
            "use 24-hour time from 00:00 to 23:59, for example '18:30'",
        )
    return time(hour, minute)


def _is_day_word(text: str) -> bool:
    if text in _RELATIVE_DAYS or re.fullmatch(_ISO_DATE, text):
        return True
    name = text.removeprefix("next ")
    return name in _WEEKDAYS


def _resolve_at(
    day_text: str, wall: time, original: str, now: datetime, zone: tzinfo
) -> ResolvedTime:
    local_now = now.astimezone(zone)
    if not day_text:
        # A bare time of day is its next occurrence: today, or tomorrow once passed.
        for offset in (0, 1, 2):
            day = local_now.date() + timedelta(days=offset)
            resolved = _localize(datetime.combine(day, wall), zone, original, now=now)
            if resolved.instant >= now:
                return resolved
    day = _resolve_day(day_text, original, local_now.date(), wall, local_now)
    return _localize(datetime.combine(day, wall), zone, original, now=now)


def _resolve_day(
    day_text: str,
    original: str,
    today: date,
    wall: time | None = None,
    local_now: datetime | None = None,
) -> date:
    if day_text == "today":
        return today
    if day_text == "yesterday":
        return today - timedelta(days=1)
    if day_text == "tomorrow":
        return today + timedelta(days=1)
    iso = re.fullmatch(_ISO_DATE, day_text)
    if iso:
        return _checked_date(
            int(iso["year"]), int(iso["month"]), int(iso["day"]), original, today
        )
    skip_today = day_text.startswith("next ")
    weekday = _WEEKDAYS[day_text.removeprefix("next ")]
    ahead = (weekday - today.weekday()) % 7
    time_passed = (
        wall is not None and local_now is not None and wall <= local_now.time()
    )
    if ahead == 0 and (skip_today or time_passed):
        ahead = 7
    return today + timedelta(days=ahead)


def _parse_free_form(
    cleaned: str, original: str, zone: tzinfo, now: datetime
) -> ResolvedTime:
    """Parse forms such as `23 Aug 2026 9:00` that name the month in words.

    Purely numeric dates such as 03/04/2026 are rejected, because they read as
    different days in different countries.
    """
    words = set(re.findall(r"[a-z]+", cleaned))
    if not words & _MONTH_NAMES:
        if re.search(r"\d+[/.]\d+[/.]\d+", cleaned):
            raise InvalidInput(
                f"ambiguous date in {original!r}, which reads as different days in"
                " different countries",
                f"write the date as YYYY-MM-DD, or name the month, as in"
                f" {examples(now)}",
            )
        raise InvalidInput(
            f"unrecognised time {original!r}", f"use a form such as {examples(now)}"
        )

    from dateutil import parser

    first = datetime(2001, 1, 1, 0)
    second = datetime(2002, 2, 2, 1)
    try:
        parsed = parser.parse(cleaned, default=first)
        check = parser.parse(cleaned, default=second)
    except (ValueError, OverflowError) as error:
        raise InvalidInput(
            f"unrecognised time {original!r}", f"use a form such as {examples(now)}"
        ) from error

    # Parsing twice with different defaults reveals any part the text left out.
    if (parsed.year, parsed.month, parsed.day) != (check.year, check.month, check.day):
        raise InvalidInput(
            f"time {original!r} does not give a full date",
            "write day, month and year, for example '24 Dec 2026 18:00'",
        )
    if parsed.hour != check.hour:
        raise InvalidInput(
            f"time {original!r} has a date but no time of day",
            "add a time, for example '24 Dec 2026 18:00'",
        )
    if parsed.tzinfo is not None:
        return ResolvedTime(parsed.astimezone(UTC))
    return _localize(parsed, zone, original, now=now)


def _localize(
    wall: datetime,
    zone: tzinfo,
    original: str,
    *,
    shift_gaps: bool = False,
    now: datetime | None = None,
) -> ResolvedTime:
    """Attach `zone` to a wall-clock time, rejecting gaps and flagging repeats.

    A time that occurs twice takes the earlier instant, unless `now` falls between
    the two: then the earlier one has passed and the later one is still ahead.
    """
    from dateutil import tz

    if not tz.datetime_exists(wall, tz=zone):
        if shift_gaps:
            shifted = tz.resolve_imaginary(wall.replace(tzinfo=zone))
            return ResolvedTime(shifted.astimezone(UTC))
        raise _gap_error(wall, zone, original)

    earlier = wall.replace(tzinfo=zone, fold=0)
    if not tz.datetime_ambiguous(wall, tz=zone):
        return ResolvedTime(earlier.astimezone(UTC))

    later = wall.replace(tzinfo=zone, fold=1)
    first = f"{earlier:%H:%M} {earlier.tzname()} ({format_utc(earlier)})"
    second = f"{later:%H:%M} {later.tzname()} ({format_utc(later)})"
    intro = f"{original!r} occurs twice in {zone_name(zone)} because clocks go back"
    if now is not None and earlier < now <= later:
        warning = (
            f"{intro}, and the earlier {first} has passed, so rabb uses the later"
            f" {second}"
        )
        return ResolvedTime(later.astimezone(UTC), warning)
    warning = f"{intro}, so rabb uses the earlier {first}, not the later {second}"
    return ResolvedTime(earlier.astimezone(UTC), warning)


def _offset_at(wall: datetime, zone: tzinfo) -> timedelta:
    return wall.replace(tzinfo=zone).utcoffset() or timedelta()


def _gap_error(wall: datetime, zone: tzinfo, original: str) -> InvalidInput:
    # The offsets a few hours either side; reading the gap itself with fold=0 and
    # fold=1 works for zoneinfo but not for dateutil's POSIX-rule zones.
    before = _offset_at(wall - timedelta(hours=3), zone)
    after = _offset_at(wall + timedelta(hours=3), zone)
    jump = abs(after - before)

    # The transition lies between the two readings of the wall time; find its minute.
    low = (wall - max(before, after)).replace(tzinfo=UTC)
    high = (wall - min(before, after)).replace(tzinfo=UTC)
    transition = high
    probe = low
    while probe <= high:
        if probe.astimezone(zone).utcoffset() == max(before, after):
            transition = probe
            break
        probe += timedelta(minutes=1)
    gap_start = (transition + min(before, after)).replace(tzinfo=None)
    gap_end = (transition + max(before, after)).replace(tzinfo=None)
    example = wall + jump
    return InvalidInput(
        f"time {original!r} does not exist in {zone_name(zone)} because clocks jump"
        f" forward from {gap_start:%H:%M} to {gap_end:%H:%M} on {gap_start:%Y-%m-%d}",
        f"use a time outside that gap, for example '{example:%Y-%m-%d %H:%M}'",
    )
