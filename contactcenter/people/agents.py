"""Adding and changing people: every change audited, deactivation hands work back.

`do_create_agent` and `do_update_agent` take fields already cleaned by
`fields.parse_agent_fields` and work inside the caller's transaction, like the
other `do_*` actions. The audit event names each changed field with its old
and new value (a password only as "changed"), so the audit page answers "who
gave Ada the refunds skill, and when".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db.models import Agent, Ticket, utcnow
from contactcenter.errors import ConflictError
from contactcenter.events import Event
from contactcenter.routing.live_state import UNRESOLVED
from contactcenter.web.auth import hash_password

SECRET_FIELDS = ("password",)


async def do_create_agent(session: AsyncSession, fields: dict[str, Any], *, actor: str) -> tuple[Agent, list[Event]]:
    await _refuse_taken_email(session, fields["email"])
    values = {k: v for k, v in fields.items() if k not in SECRET_FIELDS}
    agent = Agent(**{"role": "agent", **values})
    if "password" in fields:
        agent.password_hash = await hash_password(fields["password"])
    session.add(agent)
    await session.flush()
    audit(session, actor, "agent.created", agent, **{k: v for k, v in values.items()}, password="set" if "password" in fields else "none")
    return agent, [Event("agent.changed", {"agent_id": agent.id})]


async def do_update_agent(session: AsyncSession, agent: Agent, fields: dict[str, Any], *, actor: str) -> list[Event]:
    """Apply the changed fields; deactivating also hands their open tickets back to their queues."""
    if "email" in fields and fields["email"] != agent.email:
        await _refuse_taken_email(session, fields["email"])
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "password":
            agent.password_hash = await hash_password(value)  # ends their sessions (sessions.py)
            changes["password"] = "changed"
            continue
        before = getattr(agent, key)
        if before != value:
            changes[key] = {"from": before, "to": value}
            setattr(agent, key, value)
    if not changes:
        return []
    events = [Event("agent.changed", {"agent_id": agent.id})]
    if changes.get("active", {}).get("to") is False:
        agent.presence, agent.presence_changed_at = "offline", utcnow()
        events += await release_all(session, agent, actor)
        changes["released_tickets"] = [e.data["ticket_id"] for e in events if e.kind == "ticket.released"]
    audit(session, actor, "agent.updated", agent, **changes)
    return events


async def release_all(session: AsyncSession, agent: Agent, actor: str) -> list[Event]:
    """Every unresolved ticket the agent holds goes back in line in its queue."""
    tickets = list(
        await session.scalars(select(Ticket).where(Ticket.assignee_id == agent.id, Ticket.status.in_(UNRESOLVED)).with_for_update())
    )
    events = []
    for ticket in tickets:
        # Pending work stays pending: the customer's answer reopens it, unassigned, for routing.
        ticket.assignee_id = ticket.assigned_at = None
        audit(session, actor, "ticket.released", ticket, agent_id=agent.id, reason="agent deactivated")
        events.append(Event("ticket.released", {"ticket_id": ticket.id, "agent_id": agent.id, "queue_id": ticket.queue_id}))
    return events


async def _refuse_taken_email(session: AsyncSession, email: str) -> None:
    if await session.scalar(select(func.count()).select_from(Agent).where(Agent.email == email)):
        raise ConflictError(f"a person with {email} exists already", code="email_taken")
