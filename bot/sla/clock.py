"""Business-time arithmetic for the response clock: durations, opening hours, public
holidays and daylight saving, as pure functions of their inputs (no I/O, no clock reads).

Datetimes go in and come out as aware UTC; local wall times exist only inside, where the
week's windows are laid on calendar days of the configured time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables

__all__ = [
    "MAX_SCAN_DAYS",
    "BusinessHours",
    "PublicHolidays",
    "parse_duration",
    "parse_timezone",
    "parse_week",
]

# How many calendar days `due` looks ahead before it gives up: more than a year, so a
# target of weeks still fits around holidays, and a bound on every loop.
MAX_SCAN_DAYS = 400

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MINUTES_PER_DAY = 24 * 60

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_WINDOW = re.compile(r"(\S+)\s+(\S+)-(\S+)")
_CLOCK_TIME = re.compile(r"(\d{2}):(\d{2})")

# One day's business windows as (start, end) minutes after local midnight; end may be 1440
# (24:00). Sorted, merged, start < end.
DayWindows = tuple[tuple[int, int], ...]
ALWAYS: tuple[DayWindows, ...] = (((0, _MINUTES_PER_DAY),),) * 7


def parse_duration(text: str) -> timedelta:
    """A target such as "30m", "2h", "1h30m" or "0s": integers with d, h, m or s, each unit
    at most once and largest first, so that a typo never becomes a different target."""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(
            f"{text!r} is not a duration: an integer with s, m, h or d, or several combined "
            'largest first ("1h30m")'
        )
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """Whole days off: the public holidays of a country ("DE") or one of its
    subdivisions ("DE-BY"), from the `holidays` package."""

    country: str
    subdivision: str | None = None

    @classmethod
    def parse(cls, text: str) -> PublicHolidays | None:
        """None for ""; otherwise an ISO country code, optionally "-" and a subdivision."""
        if not text:
            return None
        country, dash, subdivision = text.partition("-")
        if dash and not subdivision:
            raise ValueError(f'holidays {text!r}: a subdivision after "-" (e.g. "DE-BY")')
        holidays = cls(country, subdivision or None)
        try:
            _holiday_table(holidays.country, holidays.subdivision)
        except NotImplementedError:
            if holidays.subdivision and country in holiday_tables.list_supported_countries():
                raise ValueError(
                    f"unknown subdivision {subdivision!r} of {country} in holidays {text!r}"
                ) from None
            raise ValueError(
                f"unknown country {country!r} in holidays {text!r} (an ISO code such as "
                '"DE", optionally with a subdivision: "DE-BY")'
            ) from None
        return holidays

    def __contains__(self, day: date) -> bool:
        return day in _holiday_table(self.country, self.subdivision)


@cache
def _holiday_table(country: str, subdivision: str | None) -> holiday_tables.HolidayBase:
    """One table per place, shared: it fills in each year on first use."""
    return holiday_tables.country_holidays(country, subdiv=subdivision)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When the clock runs: a week of windows in one time zone, minus public holidays."""

    week: tuple[DayWindows, ...]  # Monday first, seven entries
    zone: ZoneInfo
    holidays: PublicHolidays | None = None

    @classmethod
    def parse(cls, hours: str, *, timezone: str = "UTC", holidays: str = "") -> BusinessHours:
        """`hours` is "always" or windows like "Mon-Fri 09:00-17:00, Sat 10:00-12:00";
        `timezone` an IANA name; `holidays` as PublicHolidays.parse. ValueError says what is
        wrong."""
        return cls(parse_week(hours), parse_timezone(timezone), PublicHolidays.parse(holidays))

    def due(self, start: datetime, target: timedelta) -> datetime:
        """The moment at which `target` of business time has passed since `start`."""
        start = _utc(start)
        if target <= timedelta(0):
            return start
        if self._always():
            return start + target
        remaining = target
        for opens, closes in self._windows(start, days=MAX_SCAN_DAYS):
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise ValueError(
            f"{target} of business time does not fit in the {MAX_SCAN_DAYS} days after "
            f"{start.isoformat()}"
        )

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments ("answered in 8 min"); 0 if end is not later."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return timedelta(0)
        if self._always():
            return end - start
        total = timedelta(0)
        for opens, closes in self._windows(start, days=(end - start).days + 2):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total

    def _always(self) -> bool:
        return self.holidays is None and self.week == ALWAYS

    def _windows(self, start: datetime, *, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Business windows in UTC, in order, not before `start` and not overlapping, over
        at most `days` local calendar days from start's.

        Wall times in a DST gap or overlap take zoneinfo's fold=0 reading; clipping each
        window to the previous one's end keeps the sequence ordered across such a day."""
        first_day = start.astimezone(self.zone).date()
        not_before = start
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            if self.holidays is not None and day in self.holidays:
                continue
            for start_minute, end_minute in self.week[day.weekday()]:
                opens = max(self._instant(day, start_minute), not_before)
                closes = self._instant(day, end_minute)
                if opens < closes:
                    yield opens, closes
                    not_before = closes

    def _instant(self, day: date, minute: int) -> datetime:
        """The UTC moment of a local wall time, minutes after `day`'s midnight (1440 is the
        next midnight)."""
        if minute == _MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'unknown time zone {name!r} (an IANA name such as "Europe/Berlin" or "UTC")'
        ) from None


def parse_week(text: str) -> tuple[DayWindows, ...]:
    """The week of "always", or of comma-separated "<day or day-day> HH:MM-HH:MM" windows."""
    if text.strip() == "always":
        return ALWAYS
    days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for part in text.split(","):
        match = _WINDOW.fullmatch(part.strip())
        if match is None:
            raise ValueError(
                f'{part.strip()!r} is not a window like "Mon-Fri 09:00-17:00" (or use "always")'
            )
        day_names, opens, closes = match.groups()
        start, end = _minute_of_day(opens), _minute_of_day(closes)
        if start >= end:
            raise ValueError(
                f"{part.strip()!r}: {opens} is not before {closes} (a window ends on its own "
                "day; split one that runs past midnight)"
            )
        for weekday in _weekdays(day_names):
            days[weekday].append((start, end))
    return tuple(_merged(windows) for windows in days)


def _weekdays(text: str) -> list[int]:
    """Weekday indexes of "Mon" or a range "Mon-Fri"; a range may wrap ("Fri-Mon")."""
    first, _, last = text.partition("-")
    start = _weekday(first)
    end = _weekday(last) if last else start
    return [(start + step) % 7 for step in range((end - start) % 7 + 1)]


def _weekday(name: str) -> int:
    for index, weekday in enumerate(WEEKDAYS):
        if name.lower() == weekday.lower():
            return index
    raise ValueError(f"unknown weekday {name!r} (expected one of: {', '.join(WEEKDAYS)})")


def _minute_of_day(text: str) -> int:
    match = _CLOCK_TIME.fullmatch(text)
    if match is not None:
        hour, minute = int(match[1]), int(match[2])
        if (hour < 24 and minute < 60) or (hour, minute) == (24, 0):
            return hour * 60 + minute
    raise ValueError(f"{text!r} is not a time of day HH:MM from 00:00 to 24:00")


def _merged(windows: list[tuple[int, int]]) -> DayWindows:
    """Overlapping or touching windows of one day as one, so no minute counts twice."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; the clock takes aware UTC")
    return moment.astimezone(UTC)
