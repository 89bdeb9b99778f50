"""Live state for supervisors: how each queue and each agent stands right now.

A handful of grouped counts per request, whatever the number of tickets, so the
wallboard can poll it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.routing.assignment import WORKING_STATUSES, agent_loads, effective_capacity, has_skills
from contactcenter.db.models import Agent, Queue, Ticket, utcnow
from contactcenter.voice.call_presence import call_state
from contactcenter.settings import Settings
from contactcenter.routing.sla import AT_RISK, BREACHED
from contactcenter.web.serialize import iso

# Unresolved tickets: the ones whose SLA standing still matters.
UNRESOLVED = ("new", "open", "pending")


async def queue_states(session: AsyncSession, now: datetime, channel: str | None = None) -> list[dict[str, Any]]:
    """Each queue's standing; with `channel`, counting only that channel's tickets."""
    queues = list(await session.scalars(select(Queue).order_by(Queue.name)))
    of_channel = [Ticket.channel == channel] if channel else []
    waiting = dict(
        (queue_id, (count, oldest))
        for queue_id, count, oldest in await session.execute(
            select(Ticket.queue_id, func.count(), func.min(Ticket.created_at))
            .where(Ticket.status.in_(WORKING_STATUSES), Ticket.assignee_id.is_(None), *of_channel)
            .group_by(Ticket.queue_id)
        )
    )
    sla: dict[int, dict[str, int]] = defaultdict(dict)
    for queue_id, state, count in await session.execute(
        select(Ticket.queue_id, Ticket.sla_state, func.count())
        .where(Ticket.status.in_(UNRESOLVED), Ticket.sla_state.in_((AT_RISK, BREACHED)), *of_channel)
        .group_by(Ticket.queue_id, Ticket.sla_state)
    ):
        sla[queue_id or 0][state] = count
    agents = list(await session.scalars(select(Agent).where(Agent.active.is_(True))))
    states = []
    for queue in queues:
        count, oldest = waiting.get(queue.id, (0, None))
        skilled = [a for a in agents if has_skills(a.skills or {}, queue.skills)]
        states.append(
            {
                "id": queue.id,
                "name": queue.name,
                "skills": queue.skills,
                "sla_policy": queue.sla_policy,
                "calendar": queue.calendar,
                "waiting": count,
                "oldest_wait_seconds": round((now - oldest).total_seconds()) if oldest else 0,
                "at_risk": sla[queue.id].get(AT_RISK, 0),
                "breached": sla[queue.id].get(BREACHED, 0),
                "agents_available": sum(a.presence == "available" for a in skilled),
                "agents_busy": sum(a.presence == "busy" for a in skilled),
            }
        )
    return states


async def agent_states(session: AsyncSession, settings: Settings, agents: list[Agent]) -> list[dict[str, Any]]:
    ids = [a.id for a in agents]
    loads = await agent_loads(session, ids)
    current: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for ticket in await session.scalars(
            select(Ticket).where(Ticket.assignee_id.in_(ids), Ticket.status.in_(UNRESOLVED)).order_by(Ticket.id)
        ):
            current[ticket.assignee_id or 0].append(
                {"id": ticket.id, "reference": ticket.reference, "channel": ticket.channel, "status": ticket.status, "priority": ticket.priority}
            )
    return [agent_json(a, settings, loads.get(a.id, {}), current[a.id]) for a in agents]


def agent_json(agent: Agent, settings: Settings, load: dict[str, int], tickets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role,
        "phone": agent.phone,
        "language": agent.language,
        "timezone": agent.timezone,
        "active": agent.active,
        "presence": agent.presence,
        "presence_changed_at": iso(agent.presence_changed_at),
        "on_call": agent.on_call_since is not None,
        "call_state": call_state(agent, utcnow()),
        "skills": agent.skills,
        "capacity": effective_capacity(agent, settings),
        "load": load,
        "tickets": tickets,
        "last_assigned_at": iso(agent.last_assigned_at),
    }
