"""The portal's pages: `GET /portal`, `POST /portal/sign-in`, the link, the tickets, answering, closing, signing out.

Every form carries the site's signed CSRF token; every page showing customer
data is `no-store` and sends no Referer (the link's token is in its URL).
Someone else's ticket answers 404 exactly like a ticket that does not exist.
"""

from __future__ import annotations

import logging

from aiohttp import web

from contactcenter.db.models import utcnow
from contactcenter.errors import RateLimitedError
from contactcenter.i18n import current_reader, gettext as _
from contactcenter.identity.normalize import is_text, normalize_email
from contactcenter.keys import HUB, PORTAL_RATE_LIMIT
from contactcenter.pipeline.run import ContactKeptForReplay, ingest
from contactcenter.portal.conversation import (
    MAX_NOTE_CHARS,
    close_problem,
    conversation,
    customer_tickets,
    do_close,
    get_customer_ticket,
    parse_answer,
)
from contactcenter.portal.links import do_send_link, do_use_link, find_usable_link
from contactcenter.portal.visitors import Visitor, clear_visitor_cookie, current_visitor, do_sign_out, require_visitor, set_visitor_cookie
from contactcenter.web import csrf
from contactcenter.web.pages import render_page
from contactcenter.web.ratelimit import RateLimiter
from contactcenter.web.sessions import check_form, form_token, see_other, set_csrf_cookie

log = logging.getLogger(__name__)

DONE = ("answered", "closed", "kept")
MAX_EMAIL_CHARS = 320


def setup_portal(app: web.Application) -> None:
    settings = app[HUB].settings
    if not settings.portal.enabled:
        return
    app[PORTAL_RATE_LIMIT] = RateLimiter(settings.web.rate_limit_per_minute)
    app.router.add_get("/portal", handle_portal)
    app.router.add_post("/portal/sign-in", handle_sign_in)
    app.router.add_get("/portal/link/{token}", handle_link)
    app.router.add_post("/portal/link/{token}", handle_link_post)
    app.router.add_post("/portal/sign-out", handle_sign_out)
    app.router.add_get("/portal/tickets/{reference}", handle_ticket)
    app.router.add_post("/portal/tickets/{reference}/answer", handle_answer)
    app.router.add_post("/portal/tickets/{reference}/close", handle_close)


def portal_page(request: web.Request, name: str, *, status: int = 200, **values: object) -> web.Response:
    cookies: dict[str, str] = {}
    token = form_token(request, cookies)
    response = render_page(f"portal/{name}", status=status, csrf_token=token, **values)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    set_csrf_cookie(request, response, cookies)
    return response


async def handle_portal(request: web.Request) -> web.Response:
    visitor = await current_visitor(request)
    if visitor is None:
        return portal_page(request, "sign_in.html", email="", error="")
    async with request.app[HUB].reads() as session:
        tickets = await customer_tickets(session, visitor.customer_id)
    return portal_page(request, "tickets.html", visitor=visitor, tickets=tickets)


async def handle_sign_in(request: web.Request) -> web.Response:
    """Mail a link when the address is a customer's; the answer is the same page either way."""
    hub = request.app[HUB]
    form = await request.post()
    typed = str(form.get("email", "")).strip()[:MAX_EMAIL_CHARS]
    if csrf.check_token(hub.secret_key, str(form.get("csrf_token", "")), request.cookies.get(csrf.COOKIE_NAME, "")) is None:
        return portal_page(request, "sign_in.html", status=400, email=typed, error=_("This page has expired. Please send your address again."))
    if not request.app[PORTAL_RATE_LIMIT].allow(request.remote or "unknown"):
        raise RateLimitedError(_("Too many requests from your address. Please wait a minute and try again."))
    email = normalize_email(typed) if is_text(typed) else None
    if email is None:
        return portal_page(request, "sign_in.html", status=400, email=typed, error=_("This does not look like an email address."))
    async with hub.sessions() as session, session.begin():
        events = await do_send_link(session, hub.settings, email, locale=current_reader().locale)
    hub.bus.publish_all(events)
    return portal_page(request, "link_sent.html", minutes=int(hub.settings.portal.link_minutes))


async def handle_link(request: web.Request) -> web.Response:
    """The link from the mail: only a button. Opening it spends nothing (mail scanners open every link)."""
    async with request.app[HUB].reads() as session:
        link = await find_usable_link(session, request.match_info["token"])
    if link is None:
        return portal_page(request, "link.html", status=410, usable=False)
    return portal_page(request, "link.html", usable=True, error="")


async def handle_link_post(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await request.post()
    if csrf.check_token(hub.secret_key, str(form.get("csrf_token", "")), request.cookies.get(csrf.COOKIE_NAME, "")) is None:
        return portal_page(request, "link.html", status=400, usable=True, error=_("This page has expired. Please press the button again."))
    async with hub.sessions() as session, session.begin():
        cookie = await do_use_link(session, hub.settings, request.match_info["token"])
    if cookie is None:
        return portal_page(request, "link.html", status=410, usable=False)
    response = see_other("/portal")
    set_visitor_cookie(request, response, cookie)
    return response


async def handle_sign_out(request: web.Request) -> web.Response:
    visitor = await current_visitor(request)
    check_form(request, await request.post())
    if visitor is not None:
        async with request.app[HUB].sessions() as session, session.begin():
            await do_sign_out(session, visitor.session_id)
    response = see_other("/portal")
    clear_visitor_cookie(request, response)
    return response


async def handle_ticket(request: web.Request) -> web.Response:
    visitor = await require_visitor(request)
    done = request.query.get("done", "")
    return await _ticket_page(request, visitor, done=done if done in DONE else "")


async def handle_answer(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    visitor = await require_visitor(request)
    form = await request.post()
    text = str(form.get("message", "")).strip()
    form_id = csrf.check_token(hub.secret_key, str(form.get("csrf_token", "")), request.cookies.get(csrf.COOKIE_NAME, ""))
    async with hub.reads() as session:
        ticket = await get_customer_ticket(session, visitor.customer_id, request.match_info["reference"])
    error = ""
    if form_id is None:
        error = _("This page has expired. Please send your answer again.")
    elif not text:
        error = _("Please write your answer.")
    elif len(text) > hub.settings.web.max_message_chars or not is_text(text):
        error = _("Please keep the message under {limit} characters.", limit=hub.settings.web.max_message_chars)
    if error:
        return await _ticket_page(request, visitor, status=400, answer=text[: hub.settings.web.max_message_chars], answer_error=error)
    assert form_id is not None
    contact = parse_answer(visitor, ticket, text, form_id, language=current_reader().locale)
    try:
        result = await ingest(hub, contact, raw=text.encode())
    except ContactKeptForReplay:
        return see_other(f"/portal/tickets/{ticket.reference}?done=kept")
    # A ticket closed long ago is not reopened: the answer started a new one (linked to it).
    return see_other(f"/portal/tickets/{result.reference or ticket.reference}?done=answered")


async def handle_close(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    visitor = await require_visitor(request)
    form = await request.post()
    check_form(request, form)
    note = str(form.get("note", "")).strip()
    if not is_text(note):
        note = ""
    async with hub.sessions() as session, session.begin():
        ticket = await get_customer_ticket(session, visitor.customer_id, request.match_info["reference"])
        problem = close_problem(ticket, note)
        events = [] if problem else await do_close(session, ticket, visitor, note)
    if problem:
        return await _ticket_page(request, visitor, status=422, note=note[:MAX_NOTE_CHARS], close_error=problem)
    hub.bus.publish_all(events)
    log.info("portal: customer %s closed ticket %s", visitor.customer_id, ticket.reference)
    return see_other(f"/portal/tickets/{ticket.reference}?done=closed")


async def _ticket_page(
    request: web.Request, visitor: Visitor, *, status: int = 200, done: str = "", answer: str = "", answer_error: str = "",
    note: str = "", close_error: str = "",
) -> web.Response:
    hub = request.app[HUB]
    async with hub.reads() as session:
        ticket = await get_customer_ticket(session, visitor.customer_id, request.match_info["reference"])
        messages = await conversation(session, ticket)
    return portal_page(
        request, "ticket.html", status=status, visitor=visitor, ticket=ticket, messages=messages, now=utcnow(), done=done,
        answer=answer, answer_error=answer_error, note=note, close_error=close_error, max_message=hub.settings.web.max_message_chars,
        max_note=MAX_NOTE_CHARS,
    )
