"""The search page behind the header's one box: customers and tickets together."""

from __future__ import annotations

from aiohttp import web

from contactcenter.db import queries
from contactcenter.db.models import utcnow
from contactcenter.errors import InputError
from contactcenter.identity.normalize import is_text
from contactcenter.keys import HUB
from contactcenter.search.queries import search
from contactcenter.web.sessions import private_page, require_person


def setup_search_page(app: web.Application) -> None:
    app.router.add_get("/agent/search", handle_search_page)


async def handle_search_page(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    hub = request.app[HUB]
    query = request.query.get("q", "").strip()
    if not is_text(query):
        raise InputError("the search contains characters that are not allowed")
    async with hub.reads() as session:
        found = await search(session, hub.settings, query) if query else None
        names = await queries.queue_names(session)
    return private_page(request, person, "agent_search.html", search_query=query, found=found, queues=names, now=utcnow())
