"""Business time: opening hours in a time zone, minus holidays.

SLA targets are promises in business hours ("4 working hours"), so due times
are found by walking the calendar's open intervals in its own time zone, day by
day, and converting each interval to UTC. Wall-clock times are built with
`zoneinfo`, so a DST change shortens or lengthens the day it falls on exactly as
a clock on the office wall would. Pure functions: no I/O, easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contactcenter.settings import CalendarSettings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Ten years of closed days in a row means the calendar can never be open.
MAX_DAYS = 3660

_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    zone: ZoneInfo
    # weekday (0 = Monday) -> opening ranges as (start, end) seconds after midnight
    hours: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date]

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening hours, as UTC intervals."""
        if day in self.holidays:
            return []
        intervals = []
        for start, end in self.hours.get(day.weekday(), ()):
            intervals.append((_local(day, start, self.zone), _local(day, end, self.zone)))
        return intervals


def _local(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """Wall-clock `seconds` after the start of `day` in `zone`, as UTC ("24:00" is next midnight)."""
    if seconds >= 86400:
        day, seconds = day + timedelta(days=1), seconds - 86400
    wall = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60), tzinfo=zone)
    return wall.astimezone(UTC)


def parse_calendar(config: CalendarSettings) -> BusinessCalendar:
    """Raises ValueError naming the key that is wrong (the settings check adds where)."""
    try:
        zone = ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {config.timezone!r}") from None
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for name, ranges in config.hours.items():
        if name not in WEEKDAYS:
            raise ValueError(f"hours: unknown weekday {name!r} (use {', '.join(WEEKDAYS)})")
        parsed = sorted(_parse_range(text, name) for text in ranges)
        for (_, end), (start, _) in pairwise(parsed):
            if start < end:
                raise ValueError(f"hours.{name}: ranges overlap")
        hours[WEEKDAYS.index(name)] = tuple(parsed)
    if not any(hours.values()):
        raise ValueError("hours: the calendar is never open")
    holidays = set()
    for text in config.holidays:
        try:
            holidays.add(date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"holidays: {text!r} is not a date like 2026-12-25") from None
    return BusinessCalendar(zone=zone, hours=hours, holidays=frozenset(holidays))


def _parse_range(text: str, day: str) -> tuple[int, int]:
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"hours.{day}: {text!r} is not a range like \"09:00-17:00\"")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 86400 or end <= start:
        raise ValueError(f"hours.{day}: {text!r} is not a range within one day")
    return start, end


def _intervals_from(calendar: BusinessCalendar, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals (UTC) from `moment` on, the first one clipped to start at it."""
    day = moment.astimezone(calendar.zone).date() - timedelta(days=1)  # a range may run past midnight UTC
    for _ in range(MAX_DAYS):
        for start, end in calendar.open_intervals(day):
            if end > moment:
                yield max(start, moment), end
        day += timedelta(days=1)
    raise ValueError("the calendar has no opening hours in the next ten years")


def is_open(calendar: BusinessCalendar, moment: datetime) -> bool:
    """Is `moment` (tz-aware) inside the calendar's opening hours?"""
    day = moment.astimezone(calendar.zone).date()
    return any(start <= moment < end for start, end in calendar.open_intervals(day))


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The moment `duration` of open time after `start` (UTC in, UTC out)."""
    remaining = duration
    if remaining <= timedelta(0):
        return start
    for open_at, close_at in _intervals_from(calendar, start):
        available = close_at - open_at
        if remaining <= available:
            return open_at + remaining
        remaining -= available
    raise AssertionError("unreachable: _intervals_from raises first")


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time from `start` to `end`; negative when `end` comes first."""
    if end < start:
        return -business_time_between(calendar, end, start)
    total = timedelta(0)
    for open_at, close_at in _intervals_from(calendar, start):
        if open_at >= end:
            break
        total += min(close_at, end) - open_at
    return total
