"""Step: put the contact on an existing ticket, or open a new one.

In order of strength: a Message-ID we received or sent on a ticket, a ticket
reference the customer quoted, then (for conversational channels) the
customer's open ticket on the same channel that saw activity within the window.
A reference only counts when the sender is the ticket's customer: anyone can
type `CC-000123`, and it must not let them write into someone else's ticket.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from contactcenter.db.models import Interaction, Ticket, parse_reference
from contactcenter.pipeline.context import IngestContext

OPEN_STATUSES = ("new", "open", "pending")
# Channels where a contact within the window is the same conversation. Email is
# not one: a new mail without threading headers is a new matter.
WINDOW_CHANNELS = ("web", "api", "sms", "voice")


async def thread_into_ticket(ctx: IngestContext) -> None:
    assert ctx.customer is not None
    ticket = await _by_message_id(ctx) or await _by_reference(ctx) or await _by_window(ctx)
    if ticket is None:
        contact = ctx.contact
        ticket = Ticket(
            customer_id=ctx.customer.id,
            subject=contact.subject or _subject_from_text(contact.text),
            type=(contact.ticket_type or "question"),
            status="new",
            channel=contact.channel,
            source_address=contact.source_address,
            created_at=ctx.now,
            last_activity_at=ctx.now,
        )
        ctx.session.add(ticket)
        await ctx.session.flush()
        ctx.ticket_created = True
    ctx.ticket = ticket


async def _by_message_id(ctx: IngestContext) -> Ticket | None:
    message_ids = [hint for hint in ctx.contact.thread_hints if hint.startswith("<")]
    if not message_ids:
        return None
    ticket_ids = await ctx.session.scalars(
        select(Interaction.ticket_id)
        .where(Interaction.channel == "email", Interaction.provider_id.in_(message_ids))
        .where(Interaction.ticket_id.is_not(None))
    )
    for ticket_id in ticket_ids:
        ticket = await ctx.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.customer_id == ctx.customer.id:
            return ticket
    return None


async def _by_reference(ctx: IngestContext) -> Ticket | None:
    for hint in ctx.contact.thread_hints:
        ticket_id = parse_reference(hint)
        if ticket_id is None:
            continue
        ticket = await ctx.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.customer_id == ctx.customer.id:
            return ticket
    return None


async def _by_window(ctx: IngestContext) -> Ticket | None:
    if ctx.contact.channel not in WINDOW_CHANNELS:
        return None
    window = timedelta(hours=ctx.hub.settings.tickets.thread_window_hours)
    return await ctx.session.scalar(
        select(Ticket)
        .where(
            Ticket.customer_id == ctx.customer.id,
            Ticket.channel == ctx.contact.channel,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.last_activity_at >= ctx.now - window,
        )
        .order_by(Ticket.last_activity_at.desc())
        .limit(1)
    )


def _subject_from_text(text: str) -> str:
    first_line = text.strip().split("\n", 1)[0]
    return first_line[:80] + ("…" if len(first_line) > 80 else "")
