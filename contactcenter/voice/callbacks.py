"""Calling customers back: the list of missed calls and voicemails, and one-click calls.

A missed call or a voicemail becomes a callback ticket (voice/calls.py); the
workspace lists the open ones. One click rings the agent first (softphone or
phone); when they answer, the customer is dialled from the center's number
(channels/twilio_agent_leg.py). Click-to-call from the customer card is the
same call on any ticket. Refused, with a message that says why: a customer
marked do-not-call, a time outside the center's calling hours (the phone
line's calendar, `[twilio] calendar`), a customer without a phone number, an
agent no phone can reach. Hours and do-not-call are checked again when the
customer is about to be dialled, since the agent may take a while to answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.contact import ChannelKind, TicketType
from contactcenter.db import queries
from contactcenter.db.models import Agent, Customer, Interaction, Ticket, format_reference, utcnow
from contactcenter.errors import ChannelSendError, ConflictError
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.i18n import gettext as _
from contactcenter.identity.normalize import mask
from contactcenter.routing.calendars import is_open, parse_calendar
from contactcenter.settings import Settings
from contactcenter.voice.call_presence import do_agent_connected, do_agent_hung_up, publish_after_commit
from contactcenter.voice.calls import call_facts, lock_call, merge_call_facts
from contactcenter.voice.reach import choose_destination
from contactcenter.webhooks.enqueue import enqueue_webhook_events

log = logging.getLogger(__name__)

OPEN_STATUSES = ("new", "open", "pending")
LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class CallbackRow:
    ticket: Ticket
    customer_name: str
    voicemail: bool


@dataclass(frozen=True, slots=True)
class DialTarget:
    number: str
    name: str
    reference: str


async def callback_list(session: AsyncSession) -> list[CallbackRow]:
    """Open callback tickets, oldest first (who waited longest is called first)."""
    rows = (
        await session.execute(
            select(Ticket, Customer.name)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Ticket.type == TicketType.CALLBACK, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
            .limit(LIST_LIMIT)
        )
    ).all()
    ids = [t.id for t, _ in rows]
    with_voicemail = set(
        await session.scalars(
            select(Interaction.ticket_id).where(Interaction.ticket_id.in_(ids), Interaction.provider_id.like("RE%"))
        )
    ) if ids else set()
    return [CallbackRow(t, name or "", t.id in with_voicemail) for t, name in rows]


def refusal(settings: Settings, customer: Customer, number: str | None, now: datetime) -> str:
    """Why this customer may not be called now ("" when they may); pure."""
    if customer.do_not_call:
        return _("%(name)s asked not to be called (do not call).") % {"name": customer.name or _("This customer")}
    if not number:
        return _("This customer has no phone number to call.")
    if not is_open(parse_calendar(settings.calendars[settings.twilio.calendar]), now):
        return _("It is outside the center's calling hours; call back when the line is open.")
    return ""


async def _phone_of(session: AsyncSession, customer_id: int) -> str | None:
    points = [p for p in await queries.contact_points_of(session, customer_id) if p.kind == "phone"]
    points.sort(key=lambda p: (p.evidence != "verified", p.id))
    return points[0].value if points else None


async def start_callback(hub: Hub, reference: str, agent_id: int) -> str:
    """Ring the agent for a call to the ticket's customer; -> the agent leg's id. ConflictError says why not."""
    now = utcnow()
    async with hub.reads() as session:
        ticket = await queries.get_ticket(session, reference)
        customer = await session.get_one(Customer, ticket.customer_id)
        number = await _phone_of(session, customer.id)
        agent = await session.get_one(Agent, agent_id)
    if problem := refusal(hub.settings, customer, number, now):
        raise ConflictError(problem, code="call_refused")
    to = choose_destination(agent, now)
    if to is None:
        raise ConflictError(_("No phone can reach you: open the softphone or ask an admin to add your number."), code="agent_unreachable")
    if hub.calls is None:
        raise ConflictError(_("Calls are not configured on this hub."), code="voice_not_configured")
    try:
        leg_sid = await hub.calls.ring_agent_for_callback(to=to, ticket_id=ticket.id, agent_id=agent_id, timeout=hub.settings.voice.agent_ring_seconds)
    except ChannelSendError as exc:
        raise ConflictError(_("The telephone provider refused the call: %(error)s") % {"error": exc}, code="provider_refused", status=502) from exc
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, reference)
        interaction = Interaction(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            channel=ChannelKind.VOICE,
            direction="outbound",
            provider_id=leg_sid,
            author_agent_id=agent_id,
            subject=_("Call back"),
            text=_("Call to %(number)s") % {"number": number},
            meta={"call": {"direction": "callback", "to": number, "agent_id": agent_id, "agent": agent.name, "status": "initiated"}},
            created_at=now,
        )
        session.add(interaction)
        await session.flush()
        audit(session, f"agent:{agent_id}", "call.callback_started", ticket, call_sid=leg_sid, to=mask(number or ""))
        events.append(Event("interaction.created", {"interaction_id": interaction.id, "ticket_id": ticket.id, "customer_id": ticket.customer_id, "channel": ChannelKind.VOICE}))
        await enqueue_webhook_events(session, events)
    hub.bus.publish_all(events)
    return leg_sid


async def customer_to_dial(hub: Hub, ticket_id: int) -> DialTarget | None:
    """The number to dial once the agent answered; None when the call may no longer be made."""
    async with hub.reads() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        customer = await session.get_one(Customer, ticket.customer_id)
        number = await _phone_of(session, customer.id)
    if refusal(hub.settings, customer, number, utcnow()) or number is None:
        return None
    return DialTarget(number=number, name=customer.name, reference=format_reference(ticket_id))


async def record_callback_leg(hub: Hub, leg_sid: str, agent_id: int, status: str, *, duration_seconds: int | None) -> None:
    """The agent leg of a call back: presence follows it like an inbound call's."""
    now = utcnow()
    events: list[Event] = []
    wrap_up = 0.0
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, leg_sid)
        if call is None:
            return
        facts = call_facts(call)
        if status == "in-progress" and not facts.get("answered_at"):
            merge_call_facts(call, {"status": status, "answered_at": now.isoformat(), "answered_by": agent_id, "answered_by_name": facts.get("agent")})
            events += await do_agent_connected(session, agent_id, leg_sid, now)
        elif status in ("completed", "busy", "no-answer", "failed", "canceled") and facts.get("status") not in ("completed", "busy", "no-answer", "failed", "canceled"):
            merge_call_facts(call, {"status": status, "talk_seconds": duration_seconds})
            if facts.get("answered_at"):
                wrap_up = hub.settings.voice.wrap_up_seconds
                events += await do_agent_hung_up(session, agent_id, leg_sid, wrap_up, now)
        elif facts.get("status") not in ("in-progress", "completed"):
            merge_call_facts(call, {"status": status})
    publish_after_commit(hub.bus, events, agent_id, wrap_up)


