"""The supervisor's pages: the live queue board and the daily report.

The board is a plain page that refreshes itself (a `<noscript>` meta refresh);
with JavaScript it instead listens to `/supervisor/events`, which sends the
whole board again whenever something happens on the event bus, and at least
every `board_refresh_seconds` (waits grow).
"""

from __future__ import annotations

import logging

from aiohttp import web

from contactcenter.complaints.follow_ups import open_complaints
from contactcenter.db.board import Board, daily_report, queue_board
from contactcenter.db.models import utcnow
from contactcenter.events import Event
from contactcenter.i18n import gettext as _
from contactcenter.routing.presence import PRESENCES
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.web.sessions import private_page, require_person
from contactcenter.web.streams import event_stream, server_event

log = logging.getLogger(__name__)


def setup_supervisor_pages(app: web.Application) -> None:
    app.router.add_get("/supervisor", handle_board)
    app.router.add_get("/supervisor/events", handle_events)
    app.router.add_get("/supervisor/reports", handle_report)


async def handle_board(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    hub = request.app[HUB]
    board = await current_board(hub)
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


async def handle_report(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    async with request.app[HUB].reads() as session:
        report = await daily_report(session, utcnow())
    return private_page(request, person, "supervisor_report.html", report=report)


async def handle_events(request: web.Request) -> web.StreamResponse:
    await require_person(request, "supervisor")
    hub = request.app[HUB]

    async def render(_events: list[Event]) -> bytes:
        return server_event("board", (await current_board(hub)).to_json())

    return await event_stream(request, render, refresh=hub.settings.workspace.board_refresh_seconds)


async def current_board(hub: Hub) -> Board:
    async with hub.reads() as session:
        return await queue_board(session, utcnow())
