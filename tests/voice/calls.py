"""Driving a phone call the way Twilio does: signed webhooks in, the stand-in's REST log out."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from contactcenter.app import create_app

from contactcenter.db.models import Agent, AuditEvent, Interaction, Ticket
from contactcenter.settings import QueueSettings, RoutingRule, RuleActions, RuleConditions, TwilioMenuOption
from tests.factories import settings_with
from tests.polling import eventually
from tests.twilio_standin import params, post_signed, twilio_settings
from tests.twiml_check import check_twiml
from tests.web.workspace_helpers import add_agent

CALL_SID = "CA6a4a10c1e6b9c7bb0577933d598cc013"
# Plain http, so the test client keeps the workspace's session cookies (they are
# Secure behind https); Twilio signs whatever URL the hub is configured with.
PUBLIC_URL = "http://hub.example.test"
DANA = "+12065550143"
MENU = [
    TwilioMenuOption(digit="1", queue="billing", words=["billing"]),
    TwilioMenuOption(digit="2", queue="technical", words=["support"]),
]
QUEUES = {
    "general": QueueSettings(skills=[], sla_policy="standard", calendar="always"),
    "billing": QueueSettings(skills=["billing"], sla_policy="standard", calendar="always"),
    "technical": QueueSettings(skills=["technical"], sla_policy="standard", calendar="always"),
    "escalations": QueueSettings(skills=["escalations"], sla_policy="standard", calendar="always"),
}
# A menu key that routing rules, not the menu itself, send somewhere else.
IVR_RULE = RoutingRule(name="key 2 is escalated", when=RuleConditions(ivr=["2"]), then=RuleActions(queue="escalations", priority="urgent"))


@pytest.fixture
async def hub_client(aiohttp_client, hub, standin):
    """The hub with its workers (assigner, voice connector) on a loopback socket; Twilio knows the call."""
    standin.incoming(CALL_SID)
    return await aiohttp_client(create_app(hub.settings, hub))


def call_settings(settings, standin, **voice):
    base = twilio_settings(settings, standin.url, menu=MENU)
    return settings_with(
        base,
        http={"public_url": PUBLIC_URL},
        routing={"queues": QUEUES, "rules": [IVR_RULE], "assign_interval_seconds": 60.0},
        voice={"agent_ring_seconds": 20, "wrap_up_seconds": 0.5, "record_calls": False, **voice},
        twilio={"voice": dataclasses.replace(base.twilio.voice, hold_music_url="")},
    )


async def add_phone_agent(hub, name: str, phone: str, skills: dict, voice: int = 1) -> int:
    return await add_agent(
        hub, email=f"{name.lower()}@example.com", name=name, phone=phone, skills=skills, capacity={"voice": voice}, presence="available"
    )


async def twiml(client, path: str, context: str = "call", **changes: str) -> ET.Element:
    response = await signed(client, path, params("voice_inbound_ringing", **changes))
    assert response.status == 200, await response.text()
    return check_twiml(await response.text(), context, PUBLIC_URL)


async def agent_leg_status(client, leg: dict, status: str, **extra: str) -> None:
    query = leg["StatusCallback"].removeprefix(PUBLIC_URL)
    body = params("voice_status_outbound_0_initiated", CallSid=leg["Sid"], To=leg["To"], Called=leg["To"], CallStatus=status, **extra)
    response = await signed(client, query, body)
    assert response.status == 204, await response.text()


async def signed(client, path: str, body: dict[str, str]):
    return await post_signed(client, path, body, url=PUBLIC_URL + path)


async def caller_in_queue(client, digit: str = "1") -> ET.Element:
    """The call comes in and the caller presses `digit`: -> the menu answer (an <Enqueue>)."""
    assert [v.tag for v in await twiml(client, "/webhooks/twilio/voice")][-2:] == ["Gather", "Redirect"]
    return await twiml(client, "/webhooks/twilio/voice/menu?attempt=1", Digits=digit)


async def rung(standin, count: int) -> dict:
    """The `count`-th Calls.create the stand-in accepted (1-based), once it came."""
    await eventually(lambda: len(standin.calls) >= count, timeout=20, what=f"call #{count} to an agent")
    return standin.calls[count - 1]


async def agent_state(hub, agent_id: int) -> tuple[str, str]:
    from contactcenter.routing.live_state import agent_states

    async with hub.sessions() as session:
        agent = await session.get_one(Agent, agent_id)
        (state,) = await agent_states(session, hub.settings, [agent])
    return state["presence"], state["call_state"]


async def the_ticket(hub) -> Ticket:
    async with hub.sessions() as session:
        return (await session.scalars(select(Ticket).order_by(Ticket.id))).first()


async def the_call(hub) -> Interaction:
    async with hub.sessions() as session:
        return (await session.scalars(select(Interaction).where(Interaction.provider_id == CALL_SID))).one()


async def audit_actions(hub, ticket_id: int) -> list[tuple[str, str, dict]]:
    async with hub.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.subject_type == "ticket", AuditEvent.subject_id == ticket_id).order_by(AuditEvent.id)
        )
        return [(e.actor, e.action, e.details) for e in rows]


async def connected_call(client, standin, digit: str = "1") -> dict:
    """A caller in line, their agent rung and answering: -> that agent's leg at the stand-in."""
    await caller_in_queue(client, digit)
    leg = await rung(standin, len(standin.calls) + 1)
    await twiml(client, leg["Url"].removeprefix(PUBLIC_URL), CallSid=leg["Sid"], Direction="outbound-api")
    await agent_leg_status(client, leg, "in-progress")
    await twiml(client, f"/webhooks/twilio/voice/connecting?call={CALL_SID}", "queue_url", QueueTime="12")
    return leg
