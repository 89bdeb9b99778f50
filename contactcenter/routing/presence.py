"""Agent presence: available, busy, away, offline; and "on a call".

Only an available agent gets new work. Busy and away keep what they hold;
going offline hands back the work not yet started (assigned, but no reply from
them since), so customers do not wait on someone who left. The agent row is
locked first, so a change waits for an assigner round holding that agent and
never interleaves with it.

A call in progress makes an agent busy for voice only (the voice channel calls
`do_call_started` / `do_call_ended`); other channels keep flowing per capacity.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.routing.assignment import release_unstarted
from contactcenter.db.models import Agent, utcnow
from contactcenter.errors import InputError, NotFoundError
from contactcenter.events import Event

PRESENCES = ("available", "busy", "away", "offline")


async def lock_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id, with_for_update=True, populate_existing=True)
    if agent is None:
        raise NotFoundError(f"no agent {agent_id}")
    return agent


async def do_set_presence(session: AsyncSession, agent_id: int, presence: str, *, actor: str, now: datetime | None = None) -> tuple[Agent, list[Event]]:
    if presence not in PRESENCES:
        raise InputError(f"presence must be one of {', '.join(PRESENCES)}", fields={"presence": "unknown presence"})
    agent = await lock_agent(session, agent_id)
    if agent.presence == presence:
        return agent, []
    before, agent.presence, agent.presence_changed_at = agent.presence, presence, now or utcnow()
    audit(session, actor, "agent.presence", agent, **{"from": before, "to": presence})
    events = [Event("agent.presence", {"agent_id": agent.id, "presence": presence, "previous": before})]
    if presence == "offline":
        events += await release_unstarted(session, agent, actor)
    return agent, events


async def do_call_started(session: AsyncSession, agent_id: int, *, call_id: str = "", now: datetime | None = None) -> list[Event]:
    """The voice channel says the agent is on a call: no voice work until it ends."""
    agent = await lock_agent(session, agent_id)
    agent.on_call_since = agent.on_call_since or now or utcnow()
    return [Event("agent.call", {"agent_id": agent.id, "on_call": True, "call_id": call_id})]


async def do_call_ended(session: AsyncSession, agent_id: int, *, call_id: str = "") -> list[Event]:
    agent = await lock_agent(session, agent_id)
    agent.on_call_since = None
    return [Event("agent.call", {"agent_id": agent.id, "on_call": False, "call_id": call_id})]
