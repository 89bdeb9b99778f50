"""The JSON API for keeping one record per customer: edits, suggestions, merges.

Agents edit a customer's value fields, add what a caller told them, and see
and dismiss merge suggestions; merging and undoing a merge move other
people's history, so they need a supervisor.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.identity.customers import clean_changes, do_add_contact_point, do_update_customer
from contactcenter.db import queries
from contactcenter.db.models import MergeRecord
from contactcenter.errors import InputError, NotFoundError
from contactcenter.keys import HUB
from contactcenter.identity.review import open_suggestions, points_by_customer
from contactcenter.identity.merge import do_dismiss_suggestion, do_merge, do_unmerge
from contactcenter.web.api import _list_response, _page, read_json_object
from contactcenter.web.auth import require
from contactcenter.web.params import id_field, parse_id, path_id
from contactcenter.web.serialize import contact_point_json, customer_json, merge_record_json, suggestion_json


def setup_customer_api(app: web.Application) -> None:
    app.router.add_patch("/api/v1/customers/{id}", handle_customer_update)
    app.router.add_post("/api/v1/customers/{id}/contact-points", handle_contact_point_add)
    app.router.add_post("/api/v1/customers/{id}/merge", handle_merge)
    app.router.add_get("/api/v1/merge-suggestions", handle_suggestion_list)
    app.router.add_post("/api/v1/merge-suggestions/{id}/dismiss", handle_suggestion_dismiss)
    app.router.add_get("/api/v1/merges/{id}", handle_merge_record)
    app.router.add_post("/api/v1/merges/{id}/undo", handle_unmerge)


async def handle_customer_update(request: web.Request) -> web.Response:
    """PATCH name, company, tier, segments, lifetime_value, notes."""
    principal = await require(request, "agent")
    changes = clean_changes(await read_json_object(request))
    async with request.app[HUB].sessions() as session, session.begin():
        customer = await queries.get_customer(session, path_id(request))
        await do_update_customer(session, customer, changes, principal.actor)
        points = await queries.contact_points_of(session, customer.id)
    return web.json_response(customer_json(customer, points))


async def handle_contact_point_add(request: web.Request) -> web.Response:
    principal = await require(request, "agent")
    hub = request.app[HUB]
    body = await read_json_object(request)
    kind, value = body.get("kind"), body.get("value")
    if not isinstance(kind, str) or not isinstance(value, str) or not value.strip():
        raise InputError("send {'kind': 'email'|'phone', 'value': ...}", fields={"value": "required"})
    async with hub.sessions() as session, session.begin():
        customer = await queries.get_customer(session, path_id(request))
        point = await do_add_contact_point(session, customer, kind, value, hub.settings.identity, principal.actor)
    return web.json_response(contact_point_json(point), status=201)


async def handle_merge(request: web.Request) -> web.Response:
    """Body {"from_customer_id": N}: N's history moves to this customer."""
    principal = await require(request, "supervisor")
    body = await read_json_object(request)
    from_id = id_field(body.get("from_customer_id"), "from_customer_id")
    if from_id is None:
        raise NotFoundError(f"no customer {body['from_customer_id']}")
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        record = await do_merge(session, path_id(request), from_id, principal.actor)
    return web.json_response(merge_record_json(record), status=201)


async def handle_unmerge(request: web.Request) -> web.Response:
    principal = await require(request, "supervisor")
    async with request.app[HUB].sessions() as session, session.begin():
        record = await do_unmerge(session, path_id(request), principal.actor)
    return web.json_response(merge_record_json(record))


async def handle_merge_record(request: web.Request) -> web.Response:
    await require(request, "agent")
    async with request.app[HUB].reads() as session:
        record = await session.get(MergeRecord, path_id(request))
    if record is None:
        raise NotFoundError(f"no merge {request.match_info['id']}")
    return web.json_response(merge_record_json(record))


async def handle_suggestion_list(request: web.Request) -> web.Response:
    """Open suggestions between two records that both still exist unmerged."""
    await require(request, "agent")
    limit, after = _page(request)
    customer_id = None
    if raw := request.query.get("customer_id"):
        if not (raw.isascii() and raw.isdigit()):
            raise InputError("customer_id must be a whole number", fields={"customer_id": "must be a whole number"})
        customer_id = parse_id(raw) or -1  # beyond every key: names no customer
    async with request.app[HUB].reads() as session:
        rows = await open_suggestions(session, customer_id=customer_id, after=after, limit=limit)
        points = await points_by_customer(session, {c.id for _, ca, cb in rows for c in (ca, cb)})
    items = [
        suggestion_json(s, customer_json(ca, points[ca.id]), customer_json(cb, points[cb.id])) for s, ca, cb in rows
    ]
    return _list_response(request, items, limit)


async def handle_suggestion_dismiss(request: web.Request) -> web.Response:
    principal = await require(request, "agent")
    async with request.app[HUB].sessions() as session, session.begin():
        suggestion = await do_dismiss_suggestion(session, path_id(request), principal.actor)
    return web.json_response(suggestion_json(suggestion))
