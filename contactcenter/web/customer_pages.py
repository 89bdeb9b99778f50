"""Customers in the workspace: one record with its history, edits, merges; the duplicates to review.

Agents edit a customer's name, tier, segments and contact points and dismiss
suggestions; merging and unmerging move other people's history, so they need
a supervisor (as in the API). Every change is audited by the identity actions.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from contactcenter.db import queries
from contactcenter.db.models import Customer, MergeRecord, MergeSuggestion, Ticket, utcnow
from contactcenter.errors import ConflictError, InputError, NotFoundError
from contactcenter.identity.customers import clean_changes, do_add_contact_point, do_update_customer
from contactcenter.identity.merge import do_dismiss_suggestion, do_merge, do_unmerge
from contactcenter.identity.review import open_suggestions, sides
from contactcenter.keys import HUB
from contactcenter.web.sessions import Person, check_form, private_page, require_person, see_other

DONE = ("saved", "point", "merged", "unmerged", "dismissed")


def setup_customer_pages(app: web.Application) -> None:
    app.router.add_get("/agent/merge-suggestions", handle_suggestions)
    app.router.add_post("/agent/merge-suggestions/{id:\\d+}/merge", handle_merge)
    app.router.add_post("/agent/merge-suggestions/{id:\\d+}/dismiss", handle_dismiss)
    app.router.add_get("/agent/customers/{id:\\d+}", handle_customer)
    app.router.add_post("/agent/customers/{id:\\d+}/edit", handle_edit)
    app.router.add_post("/agent/customers/{id:\\d+}/contact-points", handle_add_point)
    app.router.add_post("/agent/merges/{id:\\d+}/undo", handle_unmerge)


async def handle_suggestions(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    async with request.app[HUB].reads() as session:
        rows = await open_suggestions(session, limit=100)
        both = await sides(session, [c for _, a, b in rows for c in (a, b)])
    done = request.query.get("done", "")
    return private_page(request, person, "agent_merge_suggestions.html", rows=rows, sides=both, done=done if done in DONE else "")


async def handle_merge(request: web.Request) -> web.Response:
    """Merge the pair of a suggestion; `keep` names the record that stays (a or b)."""
    person = await _checked(request, "supervisor")
    form = await request.post()
    async with request.app[HUB].sessions() as session, session.begin():
        suggestion = await _suggestion(session, int(request.match_info["id"]))
        a, b = suggestion.customer_a_id, suggestion.customer_b_id
        survivor, merged = (b, a) if form.get("keep") == "b" else (a, b)
        await do_merge(session, survivor, merged, person.principal.actor)
    return see_other(f"/agent/customers/{survivor}?done=merged")


async def handle_dismiss(request: web.Request) -> web.Response:
    person = await _checked(request, "agent")
    async with request.app[HUB].sessions() as session, session.begin():
        await do_dismiss_suggestion(session, int(request.match_info["id"]), person.principal.actor)
    return see_other("/agent/merge-suggestions?done=dismissed")


async def handle_unmerge(request: web.Request) -> web.Response:
    person = await _checked(request, "supervisor")
    async with request.app[HUB].sessions() as session, session.begin():
        record = await do_unmerge(session, int(request.match_info["id"]), person.principal.actor)
    return see_other(f"/agent/customers/{record.survivor_id}?done=unmerged")


async def handle_customer(request: web.Request, *, status: int = 200, error: str = "", fields: dict | None = None) -> web.Response:
    person = await require_person(request, "agent")
    customer_id = int(request.match_info["id"])
    async with request.app[HUB].reads() as session:
        customer = await queries.get_customer(session, customer_id if customer_id <= queries.MAX_ID else 0)
        rows = await open_suggestions(session, customer_id=customer.id, limit=20)
        both = await sides(session, [customer, *[c for _, a, b in rows for c in (a, b)]])
        tickets = list(await session.scalars(select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.last_activity_at.desc()).limit(50)))
        merges = list(
            await session.scalars(
                select(MergeRecord).where(MergeRecord.survivor_id == customer.id, MergeRecord.undone_at.is_(None)).order_by(MergeRecord.id.desc())
            )
        )
        merged_names = dict((await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_([m.merged_id for m in merges])))).all()) if merges else {}
    done = request.query.get("done", "")
    return private_page(
        request, person, "agent_customer.html", status=status, customer=customer, side=both[customer.id], rows=rows, sides=both,
        tickets=tickets, merges=merges, merged_names=merged_names, error=error, fields=fields or {}, now=utcnow(),
        done=done if done in DONE else "",
    )


async def handle_edit(request: web.Request) -> web.Response:
    person = await _checked(request, "agent")
    form = await request.post()
    body = {
        "name": str(form.get("name", "")),
        "company": str(form.get("company", "")),
        "tier": str(form.get("tier", "")),
        "segments": [s for s in str(form.get("segments", "")).split(",") if s.strip()],
        "notes": str(form.get("notes", "")),
    }
    try:
        changes = clean_changes(body)
        async with request.app[HUB].sessions() as session, session.begin():
            customer = await queries.get_customer(session, int(request.match_info["id"]))
            await do_update_customer(session, customer, changes, person.principal.actor)
    except InputError as exc:
        if exc.status == 404:
            raise
        return await handle_customer(request, status=exc.status, error=exc.message, fields=exc.fields)
    return see_other(f"/agent/customers/{customer.id}?done=saved")


async def handle_add_point(request: web.Request) -> web.Response:
    person = await _checked(request, "agent")
    form = await request.post()
    hub = request.app[HUB]
    try:
        async with hub.sessions() as session, session.begin():
            customer = await queries.get_customer(session, int(request.match_info["id"]))
            await do_add_contact_point(session, customer, str(form.get("kind", "")), str(form.get("value", ""))[:320], hub.settings.identity, person.principal.actor)
    except InputError as exc:
        if exc.status == 404:
            raise
        return await handle_customer(request, status=exc.status, error=exc.message)
    return see_other(f"/agent/customers/{customer.id}?done=point")


async def _checked(request: web.Request, role: str) -> Person:
    person = await require_person(request, role)
    check_form(request, await request.post())
    return person


async def _suggestion(session, suggestion_id: int) -> MergeSuggestion:
    suggestion = await session.get(MergeSuggestion, suggestion_id) if suggestion_id <= queries.MAX_ID else None
    if suggestion is None:
        raise NotFoundError(f"no merge suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise ConflictError(f"this suggestion is {suggestion.status} already", code="suggestion_closed")
    return suggestion
