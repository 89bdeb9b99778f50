"""Connecting a waiting caller to the agent their ticket went to.

The assigner gives a call's ticket to an available agent with voice capacity
like any other work (routing/assignment.py). The `Connector` then rings that
agent through the provider (`CallControl.ring_agent`: their softphone, else
their phone, for `[voice] agent_ring_seconds`); the agent leg's TwiML bridges
them to the caller, who waits in a queue of their own (named by their call id,
so the agent gets exactly the caller of their ticket, not the front of a
shared line).

The state of the ring lives on the caller's call record as its `offer`
(agent, agent leg, state). Twilio's status callbacks for the agent leg move it:
answered -> the agent is on the call (call_presence.py); no answer, busy or
failed -> the agent is set away (as TaskRouter does with a reservation that
times out, so the next call does not ring an empty desk), the ticket goes
back in line for the next eligible agent, and when nobody is left the caller
is sent to voicemail. Every provider request happens after the transaction
that decided it has committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.contact import ChannelKind
from contactcenter.db.models import Agent, Customer, Interaction, Queue, Ticket, format_reference, utcnow
from contactcenter.errors import ChannelSendError
from contactcenter.events import Event, run_periodically
from contactcenter.hub import Hub
from contactcenter.routing.assignment import WORKING_STATUSES
from contactcenter.routing.presence import do_set_presence
from contactcenter.voice.call_presence import do_agent_connected, do_agent_hung_up, publish_after_commit
from contactcenter.voice.calls import FINAL_STATUSES, UNANSWERED_STATUSES, call_facts, has_available_agent, lock_call, merge_call_facts
from contactcenter.voice.reach import choose_destination

log = logging.getLogger(__name__)

# Events after which a caller may wait for a ring that has not started.
TRIGGERS = frozenset({"ticket.assigned", "ticket.transferred", "voice.enqueued"})
# Only calls placed this recently can still have a caller waiting on the line.
LIVE_WINDOW = timedelta(hours=4)
# <Enqueue> results after which the caller is no longer in line.
LEFT_QUEUE = ("hangup", "leave", "error", "system-error", "queue-full")


@dataclass(frozen=True, slots=True)
class Ring:
    call_sid: str  # the caller's
    agent_id: int
    to: str


@dataclass(frozen=True, slots=True)
class AgentLegPlan:
    """What the agent hears when they pick up: whom they get, and whether to bridge."""

    bridge: bool
    caller_name: str = ""
    reference: str = ""
    record: bool = False


def is_waiting_for_a_ring(facts: dict[str, Any]) -> bool:
    """Is the caller in line, with nobody rung for them yet (and not on hold)?"""
    return bool(
        facts.get("enqueued")
        and facts.get("status") not in FINAL_STATUSES
        and facts.get("queue_result", "") not in LEFT_QUEUE
        and not facts.get("offer")
        and not facts.get("on_hold")
        and not facts.get("to_voicemail")
    )


async def latest_call(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Interaction | None:
    """The ticket's most recent inbound call (its record, keyed by the CallSid)."""
    query = (
        select(Interaction)
        .where(
            Interaction.ticket_id == ticket_id,
            Interaction.channel == ChannelKind.VOICE,
            Interaction.direction == "inbound",
            Interaction.provider_id.like("CA%"),
        )
        .order_by(Interaction.id.desc())
        .limit(1)
    )
    if lock:
        # Waits for a callback of the same call that holds it (it may be what
        # frees the call for a ring), then reads the row as that one left it.
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def connect_assigned(hub: Hub) -> int:
    """Ring the agent of every assigned call whose caller waits unrung; -> rings placed."""
    rings, events = await _claim_rings(hub)
    hub.bus.publish_all(events)
    placed = 0
    for ring in rings:
        if hub.calls is None:
            break
        try:
            leg_sid = await hub.calls.ring_agent(to=ring.to, call_sid=ring.call_sid, agent_id=ring.agent_id, timeout=hub.settings.voice.agent_ring_seconds)
        except ChannelSendError as exc:
            log.warning("voice %s: ringing agent %s failed: %s", ring.call_sid, ring.agent_id, exc)
            await record_agent_leg(hub, ring.call_sid, ring.agent_id, "", "failed")
            continue
        await _note_leg(hub, ring, leg_sid)
        placed += 1
    return placed


async def _claim_rings(hub: Hub) -> tuple[list[Ring], list[Event]]:
    """Mark, under the call's row lock, who will be rung for which caller (no two processes ring twice).

    The lock waits rather than skips: a call held by its own status callback
    (say the last agent hanging up) would otherwise wait for the next sweep.
    """
    now = utcnow()
    rings: list[Ring] = []
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        rows = await session.execute(
            select(Ticket.id, Agent)
            .join(Agent, Agent.id == Ticket.assignee_id)
            .where(Ticket.channel == ChannelKind.VOICE, Ticket.status.in_(WORKING_STATUSES), Ticket.assigned_at >= now - LIVE_WINDOW)
            .order_by(Ticket.id)  # calls locked in one order by every process: no deadlock
        )
        for ticket_id, agent in rows.all():
            call = await latest_call(session, ticket_id, lock=True)
            if call is None or not call.provider_id or not is_waiting_for_a_ring(call_facts(call)):
                continue
            # The lock may have waited for the call's own callback (an agent not
            # answering), which gave the ticket back: the assignee read before the
            # wait is then stale, and ringing them again would ring the skipped agent.
            if await session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id)) != agent.id:
                continue
            to = choose_destination(agent, now)
            if to is None:  # reachable when assigned, not any more: next agent
                events += await _give_back(session, ticket_id, agent.id, "cannot be reached by phone")
                continue
            merge_call_facts(call, {"offer": {"agent_id": agent.id, "state": "ringing", "at": now.isoformat()}})
            rings.append(Ring(call_sid=call.provider_id, agent_id=agent.id, to=to))
    return rings, events


async def _note_leg(hub: Hub, ring: Ring, leg_sid: str) -> None:
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, ring.call_sid)
        offer = call_facts(call).get("offer") if call else None
        if call is not None and offer and offer.get("agent_id") == ring.agent_id and not offer.get("leg_sid"):
            merge_call_facts(call, {"offer": {**offer, "leg_sid": leg_sid}})


async def stop_ringing_for(hub: Hub, call_sid: str) -> None:
    """The caller hung up: an agent's phone still ringing for them stops."""
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, call_sid)
        offer = call_facts(call).get("offer") if call is not None else None
        if call is None or not offer or offer.get("state") != "ringing" or not offer.get("leg_sid"):
            return
        merge_call_facts(call, {}, drop=("offer",))
    if hub.calls is not None:
        try:
            await hub.calls.end_call(offer["leg_sid"])
        except ChannelSendError as exc:
            log.info("voice %s: could not stop the agent's ringing leg: %s", call_sid, exc)


async def plan_agent_leg(hub: Hub, call_sid: str, agent_id: int, leg_sid: str) -> AgentLegPlan:
    """The agent picked up: bridge them if the caller still waits for them (or is held by them)."""
    async with hub.reads() as session:
        call = await session.scalar(select(Interaction).where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid))
        if call is None or call.ticket_id is None:
            return AgentLegPlan(bridge=False)
        facts = call_facts(call)
        offer = facts.get("offer") or {}
        if offer.get("agent_id") != agent_id or facts.get("status") in FINAL_STATUSES or facts.get("queue_result") in LEFT_QUEUE:
            return AgentLegPlan(bridge=False)
        name = await session.scalar(select(Customer.name).join(Ticket, Ticket.customer_id == Customer.id).where(Ticket.id == call.ticket_id))
        return AgentLegPlan(bridge=True, caller_name=name or "", reference=format_reference(call.ticket_id), record=hub.settings.voice.record_calls)


async def note_caller_bridged(hub: Hub, call_sid: str, wait_seconds: int | None) -> None:
    """The <Queue url> request: the caller leaves the line for their agent; the wait is known now."""
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, call_sid)
        if call is not None and wait_seconds is not None and "wait_seconds" not in call_facts(call):
            merge_call_facts(call, {"wait_seconds": wait_seconds})


async def record_agent_leg(hub: Hub, call_sid: str, agent_id: int, leg_sid: str, status: str, *, duration_seconds: int | None = None) -> None:
    """Apply a status callback of an agent's leg, then do what follows outside the transaction."""
    now = utcnow()
    events: list[Event] = []
    voicemail = False
    wrap_up = 0.0
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, call_sid)
        if call is None:
            return
        facts = call_facts(call)
        offer = facts.get("offer") or {}
        current = offer.get("agent_id") == agent_id and offer.get("leg_sid", leg_sid) in (leg_sid, "")
        legs = list(facts.get("legs", []))
        leg = next((item for item in legs if item.get("sid") == leg_sid and leg_sid), None)
        if status == "in-progress" and current and leg is None:
            events += await _answered(session, call, facts, offer, agent_id, leg_sid, now)
        elif status == "completed" and leg is not None and not leg.get("ended_at"):
            wrap_up = hub.settings.voice.wrap_up_seconds
            events += await _hung_up(session, call, facts, leg, legs, offer, duration_seconds, wrap_up, now)
        elif status in UNANSWERED_STATUSES + ("completed",) and current and offer.get("state") != "answered":
            events, voicemail = await _not_answered(session, hub, call, facts, agent_id, status, now)
        elif status in ("initiated", "ringing") and current:
            merge_call_facts(call, {"offer": {**offer, "leg_sid": leg_sid or offer.get("leg_sid", "")}})
    publish_after_commit(hub.bus, events, agent_id, wrap_up)
    if voicemail and hub.calls is not None:
        try:
            await hub.calls.send_to_voicemail(call_sid)
        except ChannelSendError as exc:
            log.warning("voice %s: could not send the caller to voicemail: %s", call_sid, exc)


async def record_consult_leg(hub: Hub, call_sid: str, agent_id: int, leg_sid: str, status: str, *, duration_seconds: int | None = None) -> None:
    """A colleague's leg in a warm transfer: on a call once they answer; a decline just ends the consultation."""
    now = utcnow()
    events: list[Event] = []
    wrap_up = 0.0
    async with hub.sessions() as session, session.begin():
        call = await lock_call(session, call_sid)
        if call is None:
            return
        facts = call_facts(call)
        consult = facts.get("consult") or {}
        legs = list(facts.get("legs", []))
        leg = next((item for item in legs if item.get("sid") == leg_sid), None)
        if status == "in-progress" and consult.get("agent_id") == agent_id and leg is None:
            agent = await session.get_one(Agent, agent_id)
            legs.append({"agent_id": agent_id, "agent": agent.name, "sid": leg_sid, "answered_at": now.isoformat()})
            merge_call_facts(call, {"consult": {**consult, "leg_sid": leg_sid, "state": "answered"}, "legs": legs})
            events += await do_agent_connected(session, agent_id, leg_sid, now)
        elif status == "completed" and leg is not None and not leg.get("ended_at"):
            wrap_up = hub.settings.voice.wrap_up_seconds
            events += await _hung_up(session, call, facts, leg, legs, facts.get("offer") or {}, duration_seconds, wrap_up, now)
            if consult.get("leg_sid") == leg_sid:
                merge_call_facts(call, {}, drop=("consult",))
        elif status in UNANSWERED_STATUSES and consult.get("agent_id") == agent_id:
            merge_call_facts(call, {}, drop=("consult",))
    publish_after_commit(hub.bus, events, agent_id, wrap_up)


async def _answered(
    session: AsyncSession, call: Interaction, facts: dict[str, Any], offer: dict[str, Any], agent_id: int, leg_sid: str, now: datetime
) -> list[Event]:
    agent = await session.get_one(Agent, agent_id)
    first = not facts.get("answered_by")
    legs = [*facts.get("legs", []), {"agent_id": agent_id, "agent": agent.name, "sid": leg_sid, "answered_at": now.isoformat()}]
    merge_call_facts(
        call,
        {
            "offer": {**offer, "leg_sid": leg_sid, "state": "answered"},
            "legs": legs,
            **({"answered_by": agent_id, "answered_by_name": agent.name, "answered_at": now.isoformat()} if first else {}),
        },
    )
    events = await do_agent_connected(session, agent_id, leg_sid, now)
    events.append(Event("voice.answered", {"call_sid": call.provider_id, "agent_id": agent_id, "ticket_id": call.ticket_id}))
    return events


async def _hung_up(
    session: AsyncSession,
    call: Interaction,
    facts: dict[str, Any],
    leg: dict[str, Any],
    legs: list[dict[str, Any]],
    offer: dict[str, Any],
    duration_seconds: int | None,
    wrap_up: float,
    now: datetime,
) -> list[Event]:
    talk = duration_seconds if duration_seconds is not None else _seconds_since(leg.get("answered_at"), now)
    leg.update({"ended_at": now.isoformat(), "talk_seconds": talk})
    done = {"offer": {**offer, "state": "ended"}} if offer.get("leg_sid") == leg["sid"] else {}
    merge_call_facts(call, {"legs": legs, "talk_seconds": sum(int(item.get("talk_seconds") or 0) for item in legs), **done})
    return await do_agent_hung_up(session, int(leg["agent_id"]), str(leg["sid"]), wrap_up, now)


async def _not_answered(
    session: AsyncSession, hub: Hub, call: Interaction, facts: dict[str, Any], agent_id: int, status: str, now: datetime
) -> tuple[list[Event], bool]:
    """Skip the agent: away, the ticket back in line; voicemail when nobody else can take it."""
    tried = [*facts.get("tried", []), agent_id]
    merge_call_facts(call, {"tried": tried}, drop=("offer",))
    events: list[Event] = []
    if call.ticket_id is not None:
        events += await _give_back(session, call.ticket_id, agent_id, f"did not answer ({status})")
    agent = await session.get_one(Agent, agent_id)
    if agent.presence == "available":
        _, changed = await do_set_presence(session, agent_id, "away", actor="system", now=now)
        events += changed
    queue = await session.scalar(select(Queue.name).join(Ticket, Ticket.queue_id == Queue.id).where(Ticket.id == call.ticket_id))
    nobody = queue is None or not await has_available_agent(session, hub.settings, queue, besides=agent_id)
    if nobody:
        merge_call_facts(call, {"to_voicemail": True})
    return events, nobody


async def _give_back(session: AsyncSession, ticket_id: int, agent_id: int, reason: str) -> list[Event]:
    ticket = await session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None or ticket.assignee_id != agent_id:
        return []
    ticket.assignee_id = ticket.assigned_at = None
    audit(session, "system", "ticket.released", ticket, agent_id=agent_id, reason=reason)
    return [Event("ticket.released", {"ticket_id": ticket.id, "agent_id": agent_id, "queue_id": ticket.queue_id})]


def _seconds_since(moment: str | None, now: datetime) -> int:
    return max(0, round((now - datetime.fromisoformat(moment)).total_seconds())) if moment else 0


class Connector:
    """Runs inside `contactcenter serve`: rings agents when calls are assigned or
    queued, and sweeps every `assign_interval_seconds` for what other processes did."""

    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(
            self.hub.bus, self.connect, every=self.hub.settings.routing.assign_interval_seconds, wake_on=TRIGGERS, name="voice-connector"
        )

    async def connect(self) -> None:
        if placed := await connect_assigned(self.hub):
            log.info("voice connector: rang %d agents", placed)
