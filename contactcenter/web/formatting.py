"""Small jinja2 filters that turn times and numbers into what a person reads at a glance.

They write for the current reader (contactcenter.i18n): words in their
language, dates in their locale's order and their time zone (Babel, CLDR data).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton, get_timezone, get_timezone_location
from babel.numbers import format_decimal

from contactcenter.i18n import babel_locale, current_reader, gettext as _


def duration(seconds: float | None) -> str:
    """`42s`, `17m`, `3h 05m`, `2d 4h` (`3小时05分` in Chinese): short enough for a dense table."""
    if seconds is None:
        return "–"
    seconds = int(max(0, seconds))
    if seconds < 60:
        return _("{seconds}s", seconds=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("{minutes}m", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{hours}h {minutes}m", hours=hours, minutes=f"{minutes:02d}")
    days, hours = divmod(hours, 24)
    return _("{days}d {hours}h", days=days, hours=hours)


def ago(value: datetime | None, now: datetime) -> str:
    return "–" if value is None else _("{duration} ago", duration=duration((now - value).total_seconds()))


def until(value: datetime | None, now: datetime) -> str:
    """`in 12m` for a future due time, `12m late` for a past one."""
    if value is None:
        return "–"
    seconds = (value - now).total_seconds()
    if seconds >= 0:
        return _("in {duration}", duration=duration(seconds))
    return _("{duration} late", duration=duration(-seconds))


def reader_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_reader().timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def stamp(value: datetime | None) -> str:
    """Date and time in the reader's zone and locale: `Dec 2, 2026 14:05 UTC`, `2026年12月2日 22:05 CST`."""
    if value is None:
        return "–"
    zone = reader_zone()
    local = value.astimezone(zone)
    locale = babel_locale(current_reader().locale)
    return f"{format_skeleton('yMMMd', local, locale=locale)} {local:%H:%M} {local.tzname()}"


def day(value: datetime) -> str:
    """A date with its weekday, in the reader's locale: `Wed, Dec 2, 2026`, `2026年12月2日周三`."""
    return format_skeleton("yMMMEd", value, locale=babel_locale(current_reader().locale))


def number(value: float, digits: int = 0) -> str:
    """`1,234.50` / `1,234.50` / `1.234,50`: the reader's separators."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(current_reader().locale))


def zone_name(name: str) -> str:
    """A time zone as the reader says it: `China (Shanghai) Time`, `中国（上海）时间`; UTC stays UTC."""
    if not name or name == "UTC":
        return "UTC"
    try:
        return get_timezone_location(get_timezone(name), locale=babel_locale(current_reader().locale))
    except (LookupError, ValueError):
        return name


FILTERS = {"duration": duration, "ago": ago, "until": until, "stamp": stamp, "day": day, "number": number, "zone_name": zone_name}
