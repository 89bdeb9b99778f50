"""The JSON API for customers, tickets and their interactions (DESIGN.md §5)."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import false, func, or_, select

from contactcenter.actions import do_answer
from contactcenter.db import queries
from contactcenter.db.models import ContactPoint, Customer, Interaction, Ticket
from contactcenter.errors import InputError
from contactcenter.keys import HUB
from contactcenter.identity.normalize import is_text, normalize_email, normalize_phone
from contactcenter.surveys.summary import csat_of
from contactcenter.web.auth import require
from contactcenter.web.health import handle_health, handle_live
from contactcenter.web.openapi import handle_openapi
from contactcenter.web.params import number_field, parse_id, path_id
from contactcenter.web.serialize import customer_json, interaction_json, ticket_json

DEFAULT_PAGE = 50
MAX_PAGE = 500
TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")


def setup_api(app: web.Application) -> None:
    app.router.add_get("/healthz", handle_health)
    app.router.add_get("/healthz/live", handle_live)
    app.router.add_get("/api/v1/openapi.json", handle_openapi)
    app.router.add_get("/api/v1/customers", handle_customer_search)
    app.router.add_get("/api/v1/customers/{id}", handle_customer)
    app.router.add_get("/api/v1/customers/{id}/interactions", handle_customer_interactions)
    app.router.add_get("/api/v1/tickets", handle_ticket_list)
    app.router.add_get("/api/v1/tickets/{id}", handle_ticket)
    app.router.add_post("/api/v1/tickets/{id}/replies", handle_ticket_reply)


async def handle_customer_search(request: web.Request) -> web.Response:
    await require(request, "agent")
    hub = request.app[HUB]
    limit, after = _page(request)
    query = select(Customer).where(Customer.merged_into_id.is_(None), Customer.id > after)
    if email := _query(request, "email"):
        value = normalize_email(email, plus_tag_domains=hub.settings.identity.plus_tag_domains) or email.strip().lower()
        query = query.where(Customer.id.in_(select(ContactPoint.customer_id).where(ContactPoint.kind == "email", ContactPoint.value == value)))
    if phone := _query(request, "phone"):
        value = normalize_phone(phone, hub.settings.identity.default_region) or phone.strip()
        query = query.where(Customer.id.in_(select(ContactPoint.customer_id).where(ContactPoint.kind == "phone", ContactPoint.value == value)))
    if text := _query(request, "q").strip():
        pattern = f"%{_escape_like(text.lower())}%"
        query = query.where(
            or_(
                func.lower(Customer.name).like(pattern, escape="\\"),
                func.lower(Customer.company).like(pattern, escape="\\"),
                Customer.id.in_(select(ContactPoint.customer_id).where(ContactPoint.value.like(pattern, escape="\\"))),
            )
        )
    async with hub.reads() as session:
        customers = list(await session.scalars(query.order_by(Customer.id).limit(limit)))
        items = [customer_json(c, await queries.contact_points_of(session, c.id)) for c in customers]
    return _list_response(request, items, limit)


async def handle_customer(request: web.Request) -> web.Response:
    await require(request, "agent")
    async with request.app[HUB].reads() as session:
        customer = await queries.get_customer(session, path_id(request))
        points = await queries.contact_points_of(session, customer.id)
    return web.json_response(customer_json(customer, points))


async def handle_customer_interactions(request: web.Request) -> web.Response:
    """The customer's whole timeline across channels, oldest first."""
    await require(request, "agent")
    limit, after = _page(request)
    async with request.app[HUB].reads() as session:
        customer = await queries.get_customer(session, path_id(request))
        rows = list(
            await session.scalars(
                select(Interaction)
                .where(Interaction.customer_id == customer.id, Interaction.id > after)
                .order_by(Interaction.id)
                .limit(limit)
            )
        )
        attachments = await queries.attachments_by_interaction(session, [i.id for i in rows])
    return _list_response(request, [interaction_json(i, attachments[i.id]) for i in rows], limit)


async def handle_ticket_list(request: web.Request) -> web.Response:
    await require(request, "agent")
    limit, after = _page(request)
    query = select(Ticket).where(Ticket.id > after)
    if customer_id := _query(request, "customer_id"):
        wanted = _int(customer_id, "customer_id")
        # Beyond the largest key no customer exists; the database must not see the number.
        query = query.where(Ticket.customer_id == wanted if wanted <= queries.MAX_ID else false())
    if status := _query(request, "status"):
        statuses = status.split(",")
        if not set(statuses) <= set(TICKET_STATUSES):
            raise InputError(f"status must be among {', '.join(TICKET_STATUSES)}", fields={"status": "unknown status"})
        query = query.where(Ticket.status.in_(statuses))
    async with request.app[HUB].reads() as session:
        names = await queries.queue_names(session)
        if queue := _query(request, "queue"):
            ids = [i for i, n in names.items() if n == queue] or [parse_id(queue) or -1]
            query = query.where(Ticket.queue_id.in_(ids))
        tickets = list(await session.scalars(query.order_by(Ticket.id).limit(limit)))
        answers = await csat_of(session, [t.id for t in tickets])
    return _list_response(request, [ticket_json(t, names.get(t.queue_id or 0), answers.get(t.id)) for t in tickets], limit)


async def handle_ticket(request: web.Request) -> web.Response:
    await require(request, "agent")
    async with request.app[HUB].reads() as session:
        ticket = await queries.get_ticket(session, request.match_info["id"])
        names = await queries.queue_names(session)
        interactions = await queries.interactions_of_ticket(session, ticket.id)
        attachments = await queries.attachments_by_interaction(session, [i.id for i in interactions])
        answers = await csat_of(session, [ticket.id])
    body = ticket_json(ticket, names.get(ticket.queue_id or 0), answers.get(ticket.id))
    body["interactions"] = [interaction_json(i, attachments[i.id]) for i in interactions]
    return web.json_response(body)


async def handle_ticket_reply(request: web.Request) -> web.Response:
    principal = await require(request, "agent")
    hub = request.app[HUB]
    body = await read_json_object(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("the reply needs a non-empty 'text'", fields={"text": "required"})
    if not is_text(text):
        raise InputError("the reply contains characters that are not allowed", fields={"text": "not text"})
    if len(text) > hub.settings.web.max_message_chars:
        raise InputError(f"the reply is longer than {hub.settings.web.max_message_chars} characters", fields={"text": "too long"})
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, request.match_info["id"])
        interaction, outbox, events = await do_answer(
            session, hub.settings, ticket, text.strip(), author_agent_id=principal.agent_id
        )
    hub.bus.publish_all(events)
    return web.json_response(
        {**interaction_json(interaction), "outbox_id": outbox.id, "ticket_reference": ticket.reference}, status=201
    )


async def read_json_object(request: web.Request) -> dict:
    if request.content_type != "application/json":
        raise InputError("send application/json", code="unsupported_media_type", status=415)
    try:
        body = json.loads(await request.text(), object_pairs_hook=_refuse_duplicate_keys)
    except DuplicateKeyError as exc:
        raise InputError(f"the key {exc.key!r} appears twice in one object", code="malformed_json") from None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise InputError("the body is not valid JSON", code="malformed_json") from None
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object", code="malformed_json")
    return body


class DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key[:100]


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """RFC 8259 §4 leaves repeated names undefined; parsers disagree on which wins, so we take none."""
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        raise DuplicateKeyError(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return body


def _query(request: web.Request, name: str) -> str:
    """A query parameter, refused when it holds what no database column can (NUL, surrogates)."""
    value = request.query.get(name, "")
    if not is_text(value):
        raise InputError(f"{name} contains characters that are not allowed", fields={name: "not text"})
    return value


def _page(request: web.Request) -> tuple[int, int]:
    limit = _int(request.query.get("limit", str(DEFAULT_PAGE)), "limit")
    after = _int(request.query.get("after_id", "0"), "after_id")
    return max(1, min(limit, MAX_PAGE)), min(after, queries.MAX_ID)


def _list_response(request: web.Request, items: list[dict], limit: int) -> web.Response:
    following = None
    if len(items) == limit:
        following = str(request.rel_url.update_query({"after_id": items[-1]["id"], "limit": limit}))
    return web.json_response({"items": items, "next": following})


def _int(value: str, name: str) -> int:
    return number_field(value, name, maximum=10**18)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
