"""Reads for the agent workspace: the inbox and one ticket with its customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db import queries
from contactcenter.db.models import Agent, Attachment, ContactPoint, Customer, Interaction, Ticket

ACTIVE_STATUSES = ("new", "open", "pending")
INBOX_LIMIT = 200
TIMELINE_PAGE = 50  # entries per page of the timeline; "older" fetches the next


@dataclass(frozen=True, slots=True)
class InboxRow:
    ticket: Ticket
    customer_name: str
    queue: str
    assignee: str


@dataclass(frozen=True, slots=True)
class LastContact:
    """Who last spoke with the customer, when and how: so two agents don't call one customer twice."""

    direction: str  # inbound: the customer; outbound: us
    channel: str
    at: datetime
    agent: str  # who answered ("" for the customer or an automatic message)
    ticket_id: int | None


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket: Ticket
    customer: Customer
    contact_points: list[ContactPoint]
    queue: str
    assignee: str
    timeline: list[Interaction]  # one page of the customer's timeline, across tickets and channels, oldest first
    timeline_truncated: bool  # older entries exist ("older" fetches them)
    authors: dict[int, str]  # agent id -> name
    attachments: dict[int, list[Attachment]]
    claimed_matches: list[str] = field(default_factory=list)  # identifiers matched only on a claim
    open_tickets: list[Ticket] = field(default_factory=list)  # the customer's other unfinished tickets
    last_contact: LastContact | None = None


async def inbox(
    session: AsyncSession, agent_id: int, *, statuses: Sequence[str] = ACTIVE_STATUSES, queue_id: int | None = None
) -> tuple[list[InboxRow], list[InboxRow]]:
    """(assigned to the agent, waiting unassigned in a queue); most urgent first, then oldest."""
    names = await queries.queue_names(session)
    base = (
        select(Ticket, Customer.name, Agent.name)
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .where(Ticket.status.in_(list(statuses)))
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
        .limit(INBOX_LIMIT)
    )
    if queue_id is not None:
        base = base.where(Ticket.queue_id == queue_id)

    async def rows(query) -> list[InboxRow]:
        result = await session.execute(query)
        return [InboxRow(t, customer or "", names.get(t.queue_id or 0, ""), assignee or "") for t, customer, assignee in result]

    mine = await rows(base.where(Ticket.assignee_id == agent_id))
    waiting = await rows(base.where(Ticket.assignee_id.is_(None)))
    return mine, waiting


async def timeline_page(
    session: AsyncSession, customer_id: int, *, before: int | None = None, after: int | None = None, ids: Sequence[int] = ()
) -> tuple[list[Interaction], bool]:
    """One page of the customer's timeline, oldest first, and whether older entries exist.

    `before`: the page older than that interaction; `after`: what is newer than
    it (live updates); `ids`: those entries again (a delivery status changed).
    Keyset paging on (created_at, id) uses ix_interactions_customer_created, so
    a page costs the same at 20 entries or 20,000.
    """
    query = select(Interaction).where(Interaction.customer_id == customer_id)
    if ids:
        rows = list(await session.scalars(query.where(Interaction.id.in_(list(ids)[:TIMELINE_PAGE])).order_by(Interaction.created_at, Interaction.id)))
        return rows, False
    if after is not None:
        mark = await session.get(Interaction, after) if 0 < after <= queries.MAX_ID else None
        if mark is not None:
            query = query.where(or_(Interaction.created_at > mark.created_at, and_(Interaction.created_at == mark.created_at, Interaction.id > mark.id)))
        rows = list(await session.scalars(query.order_by(Interaction.created_at, Interaction.id).limit(TIMELINE_PAGE)))
        return rows, False
    if before is not None:
        mark = await session.get(Interaction, before) if 0 < before <= queries.MAX_ID else None
        if mark is not None:
            query = query.where(or_(Interaction.created_at < mark.created_at, and_(Interaction.created_at == mark.created_at, Interaction.id < mark.id)))
    newest = list(await session.scalars(query.order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(TIMELINE_PAGE + 1)))
    return list(reversed(newest[:TIMELINE_PAGE])), len(newest) > TIMELINE_PAGE


async def authors_of(session: AsyncSession, interactions: Sequence[Interaction], *extra: int | None) -> dict[int, str]:
    ids = {i.author_agent_id for i in interactions if i.author_agent_id} | {e for e in extra if e}
    return {a.id: a.name for a in await session.scalars(select(Agent).where(Agent.id.in_(ids)))} if ids else {}


async def last_contact(session: AsyncSession, customer_id: int) -> LastContact | None:
    row = await session.scalar(
        select(Interaction)
        .where(Interaction.customer_id == customer_id, Interaction.direction.in_(("inbound", "outbound")))
        .order_by(Interaction.created_at.desc(), Interaction.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    agent = (await authors_of(session, [row])).get(row.author_agent_id or 0, "")
    return LastContact(direction=row.direction, channel=row.channel, at=row.created_at, agent=agent, ticket_id=row.ticket_id)


async def ticket_view(session: AsyncSession, reference: str, *, before: int | None = None) -> TicketView:
    ticket = await queries.get_ticket(session, reference)
    customer = await queries.get_customer(session, ticket.customer_id)
    points = await queries.contact_points_of(session, customer.id)
    names = await queries.queue_names(session)
    timeline, truncated = await timeline_page(session, customer.id, before=before)
    authors = await authors_of(session, timeline, ticket.assignee_id)
    claimed = sorted({i.matched_by for i in timeline if i.ticket_id == ticket.id and i.match_evidence == "claimed" and i.matched_by})
    others = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == customer.id, Ticket.id != ticket.id, Ticket.status.in_(ACTIVE_STATUSES))
            .order_by(Ticket.last_activity_at.desc())
            .limit(10)
        )
    )
    return TicketView(
        ticket=ticket,
        customer=customer,
        contact_points=points,
        queue=names.get(ticket.queue_id or 0, ""),
        assignee=authors.get(ticket.assignee_id or 0, ""),
        timeline=timeline,
        timeline_truncated=truncated,
        authors=authors,
        attachments=await queries.attachments_by_interaction(session, [i.id for i in timeline]),
        claimed_matches=claimed,
        open_tickets=others,
        last_contact=await last_contact(session, customer.id),
    )
