"""The open ticket page, live: new entries, delivery status, ticket changes, who else is here.

Each open page holds one event stream (`/agent/tickets/{ref}/events`). The
stream tells the page *that* something changed (`timeline`, `delivery`,
`ticket`, `viewers`, `typing`, `customer_typing` from the chat widget),
never a customer's data; the page then fetches
the entries it lacks from `/timeline`, rendered by the same template as the
page. Presence travels on the event bus like everything else, so with
PostgreSQL it crosses processes through the event bridge: a stream says
`viewer.here` when it opens (others answer with theirs), again every refresh,
and `viewer.left` when it closes; a page forgets a viewer not heard from in
three refreshes (a process that died says nothing).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

from aiohttp import web

from contactcenter.db import queries
from contactcenter.db.inbox import authors_of, timeline_page
from contactcenter.db.models import format_reference, utcnow
from contactcenter.errors import ForbiddenError
from contactcenter.events import Event
from contactcenter.keys import HUB
from contactcenter.web import csrf
from contactcenter.web.agent import email_document
from contactcenter.web.pages import render_page
from contactcenter.web.sessions import Person, require_person
from contactcenter.web.streams import event_stream, server_event

TICKET_EVENTS = frozenset({"ticket.assigned", "ticket.released", "ticket.transferred", "ticket.status_changed", "ticket.updated"})
DELIVERY_EVENTS = frozenset({"outbox.sent", "outbox.failed", "delivery.failed", "delivery.status"})
VIEWER_EVENTS = frozenset({"viewer.here", "viewer.left", "viewer.typing"})


def setup_ticket_live(app: web.Application) -> None:
    app.router.add_get("/agent/tickets/{reference}/events", handle_ticket_events)
    app.router.add_get("/agent/tickets/{reference}/timeline", handle_timeline)
    app.router.add_post("/agent/tickets/{reference}/typing", handle_typing)


@dataclass(frozen=True, slots=True)
class Watch:
    """What one open page follows."""

    stream: str  # this page's id: one agent may have the ticket open twice
    ticket_id: int
    customer_id: int
    person: Person


def choose_messages(watch: Watch, events: list[Event]) -> list[tuple[str, dict]]:
    """The page's messages for a burst of bus events (pure: which events concern this page)."""
    out: dict[str, dict] = {}
    delivered: list[int] = []
    for event in events:
        data = event.data
        if event.kind == "interaction.created" and (data.get("customer_id") == watch.customer_id or data.get("ticket_id") == watch.ticket_id):
            out["timeline"] = {}
        elif event.kind in TICKET_EVENTS and data.get("ticket_id") == watch.ticket_id:
            out["ticket"] = {}
        elif event.kind in DELIVERY_EVENTS and isinstance(data.get("interaction_id"), int):
            delivered.append(data["interaction_id"])
        elif event.kind == "viewer.typing" and data.get("ticket_id") == watch.ticket_id and data.get("agent_id") != watch.person.id:
            out["typing"] = {"name": data.get("name", ""), "agent_id": data.get("agent_id")}
        elif event.kind == "chat.typing" and data.get("ticket_id") == watch.ticket_id:
            out["customer_typing"] = {}
    if delivered:
        out["delivery"] = {"interaction_ids": sorted(set(delivered))}
    return list(out.items())


async def handle_ticket_events(request: web.Request) -> web.StreamResponse:
    person = await require_person(request, "agent")
    hub = request.app[HUB]
    async with hub.reads() as session:
        ticket = await queries.get_ticket(session, request.match_info["reference"])
    watch = Watch(stream=uuid.uuid4().hex, ticket_id=ticket.id, customer_id=ticket.customer_id, person=person)
    refresh = hub.settings.workspace.board_refresh_seconds
    loop = asyncio.get_running_loop()
    viewers: dict[str, tuple[int, str, float]] = {}  # stream -> (agent id, name, last heard)
    state = {"announced": 0.0, "sent": None}

    def announce(hello: bool) -> None:
        state["announced"] = loop.time()
        hub.bus.publish(Event("viewer.here", {"ticket_id": ticket.id, "stream": watch.stream, "agent_id": person.id, "name": person.name, "hello": hello}))

    async def render(events: list[Event]) -> bytes | None:
        now = loop.time()
        for event in events:
            data = event.data
            if event.kind not in VIEWER_EVENTS or data.get("ticket_id") != ticket.id or data.get("stream") == watch.stream:
                continue
            if event.kind == "viewer.left":
                viewers.pop(str(data.get("stream")), None)
            elif event.kind == "viewer.here":
                viewers[str(data.get("stream"))] = (int(data.get("agent_id", 0)), str(data.get("name", "")), now)
                if data.get("hello"):
                    announce(False)  # the newcomer learns we are here too
        if not state["announced"] or now - state["announced"] >= refresh:
            announce(not state["announced"])
        for stream, (_, _, heard) in list(viewers.items()):
            if now - heard > 3 * refresh:
                del viewers[stream]
        messages = choose_messages(watch, events)
        others = sorted({(name, agent_id) for agent_id, name, _ in viewers.values() if agent_id != person.id})
        names = [{"agent_id": agent_id, "name": name} for name, agent_id in others]
        if names != state["sent"]:
            state["sent"] = names
            messages.append(("viewers", {"viewers": names}))
        return b"".join(server_event(name, data) for name, data in messages) or None

    try:
        return await event_stream(request, render, refresh=refresh)
    finally:
        hub.bus.publish(Event("viewer.left", {"ticket_id": ticket.id, "stream": watch.stream, "agent_id": person.id}))


async def handle_typing(request: web.Request) -> web.Response:
    """The page says its agent is typing a reply (at most every few seconds); others show "X is replying"."""
    person = await require_person(request, "agent")
    hub = request.app[HUB]
    if csrf.check_token(hub.secret_key, request.headers.get("X-CSRF-Token", ""), request.cookies.get(csrf.COOKIE_NAME, "")) is None:
        raise ForbiddenError("This page has expired. Reload it.", code="csrf")
    async with hub.reads() as session:
        ticket = await queries.get_ticket(session, request.match_info["reference"])
    hub.bus.publish(Event("viewer.typing", {"ticket_id": ticket.id, "agent_id": person.id, "name": person.name}))
    return web.Response(status=204)


async def handle_timeline(request: web.Request) -> web.Response:
    """Timeline entries as HTML list items: `?after=ID` (newer), `?before=ID` (an older page), `?ids=1,2` (again)."""
    await require_person(request, "agent")
    query = request.query
    after, before = _id(query.get("after", "")), _id(query.get("before", ""))
    ids = [i for i in (_id(part) for part in query.get("ids", "").split(",")[:50]) if i]
    async with request.app[HUB].reads() as session:
        ticket = await queries.get_ticket(session, request.match_info["reference"])
        customer = await queries.get_customer(session, ticket.customer_id)
        items, more = await timeline_page(session, customer.id, before=before, after=after, ids=ids)
        view = SimpleNamespace(
            ticket=ticket,
            customer=customer,
            authors=await authors_of(session, items),
            attachments=await queries.attachments_by_interaction(session, [i.id for i in items]),
        )
    response = render_page(
        "agent_timeline.html", view=view, items=items, more=more and before is not None, now=utcnow(),
        email_document=email_document, reference_of=format_reference,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
