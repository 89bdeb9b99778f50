"""Reads for the agent workspace: the inbox and one ticket with its customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db import queries
from contactcenter.db.models import Agent, Attachment, ContactPoint, Customer, Interaction, Ticket

ACTIVE_STATUSES = ("new", "open", "pending")
INBOX_LIMIT = 200
TIMELINE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class InboxRow:
    ticket: Ticket
    customer_name: str
    queue: str
    assignee: str


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket: Ticket
    customer: Customer
    contact_points: list[ContactPoint]
    queue: str
    assignee: str
    timeline: list[Interaction]  # the customer's, across tickets and channels, oldest first
    timeline_truncated: bool
    authors: dict[int, str]  # agent id -> name
    attachments: dict[int, list[Attachment]]
    claimed_matches: list[str] = field(default_factory=list)  # identifiers matched only on a claim


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


async def ticket_view(session: AsyncSession, reference: str) -> TicketView:
    ticket = await queries.get_ticket(session, reference)
    customer = await queries.get_customer(session, ticket.customer_id)
    points = await queries.contact_points_of(session, customer.id)
    names = await queries.queue_names(session)
    newest = list(
        await session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer.id)
            .order_by(Interaction.created_at.desc(), Interaction.id.desc())
            .limit(TIMELINE_LIMIT + 1)
        )
    )
    timeline = list(reversed(newest[:TIMELINE_LIMIT]))
    author_ids = {i.author_agent_id for i in timeline if i.author_agent_id} | ({ticket.assignee_id} if ticket.assignee_id else set())
    authors = {a.id: a.name for a in await session.scalars(select(Agent).where(Agent.id.in_(author_ids)))} if author_ids else {}
    claimed = sorted({i.matched_by for i in timeline if i.ticket_id == ticket.id and i.match_evidence == "claimed" and i.matched_by})
    return TicketView(
        ticket=ticket,
        customer=customer,
        contact_points=points,
        queue=names.get(ticket.queue_id or 0, ""),
        assignee=authors.get(ticket.assignee_id or 0, ""),
        timeline=timeline,
        timeline_truncated=len(newest) > TIMELINE_LIMIT,
        authors=authors,
        attachments=await queries.attachments_by_interaction(session, [i.id for i in timeline]),
        claimed_matches=claimed,
    )

