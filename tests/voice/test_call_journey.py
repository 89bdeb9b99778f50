"""A phone call reaches an agent: menu, queue, the agent rung through the Calls API, bridged,
presence on call -> wrap-up -> available, and the call on the caller's timeline."""

from __future__ import annotations

import pytest

from contactcenter.web.supervisor import current_board
from tests.polling import eventually
from tests.twilio_standin import HUB_NUMBER, params, standin  # noqa: F401
from tests.voice.calls import (  # noqa: F401  (hub_client is a fixture)
    hub_client,
    CALL_SID,
    PUBLIC_URL,
    signed,
    agent_leg_status,
    agent_state,
    audit_actions,
    call_settings,
    caller_in_queue,
    rung,
    the_call,
    the_ticket,
    twiml,
    add_phone_agent,
)

ADA_PHONE, BEN_PHONE, CY_PHONE = "+12065550181", "+12065550182", "+12065550183"


@pytest.fixture
def settings(settings, standin):
    return call_settings(settings, standin)



async def test_a_call_reaches_an_agent_and_presence_follows_it(hub_client, hub, standin, auth):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    await add_phone_agent(hub, "Ben", BEN_PHONE, {"billing": 5}, voice=0)  # no voice capacity: never rung

    enqueue = await caller_in_queue(client, "1")
    assert [(v.tag, v.text) for v in enqueue] == [("Enqueue", CALL_SID)]
    assert enqueue[0].get("waitUrl") == f"{PUBLIC_URL}/webhooks/twilio/voice/hold"

    leg = await rung(standin, 1)
    assert (leg["To"], leg["From"], leg["Timeout"], leg["Method"]) == (ADA_PHONE, HUB_NUMBER, "20", "POST")
    assert leg["Url"] == f"{PUBLIC_URL}/webhooks/twilio/voice/agent?call={CALL_SID}&agent={ada}"
    assert leg["StatusCallback"] == f"{PUBLIC_URL}/webhooks/twilio/voice/agent/status?call={CALL_SID}&agent={ada}"
    assert leg["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]

    # While Ada's phone rings, the caller hears their place in line.
    hold = await twiml(client, "/webhooks/twilio/voice/hold", "wait", QueuePosition="1", QueueTime="5")
    assert [(v.tag, v.text) for v in hold][0] == ("Say", "You are number 1 in line.")

    await agent_leg_status(client, leg, "initiated")
    await agent_leg_status(client, leg, "ringing", SequenceNumber="1")
    bridge = await twiml(client, leg["Url"].removeprefix(PUBLIC_URL), CallSid=leg["Sid"], To=ADA_PHONE, Direction="outbound-api")
    assert [v.tag for v in bridge] == ["Say", "Dial"]
    assert bridge[0].text == "Call from a new caller, ticket CC-000001."
    (queue,) = bridge[1]
    assert (queue.tag, queue.text, queue.get("url")) == ("Queue", CALL_SID, f"{PUBLIC_URL}/webhooks/twilio/voice/connecting?call={CALL_SID}")

    async with hub.bus.subscribe() as events:
        await agent_leg_status(client, leg, "in-progress", SequenceNumber="2")
        assert (await events.get()).kind == "agent.call"  # what wakes the supervisor board's stream
    assert await agent_state(hub, ada) == ("available", "on_call")
    board = (await current_board(hub)).to_json()
    assert [a["call_state"] for a in board["agents"] if a["id"] == ada] == ["on_call"]
    await twiml(client, f"/webhooks/twilio/voice/connecting?call={CALL_SID}", "queue_url", QueueTime="42", DequeingCallSid=leg["Sid"])
    await twiml(client, "/webhooks/twilio/voice/queue?queue=billing", QueueResult="bridged", QueueTime="42")
    await agent_leg_status(client, leg, "completed", SequenceNumber="3", CallDuration="187")
    assert await agent_state(hub, ada) == ("available", "wrap_up")
    await eventually(lambda: _free(hub, ada), timeout=10, what="Ada to be free again after wrap-up")
    status = await signed(client, "/webhooks/twilio/voice/status", params("voice_status_inbound_completed", CallDuration="230"))
    assert status.status == 204
    unsigned = await client.post("/webhooks/twilio/voice/agent/status?call=" + CALL_SID + f"&agent={ada}", data={"CallSid": leg["Sid"], "CallStatus": "completed"})
    assert unsigned.status == 403

    body = await (await client.get("/api/v1/tickets/CC-000001", headers=auth)).json()
    assert (body["queue"], body["assignee_id"], body["type"]) == ("billing", ada, "question")
    call = body["interactions"][0]["call"]
    assert call["answered_by"] == {"agent_id": ada, "name": "Ada"}
    assert (call["wait_seconds"], call["talk_seconds"], call["menu_choice"]) == (42, 187, "1")
    assert [c["To"] for c in standin.calls] == [ADA_PHONE]  # Ben (no voice capacity) was never rung
    timeline = await (await client.get(f"/api/v1/customers/{body['customer_id']}/interactions", headers=auth)).json()
    assert timeline["items"][0]["call"]["answered_by"]["name"] == "Ada"


async def _free(hub, agent_id: int) -> bool:
    return await agent_state(hub, agent_id) == ("available", "")


async def test_an_agent_who_does_not_answer_is_skipped_and_nobody_left_means_voicemail(hub_client, hub, standin):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    cy = await add_phone_agent(hub, "Cy", CY_PHONE, {"billing": 1})
    await caller_in_queue(client, "1")
    first = await rung(standin, 1)
    skipped, other = (ada, cy) if first["To"] == ADA_PHONE else (cy, ada)
    await agent_leg_status(client, first, "no-answer", CallDuration="0", SipResponseCode="487")
    assert (await agent_state(hub, skipped))[0] == "away"  # an empty desk is not rung again

    second = await rung(standin, 2)
    assert second["Url"].endswith(f"agent={other}") and second["To"] != first["To"]
    assert (await the_ticket(hub)).assignee_id == other
    stale = await twiml(client, first["Url"].removeprefix(PUBLIC_URL), CallSid=first["Sid"])  # Ada picks up too late
    assert [v.tag for v in stale] == ["Say", "Hangup"]

    await agent_leg_status(client, second, "busy")
    await eventually(lambda: len(standin.call_updates) == 1, what="the caller sent to voicemail")
    assert standin.call_updates[0] == {"Sid": CALL_SID, "Url": f"{PUBLIC_URL}/webhooks/twilio/voice/voicemail?call={CALL_SID}", "Method": "POST"}
    voicemail = await twiml(client, f"/webhooks/twilio/voice/voicemail?call={CALL_SID}")
    assert [v.tag for v in voicemail] == ["Say", "Say", "Record", "Say", "Hangup"]
    assert len(standin.calls) == 2
    ticket = await the_ticket(hub)
    releases = [d["agent_id"] for actor, action, d in await audit_actions(hub, ticket.id) if action == "ticket.released"]
    assert releases == [skipped, other]
    assert (await the_call(hub)).meta["call"]["tried"] == [skipped, other]


async def test_when_ivr_rules_route_the_menu_choice(hub_client, hub, standin, auth):
    """Key 2 is technical support in the menu, but a `when.ivr` rule escalates it."""
    client = hub_client
    await add_phone_agent(hub, "Ben", BEN_PHONE, {"technical": 3})
    cy = await add_phone_agent(hub, "Cy", CY_PHONE, {"escalations": 2})
    enqueue = await caller_in_queue(client, "2")
    assert enqueue[0].get("action") == f"{PUBLIC_URL}/webhooks/twilio/voice/queue?queue=escalations"
    leg = await rung(standin, 1)
    assert leg["To"] == CY_PHONE
    ticket = await the_ticket(hub)
    assert (ticket.ivr_choice, ticket.priority, ticket.assignee_id) == ("2", 4, cy)
    body = await (await client.get("/api/v1/tickets/CC-000001", headers=auth)).json()
    assert body["queue"] == "escalations"
    routed = [d for _, action, d in await audit_actions(hub, ticket.id) if action == "ticket.routed"]
    [by_menu] = [d for d in routed if "ivr" in d]  # the call's ticket was routed once at creation, again by the menu choice
    assert by_menu["ivr"] == "2" and by_menu["rules"] == ["key 2 is escalated"]


async def test_a_softphone_that_is_open_rings_instead_of_the_phone(hub_client, hub, standin):
    from contactcenter.db.models import Agent, utcnow

    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    async with hub.sessions() as session, session.begin():
        (await session.get_one(Agent, ada)).softphone_seen_at = utcnow()
    await caller_in_queue(client, "1")
    assert (await rung(standin, 1))["To"] == f"client:agent-{ada}"


async def test_a_caller_who_hangs_up_stops_the_agents_phone_ringing(hub_client, hub, standin):
    client = hub_client
    await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    await caller_in_queue(client, "1")
    leg = await rung(standin, 1)
    await eventually(lambda: _offer_has_leg(hub), what="the agent leg noted")
    await twiml(client, "/webhooks/twilio/voice/queue?queue=billing", QueueResult="hangup", QueueTime="9")
    status = await signed(client, "/webhooks/twilio/voice/status", params("voice_status_inbound_completed", CallDuration="15"))
    assert status.status == 204
    assert standin.call_updates == [{"Sid": leg["Sid"], "Status": "completed"}]
    assert (await the_ticket(hub)).type == "callback"


async def _offer_has_leg(hub) -> bool:
    return bool(((await the_call(hub)).meta["call"].get("offer") or {}).get("leg_sid"))
