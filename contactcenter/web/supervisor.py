"""The supervisor's pages: the live queue board, its actions, and the wall screen.

The board is a plain page that refreshes itself (a `<noscript>` meta refresh);
with JavaScript it instead listens to `/supervisor/events`, which sends the
whole board again whenever something happens on the event bus, and at least
every `board_refresh_seconds` (waits grow). `?channel=sms` narrows the queue
figures to one channel. From a queue's row a supervisor opens the tickets
behind its number and moves one to another queue or gives it to an agent
(the transfer action the API uses, so the assigner and the audit log see the
same thing); an agent's presence can be set from their row. The wallboard is
the same numbers, large, without controls, for a screen on the wall.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import select

from contactcenter.complaints.follow_ups import open_complaints
from contactcenter.contact import ChannelKind
from contactcenter.db import queries
from contactcenter.db.board import Board, queue_board, waiting_tickets
from contactcenter.db.models import Agent, Queue, utcnow
from contactcenter.errors import InputError, NotFoundError
from contactcenter.events import Event
from contactcenter.i18n import gettext as _
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.routing.assignment import do_transfer
from contactcenter.routing.presence import PRESENCES, do_set_presence
from contactcenter.web.sessions import check_form, private_page, require_person, see_other
from contactcenter.web.streams import event_stream, server_event

log = logging.getLogger(__name__)

CHANNELS = tuple(c.value for c in ChannelKind)
WAITING_LIMIT = 200


def setup_supervisor_pages(app: web.Application) -> None:
    app.router.add_get("/supervisor", handle_board)
    app.router.add_get("/supervisor/wallboard", handle_wallboard)
    app.router.add_get("/supervisor/events", handle_events)
    app.router.add_get("/supervisor/queues/{id:\\d+}", handle_queue)
    app.router.add_post("/supervisor/tickets/{reference}/transfer", handle_transfer)
    app.router.add_post("/supervisor/agents/{id:\\d+}/presence", handle_presence)


def _channel(request: web.Request) -> str | None:
    channel = request.query.get("channel", "")
    if channel and channel not in CHANNELS:
        raise InputError(f"channel must be one of {', '.join(CHANNELS)}", fields={"channel": "unknown channel"})
    return channel or None


async def handle_board(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    hub = request.app[HUB]
    channel = _channel(request)
    board = await current_board(hub, channel)
    async with hub.reads() as session:
        complaints = await open_complaints(session, board.at)
    return private_page(
        request,
        person,
        "supervisor_board.html",
        board=board,
        complaints=complaints,
        board_labels=board_labels(),
        refresh=int(hub.settings.workspace.board_refresh_seconds),
        channels=CHANNELS,
        presences=PRESENCES,
        notice=request.query.get("done", ""),
    )


def board_labels() -> dict[str, object]:
    """The words the board's script writes when it redraws the board, in the reader's language."""
    return {
        "seconds": _("{seconds}s"),
        "minutes": _("{minutes}m"),
        "hours": _("{hours}h {minutes}m"),
        "days": _("{days}d {hours}h"),
        "ago": _("{duration} ago"),
        "live": _("live · updated {time}"),
        "reconnecting": _("reconnecting…"),
        "no_queues": _("No queues yet."),
        "no_agents": _("No agents yet."),
        "presences": {p: _(p) for p in PRESENCES},
        "roles": {r: _(r) for r in ("agent", "supervisor", "admin")},
        "call_states": {"on_call": _("on a call"), "wrap_up": _("wrap-up")},
    }


async def handle_wallboard(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    hub = request.app[HUB]
    channel = _channel(request)
    return private_page(
        request,
        person,
        "supervisor_wallboard.html",
        board=await current_board(hub, channel),
        board_labels=board_labels(),
        refresh=int(hub.settings.workspace.board_refresh_seconds),
    )


async def handle_events(request: web.Request) -> web.StreamResponse:
    await require_person(request, "supervisor")
    hub = request.app[HUB]
    channel = _channel(request)

    async def render(_events: list[Event]) -> bytes:
        return server_event("board", (await current_board(hub, channel)).to_json())

    return await event_stream(request, render, refresh=hub.settings.workspace.board_refresh_seconds)


async def handle_queue(request: web.Request) -> web.Response:
    """The tickets waiting in one queue, each with a way to move it."""
    person = await require_person(request, "supervisor")
    channel = _channel(request)
    queue_id = int(request.match_info["id"])
    async with request.app[HUB].reads() as session:
        queue = await session.get(Queue, queue_id) if queue_id <= queries.MAX_ID else None
        if queue is None:
            raise NotFoundError(f"no queue {queue_id}")
        tickets = await waiting_tickets(session, queue.id, channel, WAITING_LIMIT)
        queues = list(await session.scalars(select(Queue).order_by(Queue.name)))
        agents = list(await session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)))
    return private_page(
        request,
        person,
        "supervisor_queue.html",
        queue=queue,
        tickets=tickets,
        queues=queues,
        agents=agents,
        channel=channel or "",
        channels=CHANNELS,
        limit=WAITING_LIMIT,
        now=utcnow(),
        notice=request.query.get("done", ""),
        problem="",
    )


async def handle_transfer(request: web.Request) -> web.Response:
    """`target` is `queue:<id>` (back in line there) or `agent:<id>` (theirs now)."""
    person = await require_person(request, "supervisor")
    form = await request.post()
    check_form(request, form)
    kind, _, raw_id = str(form.get("target", "")).partition(":")
    if kind not in ("queue", "agent") or not (raw_id.isascii() and raw_id.isdigit()) or int(raw_id) > queries.MAX_ID:
        raise InputError("Choose a queue or an agent to move the ticket to.", fields={"target": "required"})
    hub = request.app[HUB]
    back = _back(str(form.get("back", "")))
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["reference"])
        queue = await session.get(Queue, int(raw_id)) if kind == "queue" else None
        agent = await session.get(Agent, int(raw_id)) if kind == "agent" else None
        if queue is None and agent is None:
            raise InputError(f"There is no {kind} {raw_id}.", fields={"target": "not found"})
        # A closed ticket or a deactivated agent is a ConflictError: 409 with its message.
        events = await do_transfer(session, ticket, queue=queue, agent=agent, actor=person.principal.actor, reason="supervisor")
    hub.bus.publish_all(events)
    return see_other(f"{back}{'&' if '?' in back else '?'}done=moved")


async def handle_presence(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    form = await request.post()
    check_form(request, form)
    hub = request.app[HUB]
    agent_id = int(request.match_info["id"])
    if agent_id > queries.MAX_ID:
        raise NotFoundError(f"no agent {agent_id}")
    async with hub.sessions() as session, session.begin():
        _, events = await do_set_presence(session, agent_id, str(form.get("presence", "")), actor=person.principal.actor)
    hub.bus.publish_all(events)
    return see_other(f"{_back(str(form.get('back', '')))}")


def _back(target: str) -> str:
    """Only back to a supervisor page of this site."""
    return target if target.startswith("/supervisor") and "//" not in target and "\\" not in target else "/supervisor"


async def current_board(hub: Hub, channel: str | None = None) -> Board:
    async with hub.reads() as session:
        return await queue_board(session, utcnow(), channel)
