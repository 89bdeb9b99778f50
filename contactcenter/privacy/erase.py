"""Erasing a customer on request (`POST /api/v1/customers/{id}/erase`).

What goes: names, company, notes, the CRM id, every contact point (so the same address or
number writing again is a new customer; a number that said STOP stays on the suppression
list, tied to nobody, so it still gets no SMS until it writes START), ticket subjects and addresses, the words, HTML,
attachments and recordings of every interaction, survey comments, raw input, outgoing copies, merge
suggestions, portal sign-in links and sessions, and the details of audit entries about them. What stays: the shells with their
times, states, queues, tier and segments (the figures), and one audit entry saying who erased
whom, when and why.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db import queries
from contactcenter.db.models import (
    ContactPoint,
    Customer,
    Interaction,
    MergeSuggestion,
    PortalLink,
    PortalSession,
    SmsSuppression,
    Survey,
    Ticket,
    utcnow,
)
from contactcenter.errors import ConflictError
from contactcenter.privacy.export import audit_events_about
from contactcenter.privacy.redact import redact_interactions
from contactcenter.privacy.scope import merge_family

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Erasure:
    customers: list[int]
    contact_points: int
    tickets: int
    interactions: int


async def do_erase_customer(session: AsyncSession, customer_id: int, actor: str, reason: str) -> Erasure:
    customer = await queries.get_customer(session, customer_id)
    if customer.erased_at is not None:
        raise ConflictError(f"customer {customer_id} was erased already", code="already_erased")
    ids = await merge_family(session, customer_id)
    customers = list(await session.scalars(select(Customer).where(Customer.id.in_(ids)).with_for_update()))
    point_ids = list(await session.scalars(select(ContactPoint.id).where(ContactPoint.customer_id.in_(ids))))
    ticket_ids = list(await session.scalars(select(Ticket.id).where(Ticket.customer_id.in_(ids))))
    interaction_ids = list(
        await session.scalars(
            select(Interaction.id).where(or_(Interaction.customer_id.in_(ids), Interaction.ticket_id.in_(ticket_ids)))
        )
    )
    for event in await audit_events_about(session, ids, point_ids, ticket_ids, interaction_ids):
        event.details = {"redacted": True}
    await redact_interactions(session, interaction_ids)
    if ticket_ids:
        await session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject="", source_address="", resolution=""))
    # Survey answers keep their rating (a figure), not the comment or where the survey went.
    await session.execute(
        update(Survey).where(or_(Survey.customer_id.in_(ids), Survey.ticket_id.in_(ticket_ids))).values(comment="", recipient="", token_hash=None)
    )
    await session.execute(
        delete(MergeSuggestion).where(or_(MergeSuggestion.customer_a_id.in_(ids), MergeSuggestion.customer_b_id.in_(ids)))
    )
    stopped = set(
        await session.scalars(
            select(ContactPoint.value).where(ContactPoint.customer_id.in_(ids), ContactPoint.kind == "phone", ContactPoint.opted_out)
        )
    )
    existing = set(await session.scalars(select(SmsSuppression.phone).where(SmsSuppression.phone.in_(stopped))))
    session.add_all(SmsSuppression(phone=phone) for phone in sorted(stopped - existing))
    await session.execute(delete(ContactPoint).where(ContactPoint.customer_id.in_(ids)))
    # Portal sign-in links and sessions hold an address and sign the person in: both go.
    await session.execute(delete(PortalLink).where(PortalLink.customer_id.in_(ids)))
    await session.execute(delete(PortalSession).where(PortalSession.customer_id.in_(ids)))
    now = utcnow()
    for record in customers:
        record.name = record.company = record.notes = record.name_key = ""
        record.external_id = None
        record.erased_at = now
    erasure = Erasure(customers=ids, contact_points=len(point_ids), tickets=len(ticket_ids), interactions=len(interaction_ids))
    audit(session, actor, "customer.erased", customer, reason=reason, **asdict(erasure))
    log.info("erased customer %s (%s)", customer_id, asdict(erasure))
    return erasure
