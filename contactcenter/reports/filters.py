"""What a report covers: a date range (whole UTC days) and optional filters, from query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def query(self) -> dict[str, str]:
        """As query parameters again (for links to the CSV and the API)."""
        values = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "queue": self.queue, "channel": self.channel,
                  "agent_id": str(self.agent_id or ""), "tier": self.tier, "segment": self.segment, "type": self.type}
        return {k: v for k, v in values.items() if v}


def parse_report_filter(query: dict[str, str], today: date) -> ReportFilter:
    """`from`/`to` as YYYY-MM-DD (default: the last 14 days to today), at most 366 days."""
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
    return ReportFilter(first, last, channel=channel, type=kind, agent_id=int(agent) if agent else None, **texts)


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{name}' must be a date like 2026-03-01", fields={name: "not a date"}) from None
