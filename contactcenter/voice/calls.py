"""Phone calls after they came in: progress, voicemail, outcome, callbacks.

A call enters the hub like any contact (`pipeline.run.ingest`, one interaction
keyed by its call id). What happens to it afterwards arrives as separate
provider callbacks (menu choice, queue result, recording, transcription, final
status), in any order and possibly twice; each function here applies one of them
to the call's interaction in its own transaction, under a row lock so two
callbacks for one call never overwrite each other's facts. On SQLite that
transaction runs on the ingest writer (`in_writer_session`): through the pool
it waited in SQLite's busy handler for the writer's lock, which made a call's
first answer wait 100-600 ms under load (docs/benchmarks.md).

A call that never reached a person (missed, abandoned in the queue, or left as
voicemail) becomes a callback ticket: somebody has to ring back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.routing.assignment import has_skills
from contactcenter.routing.rules import RoutingFacts, choose_route
from contactcenter.settings import Settings
from contactcenter.voice.reach import is_reachable
from contactcenter.webhooks.enqueue import enqueue_webhook_events
from contactcenter.contact import ChannelKind, TicketType
from contactcenter.db.models import Agent, Customer, Interaction, Queue, Ticket, utcnow
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.pipeline.route import get_or_create_queue
from contactcenter.pipeline.context import IngestContext
from contactcenter.pipeline.run import in_writer_session

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


async def answer_in_ingest(queue_name: str | None, ctx: IngestContext) -> CallAnswer:
    """The caller's name, and the call sent to `queue_name` when one is given (see `enqueue_call`).

    Run by the ingest writer in the call's own transaction (`ingest(then=...)`):
    the caller hears nothing until the answer is ready, and a second
    transaction was a second wait for the writer and the pool. Set-wise where
    a batch of calls allows it (issue 11): the queue's agents are looked at
    once per transaction, and a call logged in this transaction gets its note
    in one UPDATE, unlocked (nobody else can see the row yet).
    """
    if not ctx.contact.identities:
        name = None  # a withheld number: whoever the record is, do not greet it by name
    elif ctx.customer is not None:
        name = ctx.customer.name
    else:  # Twilio sent the call again: dedupe found it, identify did not run
        name = await ctx.session.scalar(select(Customer.name).where(Customer.id == ctx.duplicate_of.customer_id))
    if not queue_name:
        return CallAnswer(caller_name=name or "", enqueued=None)
    available = await _available_in_transaction(ctx.session, ctx.hub.settings, queue_name)
    facts = _queue_facts(queue_name, available)
    if ctx.interaction is not None and ctx.duplicate_of is None:
        meta = dict(ctx.interaction.meta)
        meta["call"] = {**meta.get("call", {}), **facts}
        await ctx.session.execute(NOTE_ON_CALL, {"call_id": ctx.interaction.id, "meta": meta})
    elif (call := await lock_call(ctx.session, ctx.contact.provider_id)) is not None:
        merge_call_facts(call, facts)
    return CallAnswer(caller_name=name or "", enqueued=available)


# A new call's note, on the row `log` wrote in the same transaction. The
# ticket's updated_at, which its report row is rebuilt by, moved in that step too.
NOTE_ON_CALL = update(Interaction).where(Interaction.id == bindparam("call_id")).values(meta=bindparam("meta"))
# session.info key: (the transaction, {queue name: someone available}) for answer_in_ingest.
AVAILABLE_IN_TRANSACTION = "contactcenter_available_for_calls"


async def _available_in_transaction(session: AsyncSession, settings: Settings, queue_name: str) -> bool:
    """`has_available_agent`, asked once per queue per transaction: every call of a batch finds the same agents."""
    transaction = session.sync_session.get_transaction()
    seen = session.info.get(AVAILABLE_IN_TRANSACTION)
    if seen is None or seen[0] is not transaction:
        seen = session.info[AVAILABLE_IN_TRANSACTION] = (transaction, {})
    if queue_name not in seen[1]:
        seen[1][queue_name] = await has_available_agent(session, settings, queue_name)
    return seen[1][queue_name]


async def answer_kept_call(hub: Hub, call_sid: str, queue_name: str | None) -> CallAnswer:
    """The answer to a call whose processing failed (kept for replay): no name, and the queue if it can be."""
    enqueued = await in_writer_session(hub, _enqueue, hub.settings, call_sid, queue_name) if queue_name else None
    return CallAnswer(caller_name="", enqueued=enqueued)


async def enqueue_call(hub: Hub, call_sid: str, queue_name: str) -> bool:
    """Send the call to the queue when someone of it is available (True), else to voicemail (False)."""
    enqueued = await in_writer_session(hub, _enqueue, hub.settings, call_sid, queue_name)
    if enqueued:
        hub.bus.publish(Event("voice.enqueued", {"call_sid": call_sid, "queue": queue_name}))
    return enqueued


async def _enqueue(session: AsyncSession, settings: Settings, call_sid: str, queue_name: str) -> bool:
    """The availability check and its note on the call (`enqueued` or `no_agent_for`), in one transaction."""
    available = await has_available_agent(session, settings, queue_name)
    call = await lock_call(session, call_sid)
    if call is not None:
        merge_call_facts(call, _queue_facts(queue_name, available))
    return available


def _queue_facts(queue_name: str, available: bool) -> dict[str, str]:
    # A caller queued again (transfer) waits afresh: no result of the last queue counts.
    return {"enqueued": queue_name, "queue_result": ""} if available else {"no_agent_for": queue_name}


async def has_available_agent(session: AsyncSession, settings: Settings, queue_name: str, *, besides: int | None = None) -> bool:
    """Is someone with the queue's skills available for calls right now?

    Available, with voice capacity, and reachable by phone or softphone; one on
    a call or wrapping up still counts (they will be free soon, so the caller
    waits for them rather than going to voicemail). Load is not weighed:
    enough to decide between the queue and voicemail.
    """
    skills = await session.scalar(select(Queue.skills).where(Queue.name == queue_name)) or []
    required = [s for s in skills if isinstance(s, str)]
    query = select(Agent).where(Agent.presence == "available", Agent.active.is_(True))
    if besides is not None:
        query = query.where(Agent.id != besides)
    now = utcnow()
    return any(
        has_skills(agent.skills or {}, required) and voice_capacity(agent, settings) > 0 and is_reachable(agent, now)
        for agent in await session.scalars(query)
    )


def voice_capacity(agent: Agent, settings: Settings) -> int:
    return int({**settings.routing.default_capacity, **(agent.capacity or {})}.get("voice", 0))


async def update_call(hub: Hub, call_sid: str, **facts: Any) -> bool:
    """Merge facts (menu choice, queue result...) into the call's record; False if unknown."""

    async def update(session: AsyncSession) -> bool:
        call = await lock_call(session, call_sid)
        if call is None:
            return False
        merge_call_facts(call, facts)
        return True

    return await in_writer_session(hub, update)


async def route_call(hub: Hub, call_sid: str, menu_queue: str, **facts: Any) -> str:
    """The caller chose in the menu: keep the key on the ticket and route by it; -> the queue.

    The key pressed is stored on the ticket (`ivr_choice`) and the routing
    rules run again with it, so a `when.ivr` rule that names a queue wins over
    the menu option's own queue (and may raise the priority or set the type).
    A ticket the assigner gave away before the choice goes back in line when
    its queue changes; nobody has spoken with the caller yet.
    """
    events: list[Event] = []

    async def route(session: AsyncSession) -> str:
        call = await lock_call(session, call_sid)
        if call is None:
            return menu_queue
        # Locked: an assigner round may hold it right now, and its choice must be seen.
        ticket = await session.get(Ticket, call.ticket_id, with_for_update=True, populate_existing=True) if call.ticket_id else None
        digits = str(facts.get("menu_digits") or "")
        queue_name = menu_queue
        if ticket is not None and ticket.status in ("new", "open") and not call.meta.get("call", {}).get("answered_by"):
            queue_name = await _route_by_choice(session, hub.settings, ticket, digits, menu_queue, events)
        merge_call_facts(call, {"queue": queue_name, **facts})
        return queue_name

    queue_name = await in_writer_session(hub, route)
    hub.bus.publish_all(events)
    return queue_name


async def _route_by_choice(session: AsyncSession, settings: Settings, ticket: Ticket, digits: str, menu_queue: str, events: list[Event]) -> str:
    customer = await session.get_one(Customer, ticket.customer_id)
    decision = choose_route(
        settings,
        RoutingFacts(
            channel=ChannelKind.VOICE,
            address=ticket.source_address,
            ivr=digits,
            text=ticket.subject,
            tier=customer.tier,
            segments=tuple(str(s) for s in customer.segments or ()),
            type=ticket.type,
        ),
    )
    by_key = [r for r in settings.routing.rules if r.name in decision.rules and r.when.ivr]
    queue_name = next((r.then.queue for r in by_key if r.then.queue), menu_queue)
    ticket_type = next((r.then.type for r in by_key if r.then.type), ticket.type)
    queue = await get_or_create_queue(session, queue_name, settings)
    before = {"queue_id": ticket.queue_id, "priority": ticket.priority, "type": ticket.type}
    ticket.ivr_choice = digits[:20]
    ticket.priority = max(ticket.priority, decision.priority)
    ticket.type = ticket_type
    if ticket.queue_id != queue.id:
        ticket.queue_id = queue.id
        if ticket.assignee_id is not None:
            events.append(Event("ticket.released", {"ticket_id": ticket.id, "agent_id": ticket.assignee_id, "queue_id": queue.id}))
            ticket.assignee_id = ticket.assigned_at = None
    after = {"queue_id": ticket.queue_id, "priority": ticket.priority, "type": ticket.type}
    audit(session, "system", "ticket.routed", ticket, ivr=ticket.ivr_choice, rules=list(decision.rules), **{"from": before, "to": after})
    return queue_name


async def attach_voicemail(hub: Hub, call_sid: str, recording_sid: str, **facts: Any) -> int | None:
    """Put (or update) the caller's voicemail on the call's ticket; -> its interaction id.

    The record action, the recording status callback and the transcription
    callback each carry part of it, in any order: the first one creates the
    interaction (keyed by the recording id), the others fill it in.
    `transcription` becomes the interaction's text.
    """
    events: list[Event] = []

    async def attach(session: AsyncSession) -> int | None:
        call = await lock_call(session, call_sid)
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
        merge_call_facts(call, {"voicemail": recording_sid})
        await enqueue_webhook_events(session, events)
        return voicemail.id

    voicemail_id = await in_writer_session(hub, attach)
    hub.bus.publish_all(events)
    return voicemail_id


async def record_call_status(hub: Hub, call_sid: str, status: str, *, sequence: int | None = None, **facts: Any) -> CallOutcome | None:
    """Apply a call status callback; a final status of an unanswered call opens a callback.

    Callbacks may arrive out of order: one with a lower SequenceNumber than the
    last applied never overwrites it, and a final status is never replaced by
    a progress one.
    """

    async def apply(session: AsyncSession) -> tuple[CallOutcome, list[Event]] | None:
        call = await lock_call(session, call_sid)
        if call is None:
            return None
        known = (call.meta or {}).get("call", {})
        stale = (sequence is not None and known.get("sequence") is not None and sequence < known["sequence"]) or (
            known.get("status") in FINAL_STATUSES and status not in FINAL_STATUSES
        )
        if not stale:
            merge_call_facts(call, {"status": status, "sequence": sequence, **facts})
        return await _settle(session, call)

    return await _settled(hub, apply)


async def record_queue_result(hub: Hub, call_sid: str, result: str, **facts: Any) -> CallOutcome | None:
    """Apply the <Enqueue> action (how the call left the queue).

    Twilio may report the call completed before it reports the queue result,
    so whether an agent took the call can be settled here, not only there.
    """

    async def apply(session: AsyncSession) -> tuple[CallOutcome, list[Event]] | None:
        call = await lock_call(session, call_sid)
        if call is None:
            return None
        merge_call_facts(call, {"queue_result": result or None, **facts})
        return await _settle(session, call)

    return await _settled(hub, apply)


async def _settled(hub: Hub, apply: Callable[[AsyncSession], Awaitable[tuple[CallOutcome, list[Event]] | None]]) -> CallOutcome | None:
    """Run a callback's `apply` in the writer with its webhook events, then tell the hub."""

    async def transaction(session: AsyncSession) -> tuple[CallOutcome, list[Event]] | None:
        settled = await apply(session)
        if settled is not None:
            await enqueue_webhook_events(session, settled[1])
        return settled

    settled = await in_writer_session(hub, transaction)
    if settled is None:
        return None
    outcome, events = settled
    hub.bus.publish_all(events)
    return outcome


def is_missed(call_facts: dict[str, Any]) -> bool | None:
    """Did the call end without reaching a person? None while that is not known yet."""
    status = call_facts.get("status")
    if call_facts.get("answered_by"):
        return False  # an agent picked up (voice/connect.py), whatever happened after
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
        merge_call_facts(call, {"callback_ticket_id": callback.id})
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


async def lock_call(session: AsyncSession, call_sid: str) -> Interaction | None:
    return await session.scalar(
        select(Interaction)
        .where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid)
        .with_for_update()
    )


def merge_call_facts(call: Interaction, facts: dict[str, Any], *, drop: tuple[str, ...] = ()) -> None:
    """Lay `facts` over the call's (None values are left out) and remove the keys in `drop`."""
    meta = dict(call.meta or {})
    merged = {**meta.get("call", {}), **{k: v for k, v in facts.items() if v is not None}}
    for key in drop:
        merged.pop(key, None)
    meta["call"] = merged
    call.meta = meta  # a new dict, so the JSON column is seen as changed


def call_facts(call: Interaction) -> dict[str, Any]:
    return dict((call.meta or {}).get("call", {}))
