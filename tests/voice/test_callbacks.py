"""Calling customers back: the list of missed calls and voicemails, one click (agent first, then
the customer from the center's number), and the calls that are refused with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from contactcenter.app import create_app
from contactcenter.db.models import Customer, Interaction
from tests.twilio_standin import HUB_NUMBER, closed_line, params, standin  # noqa: F401
from tests.voice.calls import (
    DANA,
    PUBLIC_URL,
    add_phone_agent,
    call_settings,
    signed,
    twiml,
)
from tests.web.workspace_helpers import PASSWORD, form_token, sign_in

ADA_PHONE = "+12065550181"


@pytest.fixture
def settings(settings, standin):
    return call_settings(settings, standin)


@pytest.fixture
async def hub_client(aiohttp_client, hub, standin):
    return await aiohttp_client(create_app(hub.settings, hub, workers=False))


async def missed_call(client) -> None:
    await twiml(client, "/webhooks/twilio/voice")
    response = await signed(client, "/webhooks/twilio/voice/status", params("voice_status_inbound_completed", CallStatus="no-answer", CallDuration="0"))
    assert response.status == 204


async def call_back(client, reference: str = "CC-000001"):
    token = await form_token(client, f"/agent/tickets/{reference}")
    return await client.post(f"/agent/tickets/{reference}/call", data={"csrf_token": token}, allow_redirects=False)


async def test_a_missed_call_is_on_the_callback_list_and_one_click_rings_the_agent_then_the_customer(hub_client, hub, standin):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    await missed_call(client)
    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    listing = await (await client.get("/agent/callbacks")).text()
    assert 'data-reference="CC-000001"' in listing and "Missed call" in listing

    started = await call_back(client)
    assert started.status == 303 and started.headers["Location"].endswith("?call=calling#call-controls")
    (leg,) = standin.calls
    assert (leg["To"], leg["From"]) == (ADA_PHONE, HUB_NUMBER)  # the agent first
    assert leg["Url"] == f"{PUBLIC_URL}/webhooks/twilio/voice/agent/outbound?ticket=1&agent={ada}"
    dial = await twiml(client, leg["Url"].removeprefix(PUBLIC_URL), CallSid=leg["Sid"], To=ADA_PHONE, Direction="outbound-api")
    assert [v.tag for v in dial] == ["Say", "Dial"]
    assert dial[1].get("callerId") == HUB_NUMBER and [(n.tag, n.text) for n in dial[1]] == [("Number", DANA)]  # then the customer

    answered = await signed(client, leg["StatusCallback"].removeprefix(PUBLIC_URL), params("voice_status_outbound_0_initiated", CallSid=leg["Sid"], CallStatus="in-progress"))
    assert answered.status == 204
    async with hub.sessions() as session:
        outbound = (await session.scalars(select(Interaction).where(Interaction.provider_id == leg["Sid"]))).one()
    assert (outbound.direction, outbound.author_agent_id, outbound.meta["call"]["status"]) == ("outbound", ada, "in-progress")


async def test_do_not_call_and_calling_hours_refuse_with_a_clear_message(hub_client, hub, standin):
    client = hub_client
    await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    await missed_call(client)
    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    async with hub.sessions() as session, session.begin():
        customer = (await session.scalars(select(Customer))).one()
        customer.do_not_call, customer.name = True, "Dana Reyes"
    page = await (await client.get("/agent/tickets/CC-000001")).text()
    assert "Dana Reyes asked not to be called (do not call)." in page
    refused = await call_back(client)
    assert refused.headers["Location"].endswith("?call_error=call_refused#call-controls")
    shown = await (await client.get("/agent/tickets/CC-000001?call_error=call_refused")).text()
    assert 'role="alert" id="call-error">Dana Reyes asked not to be called' in shown

    async with hub.sessions() as session, session.begin():
        (await session.scalars(select(Customer))).one().do_not_call = False
    hub.settings = closed_line(hub.settings)
    await call_back(client)
    shown = await (await client.get("/agent/tickets/CC-000001?call_error=call_refused")).text()
    assert "It is outside the center&#39;s calling hours; call back when the line is open." in shown
    assert standin.calls == []  # nothing was dialled


async def test_an_agent_no_phone_can_reach_is_told_so(hub_client, hub, standin):
    from tests.web.workspace_helpers import add_agent

    client = hub_client
    await add_agent(hub, "ada@example.com", presence="available")
    await missed_call(client)
    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    refused = await call_back(client)
    assert refused.headers["Location"].endswith("?call_error=agent_unreachable#call-controls")
    assert standin.calls == []
