"""One set of rules for changing a ticket, used by `PATCH /api/v1/tickets/{id}` and the ticket page.

The body names what changes (DESIGN.md §6: status, priority, type, queue,
tags, resolution; and assignee_id). Every value is checked before anything is
written, so a bad field changes nothing. Moving a ticket to another queue or
agent is a transfer (routing.assignment.do_transfer): agents move their own
tickets or take an unassigned one, supervisors move any.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import TICKET_PRIORITIES, TICKET_STATUSES, clean_tags, do_set_status, do_update_ticket
from contactcenter.contact import TicketType
from contactcenter.db import queries
from contactcenter.db.models import Agent, Queue, Ticket
from contactcenter.errors import ForbiddenError, InputError
from contactcenter.events import Event
from contactcenter.webhooks.enqueue import enqueue_webhook_events
from contactcenter.routing.assignment import do_transfer
from contactcenter.web.auth import Principal

FIELDS = ("status", "priority", "type", "queue", "tags", "resolution", "assignee_id")
MAX_RESOLUTION_CHARS = 10_000


async def apply_ticket_changes(session: AsyncSession, ticket: Ticket, body: dict[str, Any], principal: Principal) -> list[Event]:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown fields: {', '.join(unknown)}", fields={name: "unknown field" for name in unknown})
    priority = _choice(body, "priority", TICKET_PRIORITIES)
    ticket_type = _choice(body, "type", tuple(TicketType))
    status = _choice(body, "status", TICKET_STATUSES)
    tags = clean_tags(body["tags"]) if "tags" in body else None
    resolution = body.get("resolution")
    if resolution is not None and (not isinstance(resolution, str) or len(resolution) > MAX_RESOLUTION_CHARS):
        raise InputError(f"'resolution' is text of at most {MAX_RESOLUTION_CHARS} characters", fields={"resolution": "not text"})
    queue = await _queue(session, body["queue"]) if body.get("queue") not in (None, "") else None
    agent, move_agent = await _assignee(session, body)
    events: list[Event] = []
    if queue is not None and queue.id == ticket.queue_id:
        queue = None
    if move_agent and (agent.id if agent else None) == ticket.assignee_id:
        move_agent = False
    if queue is not None or move_agent:
        _check_may_move(ticket, principal, agent if move_agent else None)
        # A new queue without a named agent puts the ticket back in line there.
        events += await do_transfer(session, ticket, queue=queue, agent=agent if move_agent else None, actor=principal.actor)
    events += do_update_ticket(session, ticket, actor=principal.actor, priority=priority, type=ticket_type, tags=tags)
    if status is not None or resolution is not None:
        events += do_set_status(session, ticket, status or ticket.status, actor=principal.actor, resolution=resolution)
    await enqueue_webhook_events(session, events)
    return events


def _choice(body: dict[str, Any], name: str, allowed: tuple) -> Any:
    if name not in body or body[name] is None:
        return None
    value = body[name]
    if isinstance(value, bool) or value not in allowed:
        raise InputError(f"'{name}' must be one of {', '.join(map(str, allowed))}", fields={name: "not allowed"})
    return str(value) if isinstance(value, str) else value


async def _queue(session: AsyncSession, key: object) -> Queue:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InputError("'queue' is a queue name or id", fields={"queue": "must be a name or id"})
    return await queries.get_queue(session, key)


async def _assignee(session: AsyncSession, body: dict[str, Any]) -> tuple[Agent | None, bool]:
    """(the agent to assign, or None to unassign; whether the body asked for a change)."""
    if "assignee_id" not in body:
        return None, False
    agent_id = body["assignee_id"]
    if agent_id is None:
        return None, True
    if not isinstance(agent_id, int) or isinstance(agent_id, bool):
        raise InputError("'assignee_id' must be a whole number or null", fields={"assignee_id": "must be a whole number"})
    agent = await session.get(Agent, agent_id) if 0 < agent_id <= queries.MAX_ID else None
    if agent is None:
        raise InputError(f"no agent {agent_id}", fields={"assignee_id": "no such agent"})
    return agent, True


def _check_may_move(ticket: Ticket, principal: Principal, agent: Agent | None) -> None:
    if principal.has_role("supervisor"):
        return
    mine = principal.agent_id is not None and ticket.assignee_id == principal.agent_id
    taking = ticket.assignee_id is None and agent is not None and agent.id == principal.agent_id
    if not (mine or taking):
        raise ForbiddenError("agents move only the tickets assigned to them, or take an unassigned one")
