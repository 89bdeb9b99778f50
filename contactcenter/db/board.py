"""Numbers for the supervisor's board: the live queue board and the tickets behind it.

`queue_board` is the one place the board's numbers come from. Its queue rows
are the routing module's live state (`live_state.queue_states`, the same
numbers as GET /api/v1/queues), so the board and the API never disagree.
Reports (figures over a date range) live in contactcenter/reports/.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, Customer, Ticket
from contactcenter.routing.assignment import WORKING_STATUSES
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
    channel: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "queues": [asdict(q) for q in self.queues],
            "agents": [{**asdict(a), "presence_since": a.presence_since.isoformat()} for a in self.agents],
            "presence_counts": self.presence_counts,
            "channel": self.channel,
        }


async def queue_board(session: AsyncSession, now: datetime, channel: str | None = None) -> Board:
    """Per queue: waiting tickets, the oldest wait, SLA at risk and breached; agents by presence.

    With `channel`, the queue figures count that channel's tickets only."""
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
        for q in await queue_states(session, now, channel)
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
    return Board(at=now, queues=queues, agents=agents, presence_counts=counts, channel=channel or "")


@dataclass(frozen=True, slots=True)
class WaitingRow:
    id: int
    reference: str
    subject: str
    customer: str
    channel: str
    priority: int
    created_at: datetime
    sla_state: str


async def waiting_tickets(session: AsyncSession, queue_id: int, channel: str | None, limit: int) -> list[WaitingRow]:
    """The tickets behind a queue's "waiting" number, in the order the assigner takes them."""
    query = (
        select(Ticket, Customer.name)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.queue_id == queue_id, Ticket.status.in_(WORKING_STATUSES), Ticket.assignee_id.is_(None))
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
        .limit(limit)
    )
    if channel:
        query = query.where(Ticket.channel == channel)
    return [
        WaitingRow(t.id, t.reference, t.subject, name or "", t.channel, t.priority, t.created_at, t.sla_state)
        for t, name in await session.execute(query)
    ]
