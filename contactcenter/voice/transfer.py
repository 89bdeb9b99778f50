"""Moving a live call from the ticket page: cold transfer, warm transfer, hold and resume.

The ticket follows the call: a cold transfer is `routing.assignment.do_transfer`
(audited, the ticket in line in another queue or given to a named agent) plus
a redirect of the caller's call (`CallControl.transfer_caller`), which puts
them in their own line again, where the connector rings whoever gets the
ticket. Hold puts the caller in that line with music only, flagged so nobody
else is rung; resume sends the agent's leg back to them. A warm transfer holds
the caller and puts the agent and the colleague in a conference of their own
(`consult`); completing it bridges the colleague to the caller (the ticket is
transferred to them, audited) and ends the first agent's leg. Each change is
committed before the provider is asked; when the provider refuses, the agent
is told (the ticket has moved; the call has not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.contact import ChannelKind
from contactcenter.db import queries
from contactcenter.db.models import Agent, Interaction, Queue, Ticket, format_reference, utcnow
from contactcenter.errors import ChannelSendError, ConflictError, ForbiddenError
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.routing.assignment import do_transfer
from contactcenter.voice.calls import call_facts, lock_call, merge_call_facts
from contactcenter.voice.reach import choose_destination
from contactcenter.voice.connect import LEFT_QUEUE, latest_call
from contactcenter.web.auth import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A ticket's call while someone is on it, as the ticket page shows it."""

    call_sid: str
    agent_id: int | None  # whose leg is connected
    agent_leg_sid: str
    on_hold: bool
    consulting: int | None = None  # the colleague of a warm transfer under way
    colleague_answered: bool = False


def live_call_of(call: Interaction | None) -> LiveCall | None:
    if call is None or not call.provider_id:
        return None
    facts = call_facts(call)
    offer = facts.get("offer") or {}
    if facts.get("status") in ("completed", "busy", "no-answer", "failed", "canceled") or facts.get("queue_result") in LEFT_QUEUE:
        return None
    if offer.get("state") != "answered" and not facts.get("on_hold"):
        return None
    consult = facts.get("consult") or {}
    return LiveCall(
        call.provider_id,
        offer.get("agent_id"),
        str(offer.get("leg_sid", "")),
        bool(facts.get("on_hold")),
        consulting=consult.get("agent_id"),
        colleague_answered=consult.get("state") == "answered",
    )


async def find_live_call(session: AsyncSession, ticket_id: int) -> LiveCall | None:
    return live_call_of(await latest_call(session, ticket_id))


async def queue_of_call(hub: Hub, call_sid: str) -> str:
    async with hub.reads() as session:
        return await session.scalar(
            select(Queue.name)
            .join(Ticket, Ticket.queue_id == Queue.id)
            .join(Interaction, Interaction.ticket_id == Ticket.id)
            .where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid)
        ) or hub.settings.routing.default_queue


@dataclass(frozen=True, slots=True)
class Consultation:
    colleague_id: int
    reference: str


async def consultation(hub: Hub, call_sid: str) -> Consultation | None:
    """The warm transfer under way for the caller, if any."""
    async with hub.reads() as session:
        call = await session.scalar(select(Interaction).where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid))
    consult = call_facts(call).get("consult") if call is not None else None
    if not consult or call is None or call.ticket_id is None:
        return None
    return Consultation(colleague_id=int(consult["agent_id"]), reference=format_reference(call.ticket_id))


async def is_on_hold(hub: Hub, call_sid: str) -> bool:
    async with hub.reads() as session:
        call = await session.scalar(select(Interaction).where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid))
    return call is not None and bool(call_facts(call).get("on_hold"))


async def cold_transfer(hub: Hub, reference: str, principal: Principal, *, queue_name: str | None = None, agent_id: int | None = None) -> Ticket:
    """Hand the caller and their ticket to another queue or agent; the current agent drops off."""
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        ticket, call, live = await _locked_live_call(session, reference, principal)
        queue = await session.scalar(select(Queue).where(Queue.name == queue_name)) if queue_name else None
        if queue_name and queue is None:
            raise ConflictError(f"no queue {queue_name!r}", code="no_such_queue")
        agent = await session.get(Agent, agent_id) if agent_id else None
        if agent_id and agent is None:
            raise ConflictError(f"no agent {agent_id}", code="no_such_agent")
        if agent is not None and agent.id == live.agent_id:
            raise ConflictError("the call is already with that agent", code="same_agent")
        before = ticket.assignee_id
        events += await do_transfer(session, ticket, queue=queue, agent=agent, actor=principal.actor, reason="call transfer")
        record: dict[str, Any] = {"kind": "cold", "from_agent_id": before, "at": utcnow().isoformat(), "by": principal.actor}
        record |= {"to_queue": queue.name} if queue else {}
        record |= {"to_agent_id": agent.id, "to_agent": agent.name} if agent else {}
        merge_call_facts(call, {"transfers": [*call_facts(call).get("transfers", []), record], "queue_result": ""}, drop=("offer", "on_hold"))
    hub.bus.publish_all(events)
    await _ask(hub, "transfer", hub.calls.transfer_caller(live.call_sid) if hub.calls else None)
    return ticket


async def hold(hub: Hub, reference: str, principal: Principal) -> None:
    async with hub.sessions() as session, session.begin():
        ticket, call, live = await _locked_live_call(session, reference, principal)
        if live.on_hold:
            raise ConflictError("the caller is on hold already", code="on_hold")
        merge_call_facts(call, {"on_hold": True})
        audit(session, principal.actor, "call.held", ticket, call_sid=live.call_sid)
    await _ask(hub, "hold", hub.calls.hold_caller(live.call_sid) if hub.calls else None)


async def resume(hub: Hub, reference: str, principal: Principal) -> None:
    async with hub.sessions() as session, session.begin():
        ticket, call, live = await _locked_live_call(session, reference, principal)
        if not live.on_hold or live.agent_id is None or not live.agent_leg_sid:
            raise ConflictError("the caller is not on hold", code="not_on_hold")
        colleague_leg = (call_facts(call).get("consult") or {}).get("leg_sid")  # a warm transfer given up
        merge_call_facts(call, {}, drop=("on_hold", "consult"))
        audit(session, principal.actor, "call.resumed", ticket, call_sid=live.call_sid)
    await _ask(hub, "resume", hub.calls.reconnect_agent(live.agent_leg_sid, live.call_sid, live.agent_id) if hub.calls else None)
    if colleague_leg and hub.calls is not None:
        await _ask(hub, "hang-up", hub.calls.end_call(colleague_leg))


async def consult(hub: Hub, reference: str, principal: Principal, agent_id: int) -> None:
    """Warm transfer, first half: the caller holds while the agent talks to the colleague."""
    async with hub.sessions() as session, session.begin():
        ticket, call, live = await _locked_live_call(session, reference, principal)
        colleague = await session.get(Agent, agent_id)
        if colleague is None or not colleague.active:
            raise ConflictError(f"no agent {agent_id}", code="no_such_agent")
        if colleague.id == live.agent_id:
            raise ConflictError("the call is already with that agent", code="same_agent")
        if call_facts(call).get("consult"):
            raise ConflictError("a consultation is under way already", code="consulting")
        to = choose_destination(colleague, utcnow())
        if to is None:
            raise ConflictError(f"no phone can reach {colleague.name}", code="colleague_unreachable")
        merge_call_facts(call, {"on_hold": True, "consult": {"agent_id": colleague.id, "state": "ringing", "by": live.agent_id}})
        audit(session, principal.actor, "call.consult_started", ticket, call_sid=live.call_sid, agent_id=colleague.id)
    if hub.calls is None:
        raise ConflictError("calls are not configured on this hub ([twilio])", code="voice_not_configured")
    await _ask(hub, "hold", hub.calls.hold_caller(live.call_sid))
    leg = await _ask(hub, "call to the colleague", hub.calls.ring_colleague(to=to, call_sid=live.call_sid, agent_id=agent_id, timeout=hub.settings.voice.agent_ring_seconds))
    async with hub.sessions() as session, session.begin():
        locked = await lock_call(session, live.call_sid)
        if locked is not None and (c := call_facts(locked).get("consult")) and c.get("agent_id") == agent_id and not c.get("leg_sid"):
            merge_call_facts(locked, {"consult": {**c, "leg_sid": leg}})
    if live.agent_id is not None and live.agent_leg_sid:
        await _ask(hub, "consultation", hub.calls.join_consultation(live.agent_leg_sid, live.call_sid, live.agent_id))


async def complete_warm_transfer(hub: Hub, reference: str, principal: Principal) -> Ticket:
    """Warm transfer, second half: the colleague gets the caller and the ticket; the agent drops off."""
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        ticket, call, live = await _locked_live_call(session, reference, principal)
        facts = call_facts(call)
        consult = facts.get("consult") or {}
        if consult.get("state") != "answered" or not consult.get("leg_sid"):
            raise ConflictError("the colleague has not answered yet", code="colleague_not_there")
        colleague = await session.get_one(Agent, consult["agent_id"])
        events += await do_transfer(session, ticket, queue=None, agent=colleague, actor=principal.actor, reason="warm transfer")
        record = {"kind": "warm", "from_agent_id": live.agent_id, "to_agent_id": colleague.id, "to_agent": colleague.name, "at": utcnow().isoformat(), "by": principal.actor}
        offer = {"agent_id": colleague.id, "leg_sid": consult["leg_sid"], "state": "answered", "at": utcnow().isoformat()}
        merge_call_facts(call, {"transfers": [*facts.get("transfers", []), record], "offer": offer}, drop=("consult", "on_hold"))
    hub.bus.publish_all(events)
    if hub.calls is None:
        raise ConflictError("calls are not configured on this hub ([twilio])", code="voice_not_configured")
    await _ask(hub, "transfer", hub.calls.reconnect_agent(consult["leg_sid"], live.call_sid, colleague.id))
    if live.agent_leg_sid:
        await _ask(hub, "hang-up", hub.calls.end_call(live.agent_leg_sid))
    return ticket


async def _locked_live_call(session: AsyncSession, reference: str, principal: Principal) -> tuple[Ticket, Interaction, LiveCall]:
    ticket = await queries.get_ticket(session, reference)
    call = await latest_call(session, ticket.id, lock=True)
    live = live_call_of(call)
    if call is None or live is None:
        raise ConflictError("there is no call in progress on this ticket", code="no_live_call")
    if live.agent_id != principal.agent_id and not principal.has_role("supervisor"):
        raise ForbiddenError("only the agent on the call (or a supervisor) can move it")
    return ticket, call, live


async def _ask(hub: Hub, what: str, request: Any) -> Any:
    """The provider request for a change already committed; its refusal reaches the agent."""
    if request is None:
        raise ConflictError("calls are not configured on this hub ([twilio])", code="voice_not_configured")
    try:
        return await request
    except ChannelSendError as exc:
        log.warning("voice %s failed: %s", what, exc)
        raise ConflictError(f"The telephone provider refused the {what}: {exc}", code="provider_refused", status=502) from exc
