"""Presence follows the call: on a call while an agent's leg is connected, then wrap-up, then free.

Twilio's status callbacks for the agent's leg drive it (voice/connect.py):
answered -> on call (`routing.presence.do_call_started`); completed -> the call
ends and wrap-up runs for `[voice] wrap_up_seconds` (`wrap_up_until`), during
which routing gives the agent no voice work (`routing.assignment.takes_calls_now`).
Wrap-up ends by itself when its time passes; `wake_when_wrapped_up` publishes an
event at that moment so the assigner and the supervisor board notice at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, utcnow
from contactcenter.events import Event, EventBus
from contactcenter.routing.presence import do_call_ended, do_call_started, lock_agent

ON_CALL = "on_call"
WRAP_UP = "wrap_up"


def call_state(agent: Agent, now: datetime) -> str:
    """"on_call", "wrap_up" or "" (free for calls, as far as calls go)."""
    if agent.on_call_since is not None:
        return ON_CALL
    if agent.wrap_up_until is not None and agent.wrap_up_until > now:
        return WRAP_UP
    return ""


async def do_agent_connected(session: AsyncSession, agent_id: int, leg_sid: str, now: datetime) -> list[Event]:
    agent = await lock_agent(session, agent_id)
    agent.wrap_up_until = None
    return await do_call_started(session, agent_id, call_id=leg_sid, now=now)


async def do_agent_hung_up(session: AsyncSession, agent_id: int, leg_sid: str, wrap_up_seconds: float, now: datetime) -> list[Event]:
    """The agent's leg ended: wrap-up starts (none when it is 0)."""
    events = await do_call_ended(session, agent_id, call_id=leg_sid)
    agent = await lock_agent(session, agent_id)
    agent.wrap_up_until = now + timedelta(seconds=wrap_up_seconds) if wrap_up_seconds > 0 else None
    if agent.wrap_up_until is not None:
        events.append(Event("agent.call", {"agent_id": agent_id, "on_call": False, "wrap_up_until": agent.wrap_up_until.isoformat()}))
    return events


def wake_when_wrapped_up(bus: EventBus, agent_id: int, seconds: float) -> None:
    """Publish `agent.call` in this process when the agent's wrap-up ends.

    Only a wake-up: the end itself is a time in the database, so another
    process's assigner sweep (every `assign_interval_seconds`) sees it too, and
    a timer lost in a restart loses nothing.
    """

    def fire() -> None:
        bus.publish(Event("agent.call", {"agent_id": agent_id, "on_call": False, "wrap_up_ended": utcnow().isoformat()}))

    asyncio.get_running_loop().call_later(max(0.0, seconds), fire)


def publish_after_commit(bus: EventBus, events: list[Event], agent_id: int, wrap_up_seconds: float) -> None:
    """What a leg's callback changed, told once it is committed; a wake-up when the wrap-up ends."""
    bus.publish_all(events)
    if wrap_up_seconds > 0:
        wake_when_wrapped_up(bus, agent_id, wrap_up_seconds)
