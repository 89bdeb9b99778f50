"""Changing a ticket and searching, for integrations and the workspace's scripts (DESIGN.md §6)."""

from __future__ import annotations

from aiohttp import web

from contactcenter.db import queries
from contactcenter.keys import HUB
from contactcenter.search.queries import search
from contactcenter.web.api import _query, read_json_object
from contactcenter.web.auth import require
from contactcenter.web.serialize import contact_point_json, ticket_json
from contactcenter.web.ticket_changes import apply_ticket_changes


def setup_ticket_api(app: web.Application) -> None:
    app.router.add_patch("/api/v1/tickets/{id}", handle_ticket_update)
    app.router.add_get("/api/v1/search", handle_search)


async def handle_ticket_update(request: web.Request) -> web.Response:
    """`{"status"?, "priority"?, "type"?, "queue"?, "tags"?, "resolution"?, "assignee_id"?}`; every change audited."""
    principal = await require(request, "agent")
    hub = request.app[HUB]
    body = await read_json_object(request)
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["id"])
        events = await apply_ticket_changes(session, ticket, body, principal)
        names = await queries.queue_names(session)
    hub.bus.publish_all(events)
    return web.json_response(ticket_json(ticket, names.get(ticket.queue_id or 0)))


async def handle_search(request: web.Request) -> web.Response:
    """`?q=`: customers by name or identifier (any written form), tickets by words; `{"customers", "tickets"}`."""
    await require(request, "agent")
    hub = request.app[HUB]
    async with hub.reads() as session:
        found = await search(session, hub.settings, _query(request, "q"))
        names = await queries.queue_names(session)
    customers = [
        {"id": c.id, "name": c.name, "company": c.company, "tier": c.tier, "contact_points": [contact_point_json(p) for p in found.points[c.id]]}
        for c in found.customers
    ]
    tickets = [{**ticket_json(t, names.get(t.queue_id or 0)), "customer_name": found.customer_names.get(t.customer_id, "")} for t in found.tickets]
    return web.json_response({"customers": customers, "tickets": tickets})
