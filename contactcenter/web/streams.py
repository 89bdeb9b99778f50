"""Server-sent event streams for live pages, fed from the hub's event bus.

A stream answers with `text/event-stream` (HTML Living Standard §9.2) and
asks its page's `render` for what to send: at once, after each burst of bus
events (events arriving within COALESCE_SECONDS count as one), and after
`refresh` quiet seconds. `render` returns None when there is nothing to say;
the stream then sends a comment, which also notices a browser that left.
Streams end when the hub shuts down, so they never hold up a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from contactcenter.events import Event
from contactcenter.keys import HUB, STREAMS_CLOSING

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.25
Render = Callable[[list[Event]], Awaitable[bytes | None]]


def setup_streams(app: web.Application) -> None:
    app[STREAMS_CLOSING] = asyncio.Event()
    app.on_shutdown.append(_close_streams)


async def event_stream(request: web.Request, render: Render, *, refresh: float) -> web.StreamResponse:
    hub = request.app[HUB]
    closing = request.app[STREAMS_CLOSING]
    response = web.StreamResponse(headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    try:
        async with hub.bus.subscribe() as queue:
            await response.write(b"retry: 5000\n\n")
            events: list[Event] = []
            while not closing.is_set():
                await response.write(await render(events) or b": idle\n\n")
                events = await _next_events(queue, closing, refresh)
    except ConnectionResetError:
        log.debug("event stream %s closed by the browser", request.path)
    return response


def server_event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _next_events(queue: asyncio.Queue[Event], closing: asyncio.Event, timeout: float) -> list[Event]:
    """The next burst of events; [] after `timeout` quiet seconds or on shutdown."""
    got = asyncio.ensure_future(queue.get())
    stop = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait({got, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (got, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if got not in done or closing.is_set():
        return []
    events = [got.result()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COALESCE_SECONDS
    while (left := deadline - loop.time()) > 0:
        try:
            events.append(await asyncio.wait_for(queue.get(), left))
        except TimeoutError:
            break
    return events


async def _close_streams(app: web.Application) -> None:
    app[STREAMS_CLOSING].set()
