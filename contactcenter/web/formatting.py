"""Small jinja2 filters that turn times into what a person reads at a glance."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float | None) -> str:
    """`42s`, `17m`, `3h 05m`, `2d 4h`: short enough for a dense table."""
    if seconds is None:
        return "–"
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def ago(value: datetime | None, now: datetime) -> str:
    return "–" if value is None else f"{duration((now - value).total_seconds())} ago"


def until(value: datetime | None, now: datetime) -> str:
    """`in 12m` for a future due time, `12m late` for a past one."""
    if value is None:
        return "–"
    seconds = (value - now).total_seconds()
    return f"in {duration(seconds)}" if seconds >= 0 else f"{duration(-seconds)} late"


def stamp(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


FILTERS = {"duration": duration, "ago": ago, "until": until, "stamp": stamp}
