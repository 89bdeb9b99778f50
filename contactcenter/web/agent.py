"""The agent's pages: the inbox, one ticket with its customer, and the forms that work it.

Everything works without JavaScript: forms post, then redirect back (303) with
a short notice, or show the page again with the error and the typed text kept.
With JavaScript the pages follow the hub live (web/ticket_live.py).
Email HTML is treated as hostile even though the email channel sanitised it:
the page shows the text, and the HTML only inside a sandboxed frame.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from sqlalchemy import or_, select

from contactcenter.actions import TICKET_STATUSES, customer_locale, do_add_note, do_answer, reply_target
from contactcenter.complaints.follow_ups import do_finish_follow_up, due_follow_ups
from contactcenter.contact import TicketType
from contactcenter.outbound.messages import render_message
from contactcenter.db import queries
from contactcenter.db.inbox import ACTIVE_STATUSES, INBOX_LIMIT, inbox, ticket_view
from contactcenter.db.models import Agent, Macro, format_reference, utcnow
from contactcenter.errors import ConflictError, InputError
from contactcenter.events import Event
from contactcenter.i18n import N_, gettext as _
from contactcenter.keys import HUB
from contactcenter.routing.presence import do_set_presence
from contactcenter.voice.panel import call_panel
from contactcenter.web.sessions import (
    Person,
    check_form,
    private_page,
    require_person,
    safe_next,
    see_other,
)
from contactcenter.web.streams import event_stream, server_event
from contactcenter.web.ticket_changes import apply_ticket_changes

log = logging.getLogger(__name__)

STATUS_FILTERS = ("active", *TICKET_STATUSES, "all")
NOTICES = {
    "reply": N_("Reply queued; it is on its way to the customer."),
    "note": N_("Internal note added."),
    "status": N_("Status changed."),
    "updated": N_("Ticket updated."),
    "follow_up": N_("Follow-up done."),
    "chat_ended": N_("The chat has ended; the customer's widget says so."),
}
# Events that can change what an inbox shows; the stream names only the kinds,
# never a customer's data, and the page fetches itself again.
INBOX_EVENTS = frozenset(
    {"ticket.created", "ticket.assigned", "ticket.released", "ticket.transferred", "ticket.status_changed",
     "ticket.updated", "interaction.created", "sla.at_risk", "sla.breached"}
)
# The frame's own policy: no scripts, nothing fetched from anywhere (remote
# images are how senders learn that a mail was opened), inline styles only.
EMAIL_FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"


def setup_agent_pages(app: web.Application) -> None:
    app.router.add_get("/agent", handle_inbox)
    app.router.add_get("/agent/events", handle_inbox_events)
    app.router.add_get("/agent/tickets/{reference}", handle_ticket)
    app.router.add_post("/agent/tickets/{reference}/reply", handle_reply)
    app.router.add_post("/agent/tickets/{reference}/note", handle_note)
    app.router.add_post("/agent/tickets/{reference}/chat/end", handle_end_chat)
    app.router.add_post("/agent/tickets/{reference}/status", handle_status)
    app.router.add_post("/agent/tickets/{reference}/update", handle_update)
    app.router.add_post("/agent/presence", handle_presence)
    app.router.add_post("/agent/follow-ups/{id:\\d+}", handle_follow_up)


async def handle_inbox(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    status = request.query.get("status", "active")
    if status not in STATUS_FILTERS:
        raise InputError(f"status must be one of {', '.join(STATUS_FILTERS)}")
    statuses = {"active": ACTIVE_STATUSES, "all": TICKET_STATUSES}.get(status, (status,))
    queue = request.query.get("queue", "")
    async with request.app[HUB].reads() as session:
        names = await queries.queue_names(session)
        queue_id = next((i for i, n in names.items() if n == queue), -1) if queue else None
        mine, waiting = await inbox(session, person.id, statuses=statuses, queue_id=queue_id)
        now = utcnow()
        follow_ups = await due_follow_ups(session, person.id, now, request.app[HUB].settings.complaints.follow_up_days)
    return private_page(
        request,
        person,
        "agent_inbox.html",
        mine=mine,
        waiting=waiting,
        status_filter=status,
        statuses=STATUS_FILTERS,
        queue=queue,
        queues=sorted(names.values()),
        limit=INBOX_LIMIT,
        query=request.query_string,
        now=now,
        follow_ups=follow_ups,
        notice=_(NOTICES[request.query["done"]]) if request.query.get("done") in NOTICES else "",
    )


async def handle_inbox_events(request: web.Request) -> web.StreamResponse:
    await require_person(request, "agent")

    async def render(events: list[Event]) -> bytes | None:
        kinds = sorted({e.kind for e in events} & INBOX_EVENTS)
        return server_event("changed", {"kinds": kinds}) if kinds else None

    return await event_stream(request, render, refresh=request.app[HUB].settings.workspace.board_refresh_seconds)


async def handle_ticket(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    done = request.query.get("done", "")
    return await _ticket_page(request, person, notice=_(NOTICES[done]) if done in NOTICES else "", template=request.query.get("template", ""))


async def handle_reply(request: web.Request) -> web.Response:
    person, form = await _posted_form(request)
    hub = request.app[HUB]
    text = str(form.get("text", "")).strip()
    if problem := _text_problem(text, hub.settings.web.max_message_chars):
        return await _ticket_page(request, person, status=400, reply_error=problem, reply_text=text)
    kind, _, value = str(form.get("reply_to", "")).partition(":")
    try:
        async with hub.sessions() as session, session.begin():
            ticket = await queries.get_ticket(session, request.match_info["reference"])
            target = None
            if value:
                points = await queries.contact_points_of(session, ticket.customer_id)
                if not any(p.kind == kind and p.value == value for p in points):
                    return await _ticket_page(request, person, status=400, reply_error="bad_target", reply_text=text)
                target = (kind, value)
            _, _, events = await do_answer(session, hub.settings, ticket, text, author_agent_id=person.id, target=target)
    except ConflictError as exc:
        error = exc.code if exc.code in ("opted_out", "no_reply_address") else exc.message
        return await _ticket_page(request, person, status=409, reply_error=error, reply_text=text)
    hub.bus.publish_all(events)
    return see_other(f"/agent/tickets/{ticket.reference}?done=reply#timeline-end")


async def handle_note(request: web.Request) -> web.Response:
    person, form = await _posted_form(request)
    hub = request.app[HUB]
    text = str(form.get("text", "")).strip()
    if problem := _text_problem(text, hub.settings.web.max_message_chars):
        return await _ticket_page(request, person, status=400, note_error=problem, note_text=text)
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["reference"])
        _, events = do_add_note(session, ticket, text, author_agent_id=person.id)
    hub.bus.publish_all(events)
    return see_other(f"/agent/tickets/{ticket.reference}?done=note#timeline-end")


async def handle_end_chat(request: web.Request) -> web.Response:
    """The agent ends a live chat: the widget is told, the timeline keeps where it ended, a survey may be offered."""
    from contactcenter.chat.ending import do_end_chat
    from contactcenter.chat.sockets import CHAT_SOCKETS

    person, _form = await _posted_form(request)
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["reference"])
        if ticket.channel != "chat":
            raise InputError("This ticket is not a chat.")
        ended = await do_end_chat(
            session, hub.settings, ticket, by="agent", actor=person.principal.actor, agent_id=person.id,
            widget_open=bool(request.app[CHAT_SOCKETS].open_on(ticket.reference)) if CHAT_SOCKETS in request.app else False,
        )
    if ended is not None:
        hub.bus.publish_all(list(ended.events))
    return see_other(f"/agent/tickets/{ticket.reference}?done=chat_ended#timeline-end")


async def handle_status(request: web.Request) -> web.Response:
    person, form = await _posted_form(request)
    status = str(form.get("status", ""))
    resolution = str(form.get("resolution", "")).strip()
    if status not in TICKET_STATUSES or status == "new":
        return await _ticket_page(request, person, status=400, status_error="status")
    body: dict[str, object] = {"status": status}
    if "resolution" in form:
        body["resolution"] = str(form["resolution"])
    return await _change(request, person, body, done="status")


async def handle_update(request: web.Request) -> web.Response:
    """Priority, type, queue, assignee (a transfer) and tags from the ticket's settings form."""
    person, form = await _posted_form(request)
    body: dict[str, object] = {}
    if str(form.get("priority", "")).isdigit():
        body["priority"] = int(str(form["priority"]))
    for name in ("type", "queue"):
        if form.get(name):
            body[name] = str(form[name])
    if "assignee_id" in form:
        raw = str(form["assignee_id"])
        body["assignee_id"] = int(raw) if raw.isdigit() and len(raw) < 10 else None
    if "tags" in form:
        body["tags"] = [t for t in str(form["tags"]).split(",")]
    return await _change(request, person, body, done="updated")


async def _change(request: web.Request, person: Person, body: dict[str, object], *, done: str) -> web.Response:
    hub = request.app[HUB]
    try:
        async with hub.sessions() as session, session.begin():
            ticket = await queries.get_ticket(session, request.match_info["reference"])
            events = await apply_ticket_changes(session, ticket, body, person.principal)
    except InputError as exc:
        if exc.status == 404:
            raise
        if exc.code == "resolution_required":
            resolution = body.get("resolution")
            return await _ticket_page(
                request, person, status=422, status_error="resolution_required", resolution_text=resolution if isinstance(resolution, str) else ""
            )
        return await _ticket_page(request, person, status=exc.status, update_error=exc.message)
    hub.bus.publish_all(events)
    return see_other(f"/agent/tickets/{ticket.reference}?done={done}")


async def handle_presence(request: web.Request) -> web.Response:
    """The agent says whether they can take work; routing gives work only to the available."""
    person, form = await _posted_form(request)
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        _, events = await do_set_presence(session, person.id, str(form.get("presence", "")), actor=person.principal.actor)
    hub.bus.publish_all(events)
    return see_other(safe_next(str(form.get("next", "/agent"))))


async def handle_follow_up(request: web.Request) -> web.Response:
    """The agent asked the customer whether the fix of their complaint held."""
    person, form = await _posted_form(request)
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        events = await do_finish_follow_up(
            session, int(request.match_info["id"]), str(form.get("outcome", "")), agent_id=person.id, actor=person.principal.actor, now=utcnow()
        )
    hub.bus.publish_all(events)
    return see_other("/agent?done=follow_up")


async def _posted_form(request: web.Request) -> tuple[Person, MultiDictProxy[str | bytes | bytearray | FileField]]:
    """The signed-in agent and their form, once its CSRF token checks out."""
    person = await require_person(request, "agent")
    form = await request.post()
    check_form(request, form)
    return person, form


def _text_problem(text: str, limit: int) -> str:
    if not text:
        return "empty"
    if len(text) > limit:
        return "long"
    return ""


async def _ticket_page(
    request: web.Request, person: Person, *, status: int = 200, template: str = "", **values: object
) -> web.Response:
    hub = request.app[HUB]
    before = request.query.get("before", "")
    async with hub.reads() as session:
        view = await ticket_view(session, request.match_info["reference"], before=int(before) if before.isdigit() and len(before) < 10 else None)
        queues = sorted((await queries.queue_names(session)).items(), key=lambda q: q[1])
        agents = (await session.execute(select(Agent.id, Agent.name).where(Agent.active.is_(True)).order_by(Agent.name))).all()
        macros = list(
            await session.scalars(
                select(Macro).where(or_(Macro.agent_id.is_(None), Macro.agent_id == person.id)).order_by(Macro.name, Macro.id)
            )
        )
        default_kind, default_value = await reply_target(session, view.ticket)
        calls = await call_panel(
            session, hub, view.ticket, view.timeline, notice=request.query.get("call", ""), error=request.query.get("call_error", "")
        )
    targets = [(p.kind, p.value) for p in view.contact_points if not (p.kind == "phone" and p.opted_out)]
    if template == "apology" and not values.get("reply_text"):
        # A complaint's first answer may start from the apology, in the customer's language.
        values["reply_text"], _html = render_message(
            "apology", locale=customer_locale(hub.settings, view.customer.language), name=view.customer.name, reference=view.ticket.reference
        )
    defaults = {
        "notice": "", "reply_error": "", "reply_text": "", "note_error": "", "note_text": "", "status_error": "", "update_error": "",
        "resolution_text": "",
    }
    return private_page(
        request,
        person,
        "agent_ticket.html",
        status=status,
        view=view,
        now=utcnow(),
        statuses=TICKET_STATUSES[1:],
        ticket_types=tuple(TicketType),
        queues=queues,
        agents=agents,
        macros=macros,
        reply_targets=targets,
        reply_default=(default_kind, default_value),
        max_chars=hub.settings.web.max_message_chars,
        email_document=email_document,
        reference_of=format_reference,
        call_panel=calls,
        **{**defaults, **values},
    )


def email_document(body_html: str) -> str:
    """The srcdoc of the sandboxed frame that shows an email's HTML.

    The frame has `sandbox` with no allowances (no scripts, no same origin,
    no forms, no popups, no top navigation) and its own CSP; the value is
    attribute-escaped by the template, so it cannot close the attribute.
    """
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{EMAIL_FRAME_CSP}\">"
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:8px;color:#1d2330;word-wrap:break-word}"
        "img{max-width:100%}</style></head><body>"
        f"{body_html}</body></html>"
    )
