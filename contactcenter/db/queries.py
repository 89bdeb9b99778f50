"""Reads shared by the API, the pages and the pipeline. `get_*` raise NotFoundError."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Attachment, ContactPoint, Customer, Interaction, Queue, Ticket, parse_reference
from contactcenter.i18n import gettext as _
from contactcenter.errors import InputError, NotFoundError

# The largest id an INTEGER key holds on PostgreSQL; larger numbers in a URL
# name nothing, and must not reach the database (it would refuse the query).
MAX_ID = 2**31 - 1


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id) if 0 < customer_id <= MAX_ID else None
    if customer is None:
        raise NotFoundError(_("no customer {number}", number=customer_id))
    return customer


async def get_ticket(session: AsyncSession, ticket_key: str | int) -> Ticket:
    """By numeric id or by reference (`CC-000123`)."""
    key = str(ticket_key)
    ticket_id = int(key) if key.isascii() and key.isdigit() and len(key) <= 18 else parse_reference(key)
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None and 0 < ticket_id <= MAX_ID else None
    if ticket is None:
        raise NotFoundError(_("no ticket {key}", key=key))
    return ticket


async def get_queue(session: AsyncSession, key: str | int) -> Queue:
    """By id or by name; InputError (not 404: it names a field of the request) when there is none."""
    if isinstance(key, int):
        queue = await session.get(Queue, key) if 0 < key <= MAX_ID and not isinstance(key, bool) else None
    else:
        queue = await session.scalar(select(Queue).where(Queue.name == key))
    if queue is None:
        raise InputError(f"no queue {key!r}", fields={"queue": "no such queue"})
    return queue


async def contact_points_of(session: AsyncSession, customer_id: int) -> list[ContactPoint]:
    rows = await session.scalars(
        select(ContactPoint).where(ContactPoint.customer_id == customer_id).order_by(ContactPoint.id)
    )
    return list(rows)


async def attachments_by_interaction(session: AsyncSession, interaction_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = defaultdict(list)
    if interaction_ids:
        rows = await session.scalars(
            select(Attachment).where(Attachment.interaction_id.in_(interaction_ids)).order_by(Attachment.id)
        )
        for attachment in rows:
            found[attachment.interaction_id].append(attachment)
    return found


async def queue_names(session: AsyncSession) -> dict[int, str]:
    return {q.id: q.name for q in await session.scalars(select(Queue))}


async def interactions_of_ticket(session: AsyncSession, ticket_id: int) -> list[Interaction]:
    rows = await session.scalars(
        select(Interaction).where(Interaction.ticket_id == ticket_id).order_by(Interaction.created_at, Interaction.id)
    )
    return list(rows)
