"""Answering the one search box: customers by name or identifier, tickets by words.

Customers: an email address or a phone number in any written form is
normalised (identity.normalize) and looked up exactly; anything else matches
names, companies and identifiers containing it. Tickets: every word must occur
in the ticket's subject or in one of its messages (notes included: agents
search their own notes too), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import ContactPoint, Customer, Ticket
from contactcenter.identity.normalize import normalize_email, normalize_phone
from contactcenter.search.schema import INTERACTION_DOCUMENT, TICKET_DOCUMENT
from contactcenter.search.terms import fts5_query, search_words, tsquery
from contactcenter.settings import Settings

RESULT_LIMIT = 20
# Interactions looked at per search: a common word must not turn into a
# scan of a customer's whole history; the newest ones decide.
INTERACTION_SCAN = 400


@dataclass(frozen=True, slots=True)
class SearchResults:
    customers: list[Customer]
    points: dict[int, list[ContactPoint]]  # customer id -> contact points
    tickets: list[Ticket]
    customer_names: dict[int, str]  # ticket's customer id -> name


async def search(session: AsyncSession, settings: Settings, query: str, *, limit: int = RESULT_LIMIT) -> SearchResults:
    query = query.strip()[:200]
    customers = await matching_customers(session, settings, query, limit)
    tickets = await matching_tickets(session, search_words(query), limit)
    ids = [c.id for c in customers]
    points: dict[int, list[ContactPoint]] = {i: [] for i in ids}
    if ids:
        for point in await session.scalars(select(ContactPoint).where(ContactPoint.customer_id.in_(ids)).order_by(ContactPoint.id)):
            points[point.customer_id].append(point)
    owner_ids = {t.customer_id for t in tickets}
    names = dict((await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(owner_ids)))).all()) if owner_ids else {}
    return SearchResults(customers=customers, points=points, tickets=tickets, customer_names=names)


async def matching_customers(session: AsyncSession, settings: Settings, query: str, limit: int) -> list[Customer]:
    if not query:
        return []
    live = select(Customer).where(Customer.merged_into_id.is_(None))
    identifier = _identifier(settings, query)
    if identifier is not None:
        kind, value = identifier
        owners = select(ContactPoint.customer_id).where(ContactPoint.kind == kind, ContactPoint.value == value)
        return list(await session.scalars(live.where(Customer.id.in_(owners)).limit(limit)))
    pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matches = live.where(
        or_(
            func.lower(Customer.name).like(pattern, escape="\\"),
            func.lower(Customer.company).like(pattern, escape="\\"),
            Customer.id.in_(select(ContactPoint.customer_id).where(ContactPoint.value.like(pattern, escape="\\"))),
        )
    )
    return list(await session.scalars(matches.order_by(Customer.name, Customer.id).limit(limit)))


def _identifier(settings: Settings, query: str) -> tuple[str, str] | None:
    """An email address or a phone number (any written form), normalised as contact points are."""
    if "@" in query:
        value = normalize_email(query, plus_tag_domains=settings.identity.plus_tag_domains)
        return ("email", value) if value else None
    digits = sum(ch.isdigit() for ch in query)
    if digits >= 6 and not any(ch.isalpha() for ch in query.replace("ext", "").replace("x", "")):
        value = normalize_phone(query, settings.identity.default_region)
        return ("phone", value) if value else None
    return None


async def matching_tickets(session: AsyncSession, words: list[str], limit: int) -> list[Ticket]:
    if not words:
        return []
    if session.bind.dialect.name == "sqlite":
        match = fts5_query(words)
        by_message = text(
            "SELECT i.ticket_id FROM search_interactions JOIN interactions i ON i.id = search_interactions.rowid "
            "WHERE search_interactions MATCH :q AND i.ticket_id IS NOT NULL ORDER BY search_interactions.rowid DESC LIMIT :scan"
        )
        by_subject = text("SELECT rowid FROM search_tickets WHERE search_tickets MATCH :q ORDER BY rowid DESC LIMIT :limit")
    else:
        match = tsquery(words)
        # MATERIALIZED: with the words a bound parameter, PostgreSQL's generic plan
        # prefers walking the primary key backwards and computing every row's
        # tsvector (90 ms at 100,000 rows for a rare word); the CTE keeps it on the GIN index.
        by_message = text(
            f"WITH hits AS MATERIALIZED (SELECT id, ticket_id FROM interactions WHERE {INTERACTION_DOCUMENT} @@ to_tsquery('simple', :q)) "
            "SELECT ticket_id FROM hits WHERE ticket_id IS NOT NULL ORDER BY id DESC LIMIT :scan"
        )
        by_subject = text(
            f"WITH hits AS MATERIALIZED (SELECT id FROM tickets WHERE {TICKET_DOCUMENT} @@ to_tsquery('simple', :q)) "
            "SELECT id FROM hits ORDER BY id DESC LIMIT :limit"
        )
    from_messages = (await session.execute(by_message, {"q": match, "scan": INTERACTION_SCAN})).scalars().all()
    from_subjects = (await session.execute(by_subject, {"q": match, "limit": limit})).scalars().all()
    ids = list(dict.fromkeys([*from_messages, *from_subjects]))[:limit]
    if not ids:
        return []
    found = {t.id: t for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    return sorted((found[i] for i in ids if i in found), key=lambda t: (t.last_activity_at, t.id), reverse=True)
