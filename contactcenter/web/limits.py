"""Limits that keep hostile or broken HTTP clients from tying the hub up.

Four kinds of abuse, each cut off by one documented key of `[http]`:

- a body larger than `max_body_bytes`: 413 (aiohttp's `client_max_size`);
- headers that are too long or too many (`max_header_bytes`, `max_headers`):
  aiohttp's parser refuses them with 400 before any handler runs;
- a connection that never completes a request: headers sent a byte at a time
  ("slowloris"), or an idle keep-alive connection: closed after
  `idle_timeout` seconds (aiohttp's keep-alive timer runs from the moment the
  connection opens until a request's headers are complete);
- a body that trickles in: `body_deadline_middleware` reads it within
  `request_timeout` seconds or answers 408 and closes the connection.

Without the last two, a few hundred connections that each send one byte now
and then would hold file descriptors and handler tasks forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from contactcenter.keys import HUB
from contactcenter.settings import HttpSettings
from contactcenter.web.middlewares import Handler, error_response

log = logging.getLogger(__name__)

# After answering a request whose body we did not read (413, 408), aiohttp
# drains what the client still sends for this long, so that the client reads
# our answer instead of a reset; its default of 10 s would let a slow client
# hold the connection that much longer.
LINGERING_SECONDS = 2.0


def server_limits(http: HttpSettings) -> dict[str, Any]:
    """Keyword arguments for `web.run_app` / `web.AppRunner` that apply the limits."""
    return {
        "keepalive_timeout": http.idle_timeout,
        "max_line_size": http.max_header_bytes,
        "max_field_size": http.max_header_bytes,
        "max_headers": http.max_headers,
        "lingering_time": LINGERING_SECONDS,
    }


@web.middleware
async def body_deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Receive the whole body within `[http] request_timeout`, before the handler runs.

    aiohttp keeps the body it read, so handlers' `read()`, `json()` and
    `post()` return at once afterwards. Multipart bodies are parsed from the
    stream by `post()`, so for them the deadline covers the whole handler.
    """
    if not request.body_exists:
        return await handler(request)
    if request.content.is_eof():
        # The whole body came with the headers (most webhooks and API calls):
        # nothing left to wait for, so no timer to arm and cancel.
        return await handler(request)
    limit = request.app[HUB].settings.http.request_timeout
    try:
        if request.content_type.startswith("multipart/"):
            async with asyncio.timeout(limit):
                return await handler(request)
        async with asyncio.timeout(limit):
            await request.read()
    except TimeoutError:
        log.info("http: %s %s from %s: body not received within %ss; closing", request.method, request.path, request.remote, limit)
        response = error_response(request, 408, "request_timeout", f"the request body did not arrive within {limit:g} seconds")
        response.force_close()
        return response
    return await handler(request)
