"""People over HTTP (DESIGN.md §6): admins add and change agents, and read the audit log."""

from __future__ import annotations

from aiohttp import web

from contactcenter.db.audit_log import audit_events, audit_json, parse_audit_filter
from contactcenter.db.models import Agent
from contactcenter.db.queries import MAX_ID
from contactcenter.errors import NotFoundError
from contactcenter.keys import HUB
from contactcenter.people.agents import do_create_agent, do_update_agent
from contactcenter.people.fields import parse_agent_fields
from contactcenter.routing.live_state import agent_states
from contactcenter.web.api import _int, read_json_object
from contactcenter.web.auth import require

AUDIT_PAGE = 50
AUDIT_MAX_PAGE = 500


def setup_people_api(app: web.Application) -> None:
    app.router.add_post("/api/v1/agents", handle_create_agent)
    app.router.add_get("/api/v1/agents/{id:\\d+}", handle_agent)
    app.router.add_patch("/api/v1/agents/{id:\\d+}", handle_update_agent)
    app.router.add_get("/api/v1/audit", handle_audit)


async def handle_create_agent(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    fields = parse_agent_fields(await read_json_object(request), creating=True)
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        agent, events = await do_create_agent(session, fields, actor=principal.actor)
    hub.bus.publish_all(events)
    return web.json_response(await _state(request, agent), status=201)


async def handle_agent(request: web.Request) -> web.Response:
    await require(request, "admin")
    async with request.app[HUB].reads() as session:
        agent = await _get_agent(session, request)
    return web.json_response(await _state(request, agent))


async def handle_update_agent(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    fields = parse_agent_fields(await read_json_object(request), creating=False)
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        agent = await _get_agent(session, request, lock=True)
        events = await do_update_agent(session, agent, fields, actor=principal.actor)
    hub.bus.publish_all(events)
    return web.json_response(await _state(request, agent))


async def handle_audit(request: web.Request) -> web.Response:
    """Newest first; `next` is the following (older) page."""
    await require(request, "admin")
    wanted = parse_audit_filter(dict(request.query))
    limit = max(1, min(_int(request.query.get("limit", str(AUDIT_PAGE)), "limit"), AUDIT_MAX_PAGE))
    before = request.query.get("before_id")
    before_id = _int(before, "before_id") if before else None
    async with request.app[HUB].reads() as session:
        events = await audit_events(session, wanted, limit=limit, before_id=before_id)
    following = None
    if len(events) == limit:
        following = str(request.rel_url.update_query({"before_id": events[-1].id, "limit": limit}))
    return web.json_response({"items": [audit_json(e) for e in events], "next": following})


async def _get_agent(session, request: web.Request, *, lock: bool = False) -> Agent:
    agent_id = int(request.match_info["id"])
    agent = await session.get(Agent, agent_id, with_for_update=lock) if 0 < agent_id <= MAX_ID else None
    if agent is None:
        raise NotFoundError(f"no agent {request.match_info['id']}")
    return agent


async def _state(request: web.Request, agent: Agent) -> dict:
    hub = request.app[HUB]
    async with hub.reads() as session:
        (state,) = await agent_states(session, hub.settings, [agent])
    return state



