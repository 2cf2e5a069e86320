"""The response clock's arithmetic: business hours, public holidays and daylight saving."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.clock import BusinessHours, parse_duration, parse_timezone

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours.parse("Mon-Fri 09:00-17:00", timezone="Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Berlin wall time as the aware UTC moment the clock takes."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_durations_are_integers_with_units_combined(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "1.5h", "30m1h", "1h 30m", "-5m", "5 m", "1w", "1hh"])
def test_a_malformed_duration_says_what_a_duration_looks_like(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration: an integer with s, m, h or d"):
        parse_duration(text)


def test_a_friday_evening_mention_is_due_on_monday_morning() -> None:
    friday_evening = berlin(2026, 11, 27, 18, 30)
    due = OFFICE.due(friday_evening, timedelta(minutes=30))
    assert due == berlin(2026, 11, 30, 9, 30) and due.tzinfo is UTC


def test_a_target_that_outlasts_the_day_carries_over_to_the_next_morning() -> None:
    due = OFFICE.due(berlin(2026, 11, 26, 16, 40), timedelta(hours=1))
    assert due == berlin(2026, 11, 27, 9, 40)


def test_a_target_ending_exactly_at_closing_time_is_due_at_closing_time() -> None:
    assert OFFICE.due(berlin(2026, 11, 26, 16, 30), timedelta(minutes=30)) == berlin(
        2026, 11, 26, 17
    )


def test_christmas_in_germany_is_a_whole_day_off() -> None:
    hours = BusinessHours.parse("Mon-Sat 09:00-17:00", timezone="Europe/Berlin", holidays="DE")
    # Thursday 24 Dec 2026 is a working day; Fri 25 and Sat 26 are public holidays.
    due = hours.due(berlin(2026, 12, 24, 16, 50), timedelta(minutes=30))
    assert due == berlin(2026, 12, 28, 9, 20)
    without_holidays = BusinessHours.parse("Mon-Sat 09:00-17:00", timezone="Europe/Berlin")
    assert without_holidays.due(berlin(2026, 12, 24, 16, 50), timedelta(minutes=30)) == berlin(
        2026, 12, 25, 9, 20
    )


def test_a_subdivision_adds_its_own_holidays() -> None:
    # Epiphany (6 Jan, a Wednesday in 2027) is a holiday in Bavaria, not in Berlin.
    start = berlin(2027, 1, 5, 16, 50)
    bavaria = BusinessHours.parse("Mon-Fri 09:00-17:00", timezone="Europe/Berlin", holidays="DE-BY")
    germany = BusinessHours.parse("Mon-Fri 09:00-17:00", timezone="Europe/Berlin", holidays="DE")
    assert bavaria.due(start, timedelta(minutes=30)) == berlin(2027, 1, 7, 9, 20)
    assert germany.due(start, timedelta(minutes=30)) == berlin(2027, 1, 6, 9, 20)


def test_the_night_the_clocks_spring_forward_has_one_hour_less() -> None:
    # 29 Mar 2026, 02:00 CET -> 03:00 CEST: from 00:00 to 06:00 is five real hours.
    always = BusinessHours.parse("always", timezone="Europe/Berlin", holidays="DE")
    assert always.elapsed(berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 6)) == timedelta(hours=5)
    sunday = BusinessHours.parse("Sun 00:00-06:00", timezone="Europe/Berlin")
    assert sunday.due(berlin(2026, 3, 28, 12), timedelta(hours=5)) == berlin(2026, 3, 29, 6)


def test_the_night_the_clocks_fall_back_has_one_hour_more() -> None:
    # 25 Oct 2026, 03:00 CEST -> 02:00 CET: from 00:00 to 06:00 is seven real hours.
    sunday = BusinessHours.parse("Sun 00:00-06:00", timezone="Europe/Berlin")
    start = berlin(2026, 10, 24, 12)
    assert sunday.due(start, timedelta(hours=7)) == berlin(2026, 10, 25, 6)
    assert sunday.elapsed(start, berlin(2026, 10, 26, 0)) == timedelta(hours=7)


def test_office_hours_keep_their_local_times_across_a_dst_change() -> None:
    # Friday 17:00 CET to Monday 09:30 CEST: the window opens at 09:00 local, 07:00 UTC.
    due = OFFICE.due(berlin(2026, 3, 27, 16, 30), timedelta(hours=1))
    assert due == berlin(2026, 3, 30, 9, 30) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_always_counts_every_minute() -> None:
    always = BusinessHours.parse("always")
    start = datetime(2026, 5, 1, 23, 50, tzinfo=UTC)
    assert always.due(start, timedelta(minutes=30)) == datetime(2026, 5, 2, 0, 20, tzinfo=UTC)
    assert always.elapsed(start, start + timedelta(hours=3)) == timedelta(hours=3)


def test_elapsed_counts_only_business_time() -> None:
    # Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday.
    assert OFFICE.elapsed(berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 10)) == timedelta(hours=2)
    assert OFFICE.elapsed(berlin(2026, 11, 28, 10), berlin(2026, 11, 29, 10)) == timedelta(0)


def test_elapsed_is_zero_when_the_end_is_not_after_the_start() -> None:
    moment = berlin(2026, 11, 26, 10)
    assert OFFICE.elapsed(moment, moment - timedelta(hours=1)) == timedelta(0)


def test_several_windows_a_day_and_overlaps_count_each_minute_once() -> None:
    hours = BusinessHours.parse(
        "Mon-Fri 09:00-12:00, Mon-Fri 11:00-13:00, Mon 14:00-15:00", timezone="Europe/Berlin"
    )
    monday = berlin(2026, 11, 30, 0)
    assert hours.elapsed(monday, berlin(2026, 12, 1, 0)) == timedelta(hours=5)
    assert hours.due(monday, timedelta(hours=4, minutes=30)) == berlin(2026, 11, 30, 14, 30)


def test_a_zero_target_is_due_at_the_start() -> None:
    start = berlin(2026, 11, 28, 3)
    assert OFFICE.due(start, timedelta(0)) == start


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        OFFICE.due(datetime(2026, 11, 27, 18), timedelta(minutes=30))


def test_a_target_beyond_the_scan_horizon_is_refused_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="does not fit in the 400 days"):
        OFFICE.due(berlin(2026, 11, 27, 18), timedelta(days=200))


@pytest.mark.parametrize(
    ("hours", "timezone", "holidays", "expected"),
    [
        ("Mo-Fri 09:00-17:00", "UTC", "", "unknown weekday 'Mo'"),
        ("Mon-Fri 09:00-25:00", "UTC", "", "'25:00' is not a time of day"),
        ("Mon-Fri 9:00-17:00", "UTC", "", "'9:00' is not a time of day"),
        ("Mon-Fri 17:00-09:00", "UTC", "", "17:00 is not before 09:00"),
        ("Mon-Fri", "UTC", "", "is not a window like"),
        ("", "UTC", "", "is not a window like"),
        ("always", "Mars/Olympus_Mons", "", "unknown time zone 'Mars/Olympus_Mons'"),
        ("always", "UTC", "XX", "unknown country 'XX'"),
        ("always", "UTC", "DE-XX", "unknown subdivision 'XX' of DE"),
        ("always", "UTC", "DE-", "a subdivision after"),
    ],
)
def test_bad_business_hours_name_what_is_wrong(
    hours: str, timezone: str, holidays: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        BusinessHours.parse(hours, timezone=timezone, holidays=holidays)


def test_a_weekday_range_may_wrap_around_the_weekend() -> None:
    weekend = BusinessHours.parse("Sat-Sun 10:00-12:00, Fri-Mon 20:00-21:00", timezone="UTC")
    assert [bool(day) for day in weekend.week] == [True, False, False, False, True, True, True]


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    target=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    holidays=st.sampled_from(["", "DE"]),
)
def test_due_then_elapsed_gives_back_the_target(
    start: datetime, target: timedelta, holidays: str
) -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", timezone="Europe/Berlin", holidays=holidays)
    due = hours.due(start, target)
    assert due >= start
    assert hours.elapsed(start, due) == target


def test_time_zones_load_without_a_system_time_zone_database() -> None:
    """As in a python:slim container without /usr/share/zoneinfo: the tzdata package."""
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        berlin = parse_timezone("Europe/Berlin")
        assert datetime(2026, 7, 1, 12, tzinfo=berlin).utcoffset() == timedelta(hours=2)
        assert datetime(2026, 12, 1, 12, tzinfo=berlin).utcoffset() == timedelta(hours=1)
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
