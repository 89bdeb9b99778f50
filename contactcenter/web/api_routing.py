"""Routing over HTTP: live queues and agents, presence, transfers (DESIGN.md §5);
and the start-up sync of configured queues into the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contactcenter.routing.assignment import do_transfer
from contactcenter.db import queries
from contactcenter.db.models import Agent, utcnow
from contactcenter.errors import ForbiddenError, InputError
from contactcenter.keys import HUB
from contactcenter.routing.live_state import agent_states, queue_states
from contactcenter.pipeline.route import sync_queues
from contactcenter.routing.presence import do_set_presence
from contactcenter.web.api import read_json_object
from contactcenter.web.auth import require
from contactcenter.web.params import id_field, path_id
from contactcenter.web.serialize import ticket_json


def setup_routing(app: web.Application) -> None:
    app.router.add_get("/api/v1/queues", handle_queues)
    app.router.add_get("/api/v1/agents", handle_agents)
    app.router.add_put("/api/v1/agents/{id}/presence", handle_presence)
    app.router.add_post("/api/v1/tickets/{id}/transfer", handle_transfer)
    # After the database is ready (app.py adds that first), before any request.
    app.cleanup_ctx.append(_sync_queues)


async def handle_queues(request: web.Request) -> web.Response:
    await require(request, "agent")
    async with request.app[HUB].reads() as session:
        return web.json_response({"items": await queue_states(session, utcnow())})


async def handle_agents(request: web.Request) -> web.Response:
    await require(request, "agent")
    hub = request.app[HUB]
    async with hub.reads() as session:
        agents = list(await session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id)))
        return web.json_response({"items": await agent_states(session, hub.settings, agents)})


async def handle_presence(request: web.Request) -> web.Response:
    """An agent sets their own presence; a supervisor anyone's."""
    principal = await require(request, "agent")
    agent_id = path_id(request)
    if principal.agent_id != agent_id and not principal.has_role("supervisor"):
        raise ForbiddenError("only a supervisor may change another agent's presence")
    body = await read_json_object(request)
    presence = body.get("presence")
    if not isinstance(presence, str):
        raise InputError("send {\"presence\": \"available\"|\"busy\"|\"away\"|\"offline\"}", fields={"presence": "required"})
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        agent, events = await do_set_presence(session, agent_id, presence, actor=principal.actor)
    hub.bus.publish_all(events)
    async with hub.reads() as session:
        (state,) = await agent_states(session, hub.settings, [agent])
    return web.json_response(state)


async def handle_transfer(request: web.Request) -> web.Response:
    """`{"queue": name}` puts the ticket in line in another queue; `{"agent_id": n}`
    gives it to that agent; both do both. Agents move their own tickets,
    supervisors anyone's."""
    principal = await require(request, "agent")
    hub = request.app[HUB]
    body = await read_json_object(request)
    queue_key, agent_id = body.get("queue"), body.get("agent_id")
    if queue_key is None and agent_id is None:
        raise InputError("name a 'queue' or an 'agent_id' to transfer to", fields={"queue": "required", "agent_id": "required"})
    if queue_key is not None and (isinstance(queue_key, bool) or not isinstance(queue_key, (str, int))):
        raise InputError("'queue' is a queue name or id", fields={"queue": "must be a name or id"})
    wanted_agent = id_field(agent_id, "agent_id") if agent_id is not None else None
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["id"])
        mine = principal.agent_id is not None and ticket.assignee_id == principal.agent_id
        if not (mine or principal.has_role("supervisor")):
            raise ForbiddenError("agents transfer only the tickets assigned to them")
        queue = await queries.get_queue(session, queue_key) if queue_key is not None else None
        agent = await session.get(Agent, wanted_agent) if wanted_agent is not None else None
        if agent_id is not None and agent is None:
            raise InputError(f"no agent {agent_id}", fields={"agent_id": "no such agent"})
        events = await do_transfer(session, ticket, queue=queue, agent=agent, actor=principal.actor)
        names = await queries.queue_names(session)
    hub.bus.publish_all(events)
    return web.json_response(ticket_json(ticket, names.get(ticket.queue_id or 0)))


async def _sync_queues(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    try:
        async with hub.sessions() as session, session.begin():
            await sync_queues(session, hub.settings)
    except IntegrityError:
        # Another hub process inserted the same queue a moment ago; now it exists.
        async with hub.sessions() as session, session.begin():
            await sync_queues(session, hub.settings)
    yield
