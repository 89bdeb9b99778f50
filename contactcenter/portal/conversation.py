"""What a signed-in customer sees and does: their tickets, each conversation, an answer, closing.

Only the customer's own tickets, and on each only the messages between them
and us: internal notes never, nor what other people copied on the mail
wrote. Texts are shown as the plain text we stored (HTML mail is kept
sanitised for agents, but the portal never renders it).

An answer is not written here: it becomes a web `InboundContact` whose
address is *verified* (the link proved it) with the ticket's reference as a
threading hint, and goes through the one ingest pipeline like any contact,
so threading, reopening, SLA and the timeline behave as on every channel.

Closing a ticket moves it to `resolved` with the customer as the actor
(`actions.do_set_status`, audited, the same rules as for agents): a complaint
needs a short note from the customer saying why, unless an agent already
wrote its resolution.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import DONE_STATUSES, audit, do_set_status, resolution_problem
from contactcenter.contact import ChannelKind, Identity, InboundContact
from contactcenter.db.models import Interaction, Ticket, parse_reference, utcnow
from contactcenter.errors import NotFoundError
from contactcenter.events import Event
from contactcenter.i18n import gettext as _
from contactcenter.portal.visitors import Visitor
from contactcenter.webhooks.enqueue import enqueue_webhook_events

MAX_TICKETS = 100
MAX_MESSAGES = 500
MAX_NOTE_CHARS = 2000
SOURCE = "portal"  # the contact's source_address: routing rules can tell the portal's answers apart
CLOSED_STATUS = "resolved"


async def customer_tickets(session: AsyncSession, customer_id: int) -> list[Ticket]:
    return list(
        await session.scalars(
            select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(MAX_TICKETS)
        )
    )


async def get_customer_ticket(session: AsyncSession, customer_id: int, reference: str) -> Ticket:
    """The customer's ticket by reference; NotFoundError alike for a ticket that is someone else's or none."""
    ticket_id = parse_reference(reference)
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None and ticket_id < 2**31 else None
    if ticket is None or ticket.customer_id != customer_id:
        raise NotFoundError(_("There is no such request among yours."))
    return ticket


async def conversation(session: AsyncSession, ticket: Ticket) -> list[Interaction]:
    """The messages between the ticket's customer and us, oldest first."""
    return list(
        await session.scalars(
            select(Interaction)
            .where(
                Interaction.ticket_id == ticket.id,
                Interaction.customer_id == ticket.customer_id,
                Interaction.direction.in_(("inbound", "outbound")),
            )
            .order_by(Interaction.created_at, Interaction.id)
            .limit(MAX_MESSAGES)
        )
    )


def parse_answer(visitor: Visitor, ticket: Ticket, text: str, form_id: str, *, language: str) -> InboundContact:
    """The customer's answer as a web contact; `form_id` (the page's CSRF form id) makes a double post one contact."""
    return InboundContact(
        channel=ChannelKind.WEB,
        provider_id=f"portal:{form_id}",
        identities=(Identity(kind="email", value=visitor.email, evidence="verified", is_reply_address=True),),
        received_at=utcnow(),
        display_name=visitor.name,
        text=text,
        thread_hints=(ticket.reference,),
        source_address=SOURCE,
        language=language,
        metadata={"portal_session": visitor.session_id},
    )


def close_problem(ticket: Ticket, note: str) -> str:
    """Why the customer may not close the ticket with this note, or "" when they may (pure)."""
    if ticket.status in DONE_STATUSES:
        return _("This request is closed already.")
    if len(note) > MAX_NOTE_CHARS:
        return _("Please keep the note under {limit} characters.", limit=MAX_NOTE_CHARS)
    if resolution_problem(ticket.type, CLOSED_STATUS, note or ticket.resolution):
        return _("Please tell us in a few words why this complaint is settled for you.")
    return ""


async def do_close(session: AsyncSession, ticket: Ticket, visitor: Visitor, note: str) -> list[Event]:
    """Resolve the ticket as the customer (the caller checked close_problem); audited, webhooks queued."""
    # The customer's note is the resolution unless an agent wrote one; then it is kept beside it, in the audit.
    events = do_set_status(session, ticket, CLOSED_STATUS, actor=visitor.actor, resolution=note if note and not ticket.resolution else None)
    if note and ticket.resolution != note:
        audit(session, visitor.actor, "ticket.closing_note", ticket, note=note)
    await enqueue_webhook_events(session, events)
    return events
