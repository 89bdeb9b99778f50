"""Macros in the workspace: the list to manage them, and filling one in for a ticket's reply box.

Any agent keeps personal macros; shared ones are written by supervisors.
Creating and deleting are audited.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import or_, select

from contactcenter.actions import audit
from contactcenter.db import queries
from contactcenter.db.models import Macro
from contactcenter.errors import ForbiddenError, InputError, NotFoundError
from contactcenter.keys import HUB
from contactcenter.macros.render import VARIABLES, MacroValues, check_macro_body, render_macro
from contactcenter.web.sessions import Person, check_form, private_page, require_person, see_other

MAX_NAME_CHARS = 200


def setup_macro_pages(app: web.Application) -> None:
    app.router.add_get("/agent/macros", handle_macro_list)
    app.router.add_post("/agent/macros", handle_macro_create)
    app.router.add_post("/agent/macros/{id:\\d+}/delete", handle_macro_delete)
    app.router.add_get("/agent/tickets/{reference}/macros/{id:\\d+}", handle_macro_fill)


async def _visible(session, person: Person):
    return list(
        await session.scalars(select(Macro).where(or_(Macro.agent_id.is_(None), Macro.agent_id == person.id)).order_by(Macro.name, Macro.id))
    )


async def handle_macro_list(request: web.Request, *, status: int = 200, error: str = "", form: dict | None = None) -> web.Response:
    person = await require_person(request, "agent")
    async with request.app[HUB].reads() as session:
        macros = await _visible(session, person)
    return private_page(
        request, person, "agent_macros.html", status=status, macros=macros, error=error, form=form or {}, variables=VARIABLES,
        done=request.query.get("done", ""),
    )


async def handle_macro_create(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    form = await request.post()
    check_form(request, form)
    name, body = str(form.get("name", "")).strip(), str(form.get("body", ""))
    shared = form.get("shared") == "1"
    try:
        if not name or len(name) > MAX_NAME_CHARS:
            raise InputError(f"a macro needs a name of at most {MAX_NAME_CHARS} characters")
        if shared and not person.principal.has_role("supervisor"):
            raise ForbiddenError("shared macros are written by supervisors; save it as your own")
        body = check_macro_body(body)
    except InputError as exc:
        return await handle_macro_list(request, status=exc.status, error=exc.message, form={"name": name, "body": body})
    async with request.app[HUB].sessions() as session, session.begin():
        macro = Macro(name=name, body=body, agent_id=None if shared else person.id)
        session.add(macro)
        await session.flush()
        audit(session, person.principal.actor, "macro.created", macro, name=name, shared=shared)
    return see_other("/agent/macros?done=created")


async def handle_macro_delete(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    check_form(request, await request.post())
    async with request.app[HUB].sessions() as session, session.begin():
        macro = await _macro(session, person, int(request.match_info["id"]))
        if macro.agent_id is None and not person.principal.has_role("supervisor"):
            raise ForbiddenError("shared macros are deleted by supervisors")
        audit(session, person.principal.actor, "macro.deleted", macro, name=macro.name)
        await session.delete(macro)
    return see_other("/agent/macros?done=deleted")


async def handle_macro_fill(request: web.Request) -> web.Response:
    """The macro filled in for this ticket, as JSON `{"text"}` for the reply box."""
    person = await require_person(request, "agent")
    async with request.app[HUB].reads() as session:
        macro = await _macro(session, person, int(request.match_info["id"]))
        ticket = await queries.get_ticket(session, request.match_info["reference"])
        customer = await queries.get_customer(session, ticket.customer_id)
    values = MacroValues(
        customer_name=customer.name, customer_tier=customer.tier, ticket_reference=ticket.reference,
        ticket_subject=ticket.subject, agent_name=person.name,
    )
    return web.json_response({"text": render_macro(macro.body, values)}, headers={"Cache-Control": "no-store"})


async def _macro(session, person: Person, macro_id: int) -> Macro:
    macro = await session.get(Macro, macro_id) if macro_id < 2**31 else None
    if macro is None or macro.agent_id not in (None, person.id):
        raise NotFoundError(f"no macro {macro_id}")
    return macro
