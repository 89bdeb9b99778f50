"""Where a call reaches an agent: their browser softphone while it is open, else their phone.

The softphone (templates/static/softphone.js, Twilio's Voice JavaScript SDK)
registers with Twilio as the client identity `agent-<id>` and tells the hub it
is alive every HEARTBEAT_SECONDS; a softphone not heard from for
SOFTPHONE_FRESH_SECONDS counts as closed (a closed laptop sends no goodbye).
An agent with neither an open softphone nor a phone number cannot take calls,
so routing gives them no voice work (`routing.assignment.takes_calls_now`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contactcenter.db.models import Agent

HEARTBEAT_SECONDS = 60
SOFTPHONE_FRESH_SECONDS = 150
CLIENT_PREFIX = "client:"


def softphone_identity(agent_id: int) -> str:
    """The Twilio Client identity of an agent's softphone (DESIGN.md §6)."""
    return f"agent-{agent_id}"


def softphone_is_open(agent: Agent, now: datetime) -> bool:
    seen = agent.softphone_seen_at
    return seen is not None and now - seen < timedelta(seconds=SOFTPHONE_FRESH_SECONDS)


def is_reachable(agent: Agent, now: datetime) -> bool:
    return bool(agent.phone) or softphone_is_open(agent, now)


def choose_destination(agent: Agent, now: datetime) -> str | None:
    """The `To` of a call to the agent: `client:agent-<id>` or their E.164 number; None: unreachable."""
    if softphone_is_open(agent, now):
        return CLIENT_PREFIX + softphone_identity(agent.id)
    return agent.phone or None
