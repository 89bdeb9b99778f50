"""The supervisor's pages: the live queue board and the daily report.

The board is a plain page that refreshes itself (a `<noscript>` meta refresh);
with JavaScript it instead listens to `/supervisor/events`, a server-sent
event stream that sends the whole board again whenever something happens on
the event bus, and at least every `board_refresh_seconds` (waits grow).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import web

from contactcenter.db.board import Board, daily_report, queue_board
from contactcenter.db.models import utcnow
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.keys import HUB, STREAMS_CLOSING
from contactcenter.web.sessions import private_page, require_person

log = logging.getLogger(__name__)

# Events arriving this close together are shown as one update.
COALESCE_SECONDS = 0.25


def setup_supervisor_pages(app: web.Application) -> None:
    app[STREAMS_CLOSING] = asyncio.Event()
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/supervisor", handle_board)
    app.router.add_get("/supervisor/events", handle_events)
    app.router.add_get("/supervisor/reports", handle_report)


async def handle_board(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    hub = request.app[HUB]
    return private_page(
        request, person, "supervisor_board.html", board=await current_board(hub), refresh=int(hub.settings.workspace.board_refresh_seconds)
    )


async def handle_report(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    async with request.app[HUB].sessions() as session:
        report = await daily_report(session, utcnow())
    return private_page(request, person, "supervisor_report.html", report=report)


async def handle_events(request: web.Request) -> web.StreamResponse:
    await require_person(request, "supervisor")
    hub = request.app[HUB]
    closing = request.app[STREAMS_CLOSING]
    response = web.StreamResponse(headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    try:
        async with hub.bus.subscribe() as queue:
            await response.write(b"retry: 5000\n\n")
            while not closing.is_set():
                board = await current_board(hub)
                await response.write(server_event("board", board.to_json()))
                await _next_change(queue, closing, hub.settings.workspace.board_refresh_seconds)
    except ConnectionResetError:
        log.debug("board stream closed by the browser")
    return response


async def current_board(hub: Hub) -> Board:
    async with hub.sessions() as session:
        return await queue_board(session, utcnow())


def server_event(name: str, data: object) -> bytes:
    """One event in the text/event-stream format (HTML Living Standard §9.2)."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _next_change(queue: asyncio.Queue[Event], closing: asyncio.Event, timeout: float) -> None:
    """Return when an event arrives (plus any that follow at once), on shutdown, or after `timeout`."""
    got = asyncio.ensure_future(queue.get())
    stop = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait({got, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (got, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if got in done and not closing.is_set():
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COALESCE_SECONDS
        while loop.time() < deadline:
            try:
                await asyncio.wait_for(queue.get(), deadline - loop.time())
            except TimeoutError:
                break


async def _close_streams(app: web.Application) -> None:
    app[STREAMS_CLOSING].set()
