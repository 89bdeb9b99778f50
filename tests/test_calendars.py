"""Business time: opening hours in a time zone, holidays, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contactcenter.routing.calendars import add_business_time, business_time_between, parse_calendar
from contactcenter.settings import CalendarSettings

WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def new_york(holidays: tuple[str, ...] = ()):
    return parse_calendar(CalendarSettings(timezone="America/New_York", hours=WEEKDAYS_9_TO_5, holidays=list(holidays)))


def test_friday_evening_with_four_business_hours_falls_due_monday_1pm_local():
    friday_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 18:30 in New York (EST, UTC-5)
    due = add_business_time(new_york(), friday_evening, timedelta(hours=4))
    assert due == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # Monday 13:00 in New York


def test_a_monday_holiday_moves_it_to_tuesday():
    friday_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    due = add_business_time(new_york(holidays=("2026-11-23",)), friday_evening, timedelta(hours=4))
    assert due.astimezone(new_york().zone) == datetime(2026, 11, 24, 13, 0, tzinfo=new_york().zone)


def test_friday_afternoon_spills_over_the_weekend():
    friday_3pm = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # 15:00 New York
    due = add_business_time(new_york(), friday_3pm, timedelta(hours=4))
    assert due.astimezone(new_york().zone).replace(tzinfo=None) == datetime(2026, 11, 23, 11, 0)


def test_opening_hours_follow_daylight_saving_time():
    # New York leaves DST on Sunday 2026-11-01: 9:00 is 13:00 UTC before, 14:00 UTC after.
    friday = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)  # 16:00 EDT
    due = add_business_time(new_york(), friday, timedelta(hours=2))
    assert due == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 EST


def test_business_time_between_counts_only_open_hours():
    calendar = new_york()
    friday_noon = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert business_time_between(calendar, friday_noon, monday_noon) == timedelta(hours=8)
    assert business_time_between(calendar, monday_noon, friday_noon) == -timedelta(hours=8)


def test_several_ranges_a_day_and_whole_days():
    calendar = parse_calendar(
        CalendarSettings(timezone="Europe/London", hours={"mon": ["09:00-12:00", "13:00-17:00"], "sat": ["00:00-24:00"]}, holidays=[])
    )
    monday_11 = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert add_business_time(calendar, monday_11, timedelta(hours=2)) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert add_business_time(calendar, monday_11, timedelta(hours=8)) == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        ({"hours": {"funday": ["09:00-17:00"]}}, "hours: unknown weekday 'funday'"),
        ({"hours": {"mon": ["9-5"]}}, "hours.mon: '9-5' is not a range"),
        ({"hours": {"mon": ["17:00-09:00"]}}, "hours.mon: '17:00-09:00' is not a range within one day"),
        ({"hours": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "hours.mon: ranges overlap"),
        ({"hours": {}}, "hours: the calendar is never open"),
        ({"holidays": ["25/12/2026"]}, "holidays: '25/12/2026' is not a date"),
    ],
)
def test_bad_calendars_are_refused_with_the_key(config, message):
    values = {"timezone": "UTC", "hours": WEEKDAYS_9_TO_5, "holidays": [], **config}
    with pytest.raises(ValueError) as raised:
        parse_calendar(CalendarSettings(**values))
    assert str(raised.value).startswith(message)
