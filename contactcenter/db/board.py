"""Numbers for the supervisor's pages: the live queue board and the daily report.

`queue_board` is the one place the board's numbers come from. Its queue rows
are the routing module's live state (`live_state.queue_states`, the same
numbers as GET /api/v1/queues), so the board and the API never disagree.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, Ticket
from contactcenter.routing.live_state import UNRESOLVED, queue_states
from contactcenter.routing.presence import PRESENCES
from contactcenter.voice.call_presence import call_state


@dataclass(frozen=True, slots=True)
class QueueRow:
    queue_id: int
    name: str
    waiting: int  # new or open, not yet given to an agent
    oldest_wait_seconds: int | None
    at_risk: int
    breached: int
    agents_available: int  # agents with the queue's skills
    agents_busy: int


@dataclass(frozen=True, slots=True)
class AgentRow:
    id: int
    name: str
    role: str
    presence: str
    presence_since: datetime
    open_tickets: int
    call_state: str = ""  # "on_call", "wrap_up" or "" (voice/call_presence.py)


@dataclass(frozen=True, slots=True)
class Board:
    at: datetime
    queues: list[QueueRow]
    agents: list[AgentRow]
    presence_counts: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "queues": [asdict(q) for q in self.queues],
            "agents": [{**asdict(a), "presence_since": a.presence_since.isoformat()} for a in self.agents],
            "presence_counts": self.presence_counts,
        }


async def queue_board(session: AsyncSession, now: datetime) -> Board:
    """Per queue: waiting tickets, the oldest wait, SLA at risk and breached; agents by presence."""
    queues = [
        QueueRow(
            queue_id=q["id"],
            name=q["name"],
            waiting=q["waiting"],
            oldest_wait_seconds=q["oldest_wait_seconds"] if q["waiting"] else None,
            at_risk=q["at_risk"],
            breached=q["breached"],
            agents_available=q["agents_available"],
            agents_busy=q["agents_busy"],
        )
        for q in await queue_states(session, now)
    ]
    load = dict(
        (await session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(UNRESOLVED))
            .group_by(Ticket.assignee_id)
        )).all()
    )
    agents = [
        AgentRow(a.id, a.name, a.role, a.presence, a.presence_changed_at, int(load.get(a.id, 0)), call_state(a, now))
        for a in await session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name))
    ]
    counts = {p: 0 for p in PRESENCES}
    for agent in agents:
        counts[agent.presence] = counts.get(agent.presence, 0) + 1
    return Board(at=now, queues=queues, agents=agents, presence_counts=counts)


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    created: dict[str, int]  # channel -> tickets opened that day
    resolved: dict[str, int]  # channel -> tickets resolved that day


@dataclass(frozen=True, slots=True)
class Report:
    days: list[DayRow]
    channels: list[str]
    median_first_response_seconds: float | None
    responded: int


async def daily_report(session: AsyncSession, now: datetime, days: int = 14) -> Report:
    """Tickets created and resolved per day (UTC) and channel, and the median first response."""
    first_day = (now - timedelta(days=days - 1)).date()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    created = await _per_day(session, Ticket.created_at, start)
    resolved = await _per_day(session, Ticket.resolved_at, start)
    channels = sorted({c for _, c in created} | {c for _, c in resolved})
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        rows.append(
            DayRow(day, {c: created.get((day, c), 0) for c in channels}, {c: resolved.get((day, c), 0) for c in channels})
        )
    pairs = await session.execute(
        select(Ticket.created_at, Ticket.first_responded_at).where(
            Ticket.created_at >= start, Ticket.first_responded_at.is_not(None)
        )
    )
    waits = [(_aware(answered) - _aware(opened)).total_seconds() for opened, answered in pairs if answered is not None]
    return Report(rows, channels, statistics.median(waits) if waits else None, len(waits))


async def _per_day(session: AsyncSession, column: Any, start: datetime) -> dict[tuple[date, str], int]:
    day: Any
    if session.get_bind().dialect.name == "postgresql":
        # Days are UTC days, whatever the database session's time zone.
        day = cast(func.timezone("UTC", column), Date)
    else:
        day = func.date(column)  # SQLite stores naive UTC text
    result = await session.execute(
        select(day, Ticket.channel, func.count()).where(column >= start).group_by(day, Ticket.channel)
    )
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for value, channel, count in result:
        counts[(value if isinstance(value, date) else date.fromisoformat(str(value)), channel)] += count
    return counts


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
