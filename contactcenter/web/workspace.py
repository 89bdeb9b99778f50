"""Wiring for the browser workspace: sign-in, agent pages, supervisor pages, their script."""

from __future__ import annotations

from aiohttp import web

from contactcenter.settings import TEMPLATES_DIR
from contactcenter.web.admin import setup_admin_pages
from contactcenter.web.agent import setup_agent_pages
from contactcenter.web.attachments import setup_attachments
from contactcenter.web.customer_pages import setup_customer_pages
from contactcenter.web.login import setup_login
from contactcenter.web.macro_pages import setup_macro_pages
from contactcenter.web.pages import SECURITY_HEADERS
from contactcenter.web.sessions import current_person, see_other
from contactcenter.web.search_page import setup_search_page
from contactcenter.web.signins import setup_signins
from contactcenter.web.streams import setup_streams
from contactcenter.web.ticket_live import setup_ticket_live
from contactcenter.web.supervisor import setup_supervisor_pages

SCRIPT = TEMPLATES_DIR / "static" / "workspace.js"


def setup_workspace(app: web.Application) -> None:
    setup_streams(app)
    setup_login(app)
    setup_signins(app)
    setup_agent_pages(app)
    setup_ticket_live(app)
    setup_macro_pages(app)
    setup_attachments(app)
    setup_customer_pages(app)
    setup_search_page(app)
    setup_supervisor_pages(app)
    setup_admin_pages(app)
    app.router.add_get("/static/workspace.js", handle_script)
    app.router.add_get("/", handle_root)


async def handle_script(request: web.Request) -> web.Response:
    # Read per request: small, and a deploy that changes it needs no restart.
    return web.Response(
        body=SCRIPT.read_bytes(),
        content_type="text/javascript",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


async def handle_root(request: web.Request) -> web.Response:
    """People land on their workspace; everyone else on the contact form."""
    person = await current_person(request)
    if person is None:
        return see_other("/contact")
    return see_other("/supervisor" if person.principal.has_role("supervisor") else "/agent")
