"""When the phone line is open: one weekly calendar from `[twilio.hours]`.

Kept apart and pure on purpose: the routing work brings full business-hours
calendars per queue, and this is the one function to swap for it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from contactcenter.settings import WEEKDAYS, TwilioHoursSettings, parse_clock


def is_open(hours: TwilioHoursSettings, now: datetime) -> bool:
    """Is `now` (tz-aware) inside the opening hours, in the calendar's time zone?"""
    local = now.astimezone(ZoneInfo(hours.timezone))
    if WEEKDAYS[local.weekday()] not in hours.days:
        return False
    minute = local.hour * 60 + local.minute
    opens, closes = parse_clock(hours.open), parse_clock(hours.close)
    assert opens is not None and closes is not None  # checked at start-up
    return opens <= minute < closes
