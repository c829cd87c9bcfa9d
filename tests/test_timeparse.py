"""Parsing of `--at` values, durations and date bounds, with fixed clocks and zones."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rabb_cli.errors import InvalidInput
from rabb_cli.timeparse import (
    detect_system_zone,
    format_duration,
    format_local,
    format_setting_duration,
    parse_day_bound,
    parse_duration,
    parse_when,
    zone_name,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
# A Saturday, 12:00 UTC, 14:00 in Berlin.
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int
) -> datetime:
    second, microsecond = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-08-23 09:00", BERLIN, utc(2026, 8, 23, 7, 0)),
        ("2026-08-23T09:00", BERLIN, utc(2026, 8, 23, 7, 0)),
        ("2026-08-23T09:00:00Z", BERLIN, utc(2026, 8, 23, 9, 0)),
        ("2026-08-23 09:00+02:00", NEW_YORK, utc(2026, 8, 23, 7, 0)),
        ("2026-08-23T09:00:30.5-0530", UTC, utc(2026, 8, 23, 14, 30, 30, 500000)),
        ("14:55", KOLKATA, utc(2026, 8, 2, 9, 25)),
        ("12:00-05:00", BERLIN, utc(2026, 8, 1, 17, 0)),
        ("17:00Z", NEW_YORK, utc(2026, 8, 1, 17, 0)),
        ("11:00Z", BERLIN, utc(2026, 8, 2, 11, 0)),
        ("now", BERLIN, NOW),
        ("in 10s", BERLIN, NOW + timedelta(seconds=10)),
        ("in 2h", BERLIN, NOW + timedelta(hours=2)),
        ("+30m", BERLIN, NOW + timedelta(minutes=30)),
        ("now + 10 minutes", BERLIN, NOW + timedelta(minutes=10)),
        ("in 1h30m", BERLIN, NOW + timedelta(minutes=90)),
        ("in 1 hour and 15 minutes", BERLIN, NOW + timedelta(minutes=75)),
        ("tomorrow 9am", BERLIN, utc(2026, 8, 2, 7, 0)),
        ("9am tomorrow", BERLIN, utc(2026, 8, 2, 7, 0)),
        ("tomorrow at 6:30 pm", BERLIN, utc(2026, 8, 2, 16, 30)),
        ("today 18:00", BERLIN, utc(2026, 8, 1, 16, 0)),
        ("friday 10:00", BERLIN, utc(2026, 8, 7, 8, 0)),
        ("Fri 10:00", BERLIN, utc(2026, 8, 7, 8, 0)),
        ("saturday 15:00", BERLIN, utc(2026, 8, 1, 13, 0)),
        ("saturday 13:00", BERLIN, utc(2026, 8, 8, 11, 0)),
        ("next saturday noon", BERLIN, utc(2026, 8, 8, 10, 0)),
        ("14:30", BERLIN, utc(2026, 8, 1, 12, 30)),
        ("13:30", BERLIN, utc(2026, 8, 2, 11, 30)),
        ("midnight", BERLIN, utc(2026, 8, 1, 22, 0)),
        ("23 Aug 2026 9am", BERLIN, utc(2026, 8, 23, 7, 0)),
        ("August 23, 2026 18:15", UTC, utc(2026, 8, 23, 18, 15)),
        ("  TOMORROW   9AM ", BERLIN, utc(2026, 8, 2, 7, 0)),
    ],
)
def test_parse_when_forms(text: str, zone: ZoneInfo, expected: datetime) -> None:
    resolved = parse_when(text, now=NOW, zone=zone)
    assert resolved.instant == expected
    assert resolved.warning is None


def test_offset_forms_same_instant() -> None:
    with_offset = parse_when("12:00-05:00", now=NOW, zone=BERLIN).instant
    with_zulu = parse_when("17:00Z", now=NOW, zone=BERLIN).instant
    assert with_offset == with_zulu


@pytest.mark.parametrize("hour", range(24))
def test_offset_forms_agree_all_day(hour: int) -> None:
    now = utc(2026, 8, 1, hour, 17)
    with_offset = parse_when("12:00-05:00", now=now, zone=BERLIN).instant
    with_zulu = parse_when("17:00Z", now=now, zone=BERLIN).instant
    assert with_offset == with_zulu
    assert with_offset >= now


def test_result_is_aware_utc() -> None:
    instant = parse_when("2026-08-23 09:00", now=NOW, zone=BERLIN).instant
    assert instant.tzinfo is UTC


def test_nonexistent_time_rejected() -> None:
    now = utc(2025, 1, 1)
    with pytest.raises(InvalidInput) as raised:
        parse_when("2025-03-09 02:30", now=now, zone=NEW_YORK)
    message = str(raised.value)
    assert "'2025-03-09 02:30' does not exist in America/New_York" in message
    assert "from 02:00 to 03:00 on 2025-03-09" in message
    assert "'2025-03-09 03:30'" in message


def test_nonexistent_time_berlin_gap() -> None:
    with pytest.raises(InvalidInput, match="from 02:00 to 03:00 on 2026-03-29"):
        parse_when("2026-03-29 02:15", now=utc(2026, 1, 1), zone=BERLIN)


def test_repeated_time_takes_earlier() -> None:
    resolved = parse_when("2025-11-02 01:30", now=utc(2025, 1, 1), zone=NEW_YORK)
    assert resolved.instant == utc(2025, 11, 2, 5, 30)
    assert resolved.warning is not None
    assert "occurs twice" in resolved.warning
    assert "01:30 EDT (2025-11-02T05:30:00Z)" in resolved.warning
    assert "01:30 EST (2025-11-02T06:30:00Z)" in resolved.warning


def test_relative_days_keep_wall_clock() -> None:
    # Clocks in Berlin go back on 2026-10-25, so "in 1 day" is 25 hours there.
    now = utc(2026, 10, 24, 7, 0)
    instant = parse_when("in 1 day", now=now, zone=BERLIN).instant
    assert instant == utc(2026, 10, 25, 8, 0)


def test_relative_hours_are_exact() -> None:
    now = utc(2026, 10, 24, 7, 0)
    instant = parse_when("in 24h", now=now, zone=BERLIN).instant
    assert instant == utc(2026, 10, 25, 7, 0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2026-02-30 10:00", "February 2026 has 28 days"),
        ("2028-02-30 10:00", "February 2028 has 29 days"),
        ("2026-13-01 10:00", "month 13 does not exist"),
        ("2026-08-23 24:00", "invalid time of day"),
        ("2026-08-23 10:61", "invalid time of day"),
        ("13pm tomorrow", "invalid time of day"),
        ("2026-08-23", "has a date but no time of day"),
        ("tomorrow", "has a day but no time of day"),
        ("friday", "has a day but no time of day"),
        ("23 Aug 2026", "has a date but no time of day"),
        ("Aug 23 9:00", "does not give a full date"),
        ("03/04/2026 10:00", "ambiguous date"),
        ("04.03.2026 10:00", "ambiguous date"),
        ("9999-12-31 18:59", "out of range"),
        ("in 3000000 days", "out of range"),
        ("in 999999999999999999999s", "too long"),
        ("soon", "unrecognised time"),
        ("", "missing time"),
        ("in 5 parsecs", "invalid duration"),
        ("2026-07-01 10:00", "is in the past"),
        ("today 09:00", "is in the past"),
    ],
)
def test_parse_when_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when(text, now=NOW, zone=BERLIN)
    assert fragment in str(raised.value)


def test_rejection_names_value_and_example() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when("soon", now=NOW, zone=BERLIN)
    message = str(raised.value)
    assert "'soon'" in message
    assert "'tomorrow 9am'" in message


def test_past_allowed_when_asked() -> None:
    instant = parse_when("2026-07-01 10:00", now=NOW, zone=UTC, allow_past=True)
    assert instant.instant == utc(2026, 7, 1, 10, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("2 days and 4 hours", timedelta(hours=52)),
        ("1w", timedelta(days=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "h", "10 parsecs", "1h x", "h1"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidInput, match="invalid duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=2, minutes=5, seconds=3)) == "2h 5m"
    assert format_duration(timedelta()) == "0s"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(hours=24), "24h"),
        (timedelta(hours=25, minutes=10), "25h 10m"),
        (timedelta(hours=47, minutes=59), "47h 59m"),
        (timedelta(hours=48), "2d"),
        (timedelta(hours=50, minutes=30), "2d 2h"),
    ],
)
def test_format_duration_days_from_48h(span: timedelta, text: str) -> None:
    assert format_duration(span) == text


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(hours=24), "24h"),
        (timedelta(minutes=15), "15m"),
        (timedelta(seconds=30), "30s"),
        (timedelta(hours=1), "1h"),
        (timedelta(seconds=300), "5m"),
        (timedelta(hours=1, minutes=30, seconds=15), "1h30m15s"),
        (timedelta(hours=36), "36h"),
        (timedelta(hours=72), "3d"),
        (timedelta(hours=49, seconds=1), "2d1h1s"),
        (timedelta(seconds=0.5), "0.5s"),
        (timedelta(), "0s"),
    ],
)
def test_format_setting_duration(span: timedelta, text: str) -> None:
    assert format_setting_duration(span) == text
    assert parse_duration(text) == span


def test_day_bound_covers_whole_day() -> None:
    start = parse_day_bound("2026-08-23", now=NOW, zone=BERLIN, end=False)
    end = parse_day_bound("2026-08-23", now=NOW, zone=BERLIN, end=True)
    assert start == utc(2026, 8, 22, 22, 0)
    assert end == utc(2026, 8, 23, 22, 0)


def test_day_bound_accepts_past_time() -> None:
    bound = parse_day_bound("2020-01-01 10:00", now=NOW, zone=UTC, end=False)
    assert bound == utc(2020, 1, 1, 10, 0)


def test_rejection_example_is_future() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when("soon", now=NOW, zone=BERLIN)
    assert "'2026-08-31 18:00'" in str(raised.value)


def test_repeated_hour_uses_later_when_earlier_passed() -> None:
    # 01:40 EST, the second pass through 01:xx on 2027-11-07.
    now = utc(2027, 11, 7, 6, 40)
    resolved = parse_when("01:50", now=now, zone=NEW_YORK)
    assert resolved.instant == utc(2027, 11, 7, 6, 50)
    assert resolved.warning is not None
    assert "the earlier 01:50 EDT (2027-11-07T05:50:00Z) has passed" in resolved.warning


def test_repeated_hour_today_still_ahead() -> None:
    now = utc(2027, 11, 7, 6, 40)
    resolved = parse_when("today 01:45", now=now, zone=NEW_YORK)
    assert resolved.instant == utc(2027, 11, 7, 6, 45)


def test_repeated_hour_both_passed() -> None:
    now = utc(2027, 11, 7, 6, 40)
    with pytest.raises(InvalidInput, match="in the past"):
        parse_when("2027-11-07 01:30", now=now, zone=NEW_YORK)


def test_day_bound_out_of_range() -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        parse_day_bound("9999-12-31", now=NOW, zone=NEW_YORK, end=True)


def test_end_time_bound_inclusive() -> None:
    bound = parse_day_bound("2026-08-23 10:00", now=NOW, zone=UTC, end=True)
    assert bound > utc(2026, 8, 23, 10, 0)
    assert bound < utc(2026, 8, 23, 10, 0, 0, 1000)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("EST5", utc(2027, 6, 1, 14, 0)),
        ("UTC+5", utc(2027, 6, 1, 14, 0)),
        ("GMT+5", utc(2027, 6, 1, 14, 0)),
        ("UTC-3", utc(2027, 6, 1, 6, 0)),
        ("GMT-5:30", utc(2027, 6, 1, 3, 30)),
        ("EST5EDT,M3.2.0,M11.1.0", utc(2027, 6, 1, 13, 0)),
        ("CET-1CEST,M3.5.0,M10.5.0/3", utc(2027, 6, 1, 7, 0)),
        ("America/New_York", utc(2027, 6, 1, 13, 0)),
        (":/usr/share/zoneinfo/Asia/Tokyo", utc(2027, 6, 1, 0, 0)),
    ],
)
def test_system_zone_from_tz(
    variable: str, expected: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if variable.startswith(":/") and not Path(variable[1:]).exists():
        pytest.skip("the system has no zone files")
    monkeypatch.setenv("TZ", variable)
    detected = detect_system_zone()
    instant = parse_when("2027-06-01 09:00", now=NOW, zone=detected.zone).instant
    assert detected.fallback is None
    assert instant == expected


def test_unknown_tz_falls_back_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Not/AZone")
    detected = detect_system_zone()
    assert detected.zone is UTC
    assert detected.fallback == "TZ='Not/AZone' names no known zone"


@pytest.mark.parametrize(
    "variable", ["UTC+24", "UTC+25", "UTC-24", "AAA0BBB-24,M3.2.0,M11.1.0"]
)
def test_tz_offset_beyond_python_falls_back(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", variable)
    detected = detect_system_zone()
    assert detected.zone is UTC
    assert detected.fallback is not None
    assert f"TZ={variable!r}" in detected.fallback
    assert "24 hours or more" in detected.fallback


def test_posix_zone_gap_named() -> None:
    zone = detect_system_zone_for("CET-1CEST,M3.5.0,M10.5.0/3")
    with pytest.raises(InvalidInput, match="from 02:00 to 03:00 on 2027-03-28"):
        parse_when("2027-03-28 02:30", now=NOW, zone=zone)


def detect_system_zone_for(variable: str) -> tzinfo:
    from rabb_cli.timeparse import _zone_from_tz_variable

    return _zone_from_tz_variable(variable).zone


@pytest.mark.parametrize(
    ("variable", "wall", "expected"),
    [
        ("UTC+5", "2027-07-01 09:00", utc(2027, 7, 1, 14, 0)),
        ("UTC-3", "2027-07-01 09:00", utc(2027, 7, 1, 6, 0)),
        ("EST5EDT,M3.2.0,M11.1.0", "2027-01-15 09:00", utc(2027, 1, 15, 14, 0)),
        ("EST5EDT,M3.2.0,M11.1.0", "2027-03-15 09:00", utc(2027, 3, 15, 13, 0)),
        ("EST5EDT,M3.2.0,M11.1.0", "2027-11-08 09:00", utc(2027, 11, 8, 14, 0)),
        # No dates: glibc's default rule, so summer time starts on 14 March 2027,
        # not on 4 April as dateutil's own pre-2007 default would have it.
        ("AAA5BBB", "2027-03-20 09:00", utc(2027, 3, 20, 13, 0)),
    ],
)
def test_posix_tz_known_instants(variable: str, wall: str, expected: datetime) -> None:
    zone = detect_system_zone_for(variable)
    assert parse_when(wall, now=NOW, zone=zone).instant == expected


POSIX_RULES = [
    "UTC+5",
    "GMT+5",
    "UTC-3",
    "XYZ+5",
    "IST-5:30",
    "EST5EDT,M3.2.0,M11.1.0",
    "CET-1CEST,M3.5.0,M10.5.0/3",
    "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "AAA5BBB",
    "<+04>-4",
    "<-03>3",
    "<+0530>-5:30",
    "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
]
SAMPLE_INSTANTS = [
    utc(2027, month, day, 12) for month, day in ((1, 15), (3, 20), (4, 2), (7, 1))
] + [utc(2027, 10, 30, 12), utc(2027, 11, 3, 12), utc(2027, 12, 1, 0)]


@pytest.mark.parametrize("variable", POSIX_RULES)
def test_posix_tz_matches_libc(variable: str) -> None:
    """The C library's reading of TZ, in a process of its own, is the reference."""
    stamps = [str(int(instant.timestamp())) for instant in SAMPLE_INSTANTS]
    script = (
        "import sys, time\n"
        "print(*(time.localtime(int(s)).tm_gmtoff for s in sys.argv[1:]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, *stamps],
        env={**os.environ, "TZ": variable},
        capture_output=True,
        text=True,
        check=True,
    )
    libc_offsets = [int(value) for value in completed.stdout.split()]
    zone = detect_system_zone_for(variable)
    for instant, libc_offset in zip(SAMPLE_INSTANTS, libc_offsets, strict=True):
        offset = instant.astimezone(zone).utcoffset()
        assert offset is not None
        assert offset.total_seconds() == libc_offset, (variable, instant)


def test_quoted_tz_names_shown() -> None:
    """A quoted name such as `<-03>` is the zone's abbreviation, as libc shows it."""
    zone = detect_system_zone_for("<-04>4<-03>,M9.1.6/24,M4.1.6/24")

    assert format_local(utc(2027, 1, 15, 12), zone) == "2027-01-15 09:00 -03"
    assert format_local(utc(2027, 7, 15, 12), zone) == "2027-07-15 08:00 -04"
    assert zone_name(zone) == "<-04>4<-03>,M9.1.6/24,M4.1.6/24"


def test_too_many_quoted_names_rejected() -> None:
    assert detect_system_zone_for("<-04>4<-03>3<-02>") is UTC


def test_utc_named_zone_shows_offset() -> None:
    zone = detect_system_zone_for("UTC+5")
    shown = format_local(utc(2027, 7, 1, 14, 0), zone)
    assert shown == "2027-07-01 09:00 UTC-05:00"
    assert format_local(utc(2027, 7, 1, 14, 0), UTC) == "2027-07-01 14:00 UTC"


KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14, the furthest ahead.
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("9998-12-31T12:00Z", UTC, utc(9998, 12, 31, 12, 0)),
        ("9998-12-31T23:59:59Z", UTC, utc(9998, 12, 31, 23, 59, 59)),
        ("9998-12-31 00:00", UTC, utc(9998, 12, 31, 0, 0)),
        ("9998-12-31 23:00", KIRITIMATI, utc(9998, 12, 31, 9, 0)),
        ("1900-01-01T00:00Z", UTC, utc(1900, 1, 1, 0, 0)),
    ],
)
def test_range_edges_accepted(text: str, zone: tzinfo, expected: datetime) -> None:
    instant = parse_when(text, now=NOW, zone=zone, allow_past=True).instant
    assert instant == expected
    # Every zone can still show the instant.
    assert format_local(instant, KIRITIMATI)
    assert format_local(instant, PAGO_PAGO)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("9999-01-01T00:00Z", UTC),
        ("9998-12-31 23:00", PAGO_PAGO),
        ("1899-12-31T23:59:59Z", UTC),
    ],
)
def test_range_edges_rejected(text: str, zone: tzinfo) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when(text, now=NOW, zone=zone, allow_past=True)
    assert str(raised.value) == (
        f"time {text!r} is out of range. Use a time from 1900-01-01 to 9998-12-31 UTC."
    )


@pytest.mark.parametrize("text", ["yesterday", "yesterday 10:00", "9am yesterday"])
def test_yesterday_is_past(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when(text, now=NOW, zone=BERLIN)
    assert str(raised.value).startswith(f"time {text!r} is in the past")


def test_yesterday_allowed_as_bound() -> None:
    resolved = parse_when("yesterday 10:00", now=NOW, zone=BERLIN, allow_past=True)
    assert resolved.instant == utc(2026, 7, 31, 8, 0)
    start = parse_day_bound("yesterday", now=NOW, zone=BERLIN, end=False)
    assert start == utc(2026, 7, 30, 22, 0)


@pytest.mark.parametrize(
    ("text", "example"),
    [
        ("2026-02-30 10:00", "'2026-08-31 09:00'"),
        ("2026-08-32 10:00", "'2026-08-31 09:00'"),
        ("2027-02-30 10:00", "'2027-02-28 09:00'"),
        ("2025-13-01 10:00", "'2026-08-31 18:00'"),
        ("2026-13-01 10:00", "'2026-12-24 18:00'"),
    ],
)
def test_impossible_date_example_ahead(text: str, example: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_when(text, now=NOW, zone=BERLIN)
    message = str(raised.value)
    assert message.endswith(f"for example {example}.")
    # The example itself is accepted.
    assert parse_when(example.strip("'"), now=NOW, zone=BERLIN).instant > NOW
