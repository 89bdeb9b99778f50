"""What the ticket page's call controls show (templates/pages/partials/call_controls.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, Customer, Interaction, Queue, Ticket, utcnow
from contactcenter.hub import Hub
from contactcenter.i18n import N_, gettext as _
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
    notice: str = ""
    error: str = ""


# What the call controls say after a post (voice/routes.py redirects with a code, never text).
NOTICES = {
    "transferred": N_("Call transferred; the ticket went with it."),
    "held": N_("The caller is on hold."),
    "resumed": N_("You are back with the caller."),
    "consulting": N_("The caller is on hold while your colleague's phone rings; talk to them, then hand the call over."),
    "calling": N_("Your phone rings now; the customer is dialled when you answer."),
}
ERRORS = {
    "no_live_call": N_("There is no call in progress on this ticket."),
    "provider_refused": N_("The telephone provider refused; the call did not move. Try again."),
    "agent_unreachable": N_("No phone can reach you: open the softphone or ask an admin to add your number."),
    "same_agent": N_("The call is already with that agent."),
    "on_hold": N_("The caller is on hold already."),
    "not_on_hold": N_("The caller is not on hold."),
    "no_such_queue": N_("There is no such queue."),
    "no_such_agent": N_("There is no such agent."),
    "bad_target": N_("Choose a queue or an agent to transfer the call to."),
    "voice_not_configured": N_("Calls are not configured on this hub."),
    "consulting": N_("A consultation is under way already."),
    "colleague_unreachable": N_("No phone can reach that colleague."),
    "colleague_not_there": N_("Your colleague has not answered yet."),
    "forbidden": N_("Only the agent on the call (or a supervisor) can move it."),
}


async def call_panel(
    session: AsyncSession, hub: Hub, ticket: Ticket, timeline: list[Interaction], *, notice: str = "", error: str = ""
) -> CallPanel:
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
        notice=_(NOTICES[notice]) if notice in NOTICES else "",
        error=(refused if error == "call_refused" and (refused := refusal(hub.settings, customer, number, utcnow())) else (_(ERRORS[error]) if error in ERRORS else "")),
    )


