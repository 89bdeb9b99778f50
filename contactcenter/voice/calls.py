"""Phone calls after they came in: progress, voicemail, outcome, callbacks.

A call enters the hub like any contact (`pipeline.run.ingest`, one interaction
keyed by its call id). What happens to it afterwards arrives as separate
provider callbacks (menu choice, queue result, recording, transcription, final
status), in any order and possibly twice; each function here applies one of them
to the call's interaction in its own transaction, under a row lock so two
callbacks for one call never overwrite each other's facts.

A call that never reached a person (missed, abandoned in the queue, or left as
voicemail) becomes a callback ticket: somebody has to ring back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.routing.assignment import has_skills
from contactcenter.contact import ChannelKind, TicketType
from contactcenter.db.models import Agent, Customer, Interaction, Queue, Ticket, utcnow
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.pipeline.route import get_or_create_queue

log = logging.getLogger(__name__)

# Twilio's final call statuses (voice webhooks, "CallStatus values").
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
# The call ended before anyone of ours spoke with the caller.
UNANSWERED_STATUSES = ("busy", "no-answer", "failed", "canceled")
# <Enqueue> action QueueResult meaning an agent took the call.
ANSWERED_QUEUE_RESULT = "bridged"
REOPENING_STATUSES = ("pending", "resolved")


@dataclass(frozen=True, slots=True)
class CallOutcome:
    status: str
    missed: bool
    ticket_id: int | None
    callback_ticket_id: int | None


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """What the first answer to a call says: whom it greets, and where the call goes."""

    caller_name: str  # "" for a caller not known by name
    enqueued: bool | None  # None: not placed yet (the menu comes first)


async def answer_call(hub: Hub, call_sid: str, customer_id: int | None, queue_name: str | None) -> CallAnswer:
    """The caller's name, and the call sent to `queue_name` when one is given (see `enqueue_call`).

    One transaction for both: the caller hears nothing until the answer is ready.
    """
    async with hub.sessions() as session, session.begin():
        name = await session.scalar(select(Customer.name).where(Customer.id == customer_id)) if customer_id else None
        enqueued = await _enqueue(session, call_sid, queue_name) if queue_name else None
    return CallAnswer(caller_name=name or "", enqueued=enqueued)


async def enqueue_call(hub: Hub, call_sid: str, queue_name: str) -> bool:
    """Send the call to the queue when someone of it is available (True), else to voicemail (False)."""
    async with hub.sessions() as session, session.begin():
        return await _enqueue(session, call_sid, queue_name)


async def _enqueue(session: AsyncSession, call_sid: str, queue_name: str) -> bool:
    """The availability check and its note on the call (`enqueued` or `no_agent_for`), in one transaction."""
    available = await has_available_agent(session, queue_name)
    call = await _lock_call(session, call_sid)
    if call is not None:
        _merge_call_facts(call, {"enqueued": queue_name} if available else {"no_agent_for": queue_name})
    return available


async def has_available_agent(session: AsyncSession, queue_name: str) -> bool:
    """Is someone with the queue's skills available right now?

    Deliberately simple (presence and skills, not load): enough to decide
    between the queue and voicemail.
    """
    skills = await session.scalar(select(Queue.skills).where(Queue.name == queue_name)) or []
    required = [s for s in skills if isinstance(s, str)]
    agents = await session.scalars(select(Agent.skills).where(Agent.presence == "available", Agent.active.is_(True)))
    return any(has_skills(agent_skills or {}, required) for agent_skills in agents)


async def update_call(hub: Hub, call_sid: str, **facts: Any) -> bool:
    """Merge facts (menu choice, queue result...) into the call's record; False if unknown."""
    async with hub.sessions() as session, session.begin():
        call = await _lock_call(session, call_sid)
        if call is None:
            return False
        _merge_call_facts(call, facts)
        return True


async def route_call(hub: Hub, call_sid: str, queue_name: str, **facts: Any) -> bool:
    """The caller chose a queue: note it, and move the call's new ticket there."""
    async with hub.sessions() as session, session.begin():
        call = await _lock_call(session, call_sid)
        if call is None:
            return False
        _merge_call_facts(call, {"queue": queue_name, **facts})
        ticket = await session.get(Ticket, call.ticket_id) if call.ticket_id else None
        if ticket is not None and ticket.status == "new":
            ticket.queue_id = (await get_or_create_queue(session, queue_name)).id
        return True


async def attach_voicemail(hub: Hub, call_sid: str, recording_sid: str, **facts: Any) -> int | None:
    """Put (or update) the caller's voicemail on the call's ticket; -> its interaction id.

    The record action, the recording status callback and the transcription
    callback each carry part of it, in any order: the first one creates the
    interaction (keyed by the recording id), the others fill it in.
    `transcription` becomes the interaction's text.
    """
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        call = await _lock_call(session, call_sid)
        if call is None:
            return None
        now = utcnow()
        voicemail = await session.scalar(
            select(Interaction).where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == recording_sid)
        )
        if voicemail is None:
            voicemail = Interaction(
                ticket_id=call.ticket_id,
                customer_id=call.customer_id,
                channel=ChannelKind.VOICE,
                direction="inbound",
                provider_id=recording_sid,
                subject="Voicemail",
                matched_by=call.matched_by,
                match_evidence=call.match_evidence,
                meta={"voicemail": {"call_sid": call_sid}, "reply_to": (call.meta or {}).get("reply_to")},
                created_at=now,
            )
            session.add(voicemail)
            await session.flush()
            events.append(Event("interaction.created", {"interaction_id": voicemail.id, "ticket_id": call.ticket_id, "customer_id": call.customer_id, "channel": ChannelKind.VOICE}))
            ticket = await session.get(Ticket, call.ticket_id) if call.ticket_id else None
            if ticket is not None:
                ticket.last_activity_at = now
                if ticket.status in REOPENING_STATUSES:
                    ticket.status = "open"
        transcription = facts.pop("transcription", None)
        if transcription:
            voicemail.text = transcription
        details = {k: v for k, v in facts.items() if v not in (None, "")}
        voicemail.meta = {**voicemail.meta, "voicemail": {**voicemail.meta.get("voicemail", {}), **details}}
        _merge_call_facts(call, {"voicemail": recording_sid})
        voicemail_id = voicemail.id
    hub.bus.publish_all(events)
    return voicemail_id


async def record_call_status(hub: Hub, call_sid: str, status: str, *, sequence: int | None = None, **facts: Any) -> CallOutcome | None:
    """Apply a call status callback; a final status of an unanswered call opens a callback.

    Callbacks may arrive out of order: one with a lower SequenceNumber than the
    last applied never overwrites it, and a final status is never replaced by
    a progress one.
    """
    async with hub.sessions() as session, session.begin():
        call = await _lock_call(session, call_sid)
        if call is None:
            return None
        known = (call.meta or {}).get("call", {})
        stale = (sequence is not None and known.get("sequence") is not None and sequence < known["sequence"]) or (
            known.get("status") in FINAL_STATUSES and status not in FINAL_STATUSES
        )
        if not stale:
            _merge_call_facts(call, {"status": status, "sequence": sequence, **facts})
        outcome, events = await _settle(session, call)
    hub.bus.publish_all(events)
    return outcome


async def record_queue_result(hub: Hub, call_sid: str, result: str, **facts: Any) -> CallOutcome | None:
    """Apply the <Enqueue> action (how the call left the queue).

    Twilio may report the call completed before it reports the queue result,
    so whether an agent took the call can be settled here, not only there.
    """
    async with hub.sessions() as session, session.begin():
        call = await _lock_call(session, call_sid)
        if call is None:
            return None
        _merge_call_facts(call, {"queue_result": result or None, **facts})
        outcome, events = await _settle(session, call)
    hub.bus.publish_all(events)
    return outcome


def is_missed(call_facts: dict[str, Any]) -> bool | None:
    """Did the call end without reaching a person? None while that is not known yet."""
    status = call_facts.get("status")
    if status in UNANSWERED_STATUSES:
        return True
    if status != "completed":
        return None
    if call_facts.get("queue_result") == ANSWERED_QUEUE_RESULT:
        return False
    if call_facts.get("enqueued") and not call_facts.get("queue_result"):
        return None  # the <Enqueue> action still has to say whether an agent took it
    return True


async def _settle(session: AsyncSession, call: Interaction) -> tuple[CallOutcome, list[Event]]:
    events: list[Event] = []
    known = call.meta.get("call", {})
    missed = is_missed(known)
    if missed and not known.get("callback_ticket_id"):
        callback = await _open_callback(session, call, utcnow(), events)
        _merge_call_facts(call, {"callback_ticket_id": callback.id})
    known = call.meta.get("call", {})
    outcome = CallOutcome(
        status=known.get("status", ""),
        missed=bool(missed),
        ticket_id=call.ticket_id,
        callback_ticket_id=known.get("callback_ticket_id"),
    )
    return outcome, events


async def _open_callback(session: AsyncSession, call: Interaction, now: datetime, events: list[Event]) -> Ticket:
    """The ticket someone works to ring the caller back.

    A ticket the call itself opened becomes the callback ticket; when the call
    joined an older conversation, a new callback ticket follows up on it.
    """
    ticket = await session.get_one(Ticket, call.ticket_id)
    opened_by_call = await session.scalar(select(func.min(Interaction.id)).where(Interaction.ticket_id == ticket.id)) == call.id
    if ticket.type == TicketType.CALLBACK and ticket.status not in ("resolved", "closed"):
        return ticket
    if opened_by_call:
        ticket.type = TicketType.CALLBACK
        ticket.subject = f"Call back: {ticket.subject}" if not ticket.subject.startswith("Call back") else ticket.subject
        audit(session, "system", "ticket.callback", ticket, call_interaction_id=call.id)
        return ticket
    callback = Ticket(
        customer_id=ticket.customer_id,
        subject=f"Call back: {call.subject or 'missed call'}",
        type=TicketType.CALLBACK,
        status="new",
        priority=ticket.priority,
        queue_id=ticket.queue_id,
        channel=ChannelKind.VOICE,
        source_address=ticket.source_address,
        parent_id=ticket.id,
        created_at=now,
        last_activity_at=now,
    )
    session.add(callback)
    await session.flush()
    audit(session, "system", "ticket.callback", callback, call_interaction_id=call.id, follows_ticket_id=ticket.id)
    events.append(Event("ticket.created", {"ticket_id": callback.id, "queue_id": callback.queue_id}))
    return callback


async def _lock_call(session: AsyncSession, call_sid: str) -> Interaction | None:
    return await session.scalar(
        select(Interaction)
        .where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid)
        .with_for_update()
    )


def _merge_call_facts(call: Interaction, facts: dict[str, Any]) -> None:
    meta = dict(call.meta or {})
    meta["call"] = {**meta.get("call", {}), **{k: v for k, v in facts.items() if v is not None}}
    call.meta = meta  # a new dict, so the JSON column is seen as changed
