"""What the ticket page's call controls show (templates/pages/partials/call_controls.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, Customer, Interaction, Queue, Ticket, utcnow
from contactcenter.hub import Hub
from contactcenter.voice.callbacks import _phone_of, refusal
from contactcenter.voice.summary import call_summary
from contactcenter.voice.transfer import LiveCall, find_live_call


@dataclass(frozen=True, slots=True)
class CallPanel:
    live: LiveCall | None
    calls: list[tuple[Interaction, dict[str, Any]]]  # the customer's calls and voicemails with their summaries
    queues: list[str]
    agents: list[tuple[int, str]]  # whom a call can go to
    call_refusal: str  # why the customer cannot be called now ("" when they can)
    number: str | None
    recording_paths: dict[str, str] = field(default_factory=dict)  # recording id -> the hub's URL for it


async def call_panel(session: AsyncSession, hub: Hub, ticket: Ticket, timeline: list[Interaction]) -> CallPanel:
    customer = await session.get_one(Customer, ticket.customer_id)
    number = await _phone_of(session, customer.id)
    calls = [(i, summary) for i in timeline if (summary := call_summary(i)) is not None]
    paths = {sid: f"/agent/calls/{i.id}/recordings/{sid}" for i, summary in calls for sid in summary["recordings"]}
    agents = [(a.id, a.name) for a in await session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name))]
    return CallPanel(
        live=await find_live_call(session, ticket.id),
        calls=calls,
        queues=list(await session.scalars(select(Queue.name).order_by(Queue.name))),
        agents=agents,
        call_refusal=refusal(hub.settings, customer, number, utcnow()),
        number=number,
        recording_paths=paths,
    )


