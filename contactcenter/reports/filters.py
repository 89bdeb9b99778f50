"""What a report covers: a date range (whole days in the viewer's time zone) and optional filters, from query parameters.

Days, hours and the heat map are the viewer's: an agent's `timezone`, or
`?tz=` (an IANA name) for the API and to look at another site's day. The
zone's UTC offsets over the range (daylight saving changes included) are
handed to the database as a short CASE, so a report cuts days and hours with
integer arithmetic on the report rows' epoch seconds (summary.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contactcenter.contact import ChannelKind, TicketType
from contactcenter.errors import InputError
from contactcenter.identity.normalize import is_text

MAX_DAYS = 366
DEFAULT_DAYS = 14
CHANNELS = tuple(c.value for c in ChannelKind)
TYPES = tuple(t.value for t in TicketType)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    first_day: date
    last_day: date  # included
    queue: str = ""  # a queue's name or id
    channel: str = ""
    agent_id: int | None = None
    tier: str = ""
    segment: str = ""
    type: str = ""
    zone: str = "UTC"  # IANA name; days and hours are cut in it

    @property
    def start(self) -> datetime:
        """Midnight that begins the first day, in the viewer's zone, as UTC."""
        return datetime.combine(self.first_day, time(), tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    def offsets(self) -> list[tuple[int, int]]:
        """The zone's UTC offsets over the range: [(from epoch second, offset seconds)], the first from the beginning of time."""
        return zone_offsets(self.zone, int(self.start.timestamp()) - 86400, int(self.end.timestamp()) + 86400)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def query(self) -> dict[str, str]:
        """As query parameters again (for links to the CSV and the API)."""
        values = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "queue": self.queue, "channel": self.channel,
                  "agent_id": str(self.agent_id or ""), "tier": self.tier, "segment": self.segment, "type": self.type,
                  "tz": "" if self.zone == "UTC" else self.zone}
        return {k: v for k, v in values.items() if v}


def parse_report_filter(query: dict[str, str], now: datetime, zone: str = "UTC") -> ReportFilter:
    """`from`/`to` as YYYY-MM-DD (default: the last 14 days to today), at most 366 days,
    in `?tz=` or else `zone` (the viewer's; an unknown name there falls back to UTC)."""
    zone = query.get("tz", "").strip() or (zone if known_zone(zone) else "UTC")
    if not known_zone(zone):
        raise InputError("tz must be an IANA time zone such as Asia/Shanghai", fields={"tz": "unknown time zone"})
    today = now.astimezone(ZoneInfo(zone)).date()
    last = _day(query.get("to", ""), "to") or today
    first = _day(query.get("from", ""), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InputError("'from' must not come after 'to'", fields={"from": "after 'to'"})
    if (last - first).days >= MAX_DAYS:
        raise InputError(f"a report covers at most {MAX_DAYS} days", fields={"from": "range too long"})
    channel = query.get("channel", "")
    if channel and channel not in CHANNELS:
        raise InputError(f"channel must be one of {', '.join(CHANNELS)}", fields={"channel": "unknown channel"})
    kind = query.get("type", "")
    if kind and kind not in TYPES:
        raise InputError(f"type must be one of {', '.join(TYPES)}", fields={"type": "unknown type"})
    agent = query.get("agent_id", "")
    if agent and not (agent.isascii() and agent.isdigit() and len(agent) < 10):
        raise InputError("agent_id must be a whole number", fields={"agent_id": "must be a whole number"})
    texts = {}
    for name in ("queue", "tier", "segment"):
        value = query.get(name, "").strip()
        if len(value) > 100 or not is_text(value):
            raise InputError(f"{name} is not a name we could hold", fields={name: "not a name"})
        texts[name] = value
    return ReportFilter(first, last, channel=channel, type=kind, agent_id=int(agent) if agent else None, zone=zone, **texts)


def known_zone(name: str) -> bool:
    if not name or len(name) > 64 or not is_text(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone_offsets(zone: str, start: int, end: int) -> list[tuple[int, int]]:
    """UTC offsets of `zone` between two epoch seconds, found by stepping 6 hours
    and halving the step where the offset changed (to the second)."""
    tz = ZoneInfo(zone)

    def offset(at: int) -> int:
        return int(datetime.fromtimestamp(at, UTC).astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    found = [(-(2**62), offset(start))]
    step = 6 * 3600
    at = start
    while at < end:
        after = min(at + step, end)
        if offset(after) != found[-1][1]:
            low, high = at, after  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, offset(high)))
        at = after
    return found


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{name}' must be a date like 2026-03-01", fields={name: "not a date"}) from None
