"""Moving a live call from the ticket page: cold transfer (the ticket follows, audited), hold and resume."""

from __future__ import annotations

import pytest

from tests.browser import screenshot_path
from tests.twilio_standin import standin  # noqa: F401
from tests.voice.calls import (  # noqa: F401  (hub_client is a fixture)
    hub_client,
    CALL_SID,
    PUBLIC_URL,
    add_phone_agent,
    agent_leg_status,
    agent_state,
    audit_actions,
    call_settings,
    connected_call,
    rung,
    the_ticket,
    twiml,
)
from tests.web.workspace_helpers import PASSWORD, form_token, sign_in

ADA_PHONE, TOM_PHONE = "+12065550181", "+12065550184"


@pytest.fixture
def settings(settings, standin):
    return call_settings(settings, standin)



async def test_a_cold_transfer_from_the_ticket_page_redirects_the_call_and_moves_the_ticket(hub_client, hub, standin):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    tom = await add_phone_agent(hub, "Tom", TOM_PHONE, {"technical": 3})
    first = await connected_call(client, standin)
    assert first["To"] == ADA_PHONE

    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    page = await (await client.get("/agent/tickets/CC-000001")).text()
    assert "Call in progress." in page and 'value="queue:technical"' in page
    token = await form_token(client, "/agent/tickets/CC-000001")
    moved = await client.post(
        "/agent/tickets/CC-000001/call/transfer", data={"csrf_token": token, "target": "queue:technical"}, allow_redirects=False
    )
    assert moved.status == 303 and moved.headers["Location"].endswith("?call=transferred#call-controls")

    assert standin.call_updates == [{"Sid": CALL_SID, "Url": f"{PUBLIC_URL}/webhooks/twilio/voice/transferred?call={CALL_SID}", "Method": "POST"}]
    again = await twiml(client, f"/webhooks/twilio/voice/transferred?call={CALL_SID}")
    assert [(v.tag, v.text) for v in again] == [("Say", "Please hold while I transfer your call."), ("Enqueue", CALL_SID)]
    assert again[1].get("action").endswith("queue=technical")
    # Ada's <Dial> ends when the caller leaves it; her leg hangs up and she wraps up.
    assert [v.tag for v in await twiml(client, f"/webhooks/twilio/voice/agent/after?call={CALL_SID}&agent={ada}", CallSid=first["Sid"])] == ["Hangup"]
    await agent_leg_status(client, first, "completed", CallDuration="64")
    assert await agent_state(hub, ada) == ("available", "wrap_up")

    second = await rung(standin, 2)  # the technical queue's agent gets the caller
    assert (second["To"], second["Url"].endswith(f"agent={tom}")) == (TOM_PHONE, True)
    ticket = await the_ticket(hub)
    assert ticket.assignee_id == tom
    transferred = [(actor, d) for actor, action, d in await audit_actions(hub, ticket.id) if action == "ticket.transferred"]
    assert len(transferred) == 1 and transferred[0][0] == f"agent:{ada}"
    assert transferred[0][1]["reason"] == "call transfer" and transferred[0][1]["from"]["agent_id"] == ada

    notice = await (await client.get("/agent/tickets/CC-000001?call=transferred")).text()
    assert "Call transferred; the ticket went with it." in notice


async def test_hold_and_resume_keep_the_caller_with_their_agent(hub_client, hub, standin, browser):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    leg = await connected_call(client, standin)
    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    token = await form_token(client, "/agent/tickets/CC-000001")
    held = await client.post("/agent/tickets/CC-000001/call/hold", data={"csrf_token": token}, allow_redirects=False)
    assert held.status == 303
    assert standin.call_updates[-1]["Url"] == f"{PUBLIC_URL}/webhooks/twilio/voice/held?call={CALL_SID}"
    music = await twiml(client, f"/webhooks/twilio/voice/held?call={CALL_SID}")
    assert [(v.tag, v.text) for v in music] == [("Enqueue", CALL_SID)]
    waiting = await twiml(client, f"/webhooks/twilio/voice/agent/after?call={CALL_SID}&agent={ada}", CallSid=leg["Sid"])
    assert [v.tag for v in waiting] == ["Say", "Pause", "Redirect"]  # Ada stays on the line
    assert len(standin.calls) == 1  # nobody else is rung for a held caller

    resumed = await client.post("/agent/tickets/CC-000001/call/resume", data={"csrf_token": token}, allow_redirects=False)
    assert resumed.status == 303 and resumed.headers["Location"].endswith("?call=resumed#call-controls")
    assert standin.call_updates[-1] == {"Sid": leg["Sid"], "Url": f"{PUBLIC_URL}/webhooks/twilio/voice/agent?call={CALL_SID}&agent={ada}", "Method": "POST"}
    bridge = await twiml(client, f"/webhooks/twilio/voice/agent?call={CALL_SID}&agent={ada}", CallSid=leg["Sid"])
    assert [v.tag for v in bridge] == ["Say", "Dial"]
    actions = [action for _, action, _ in await audit_actions(hub, (await the_ticket(hub)).id)]
    assert "call.held" in actions and "call.resumed" in actions

    # What Ada sees: the call controls next to the reply box.
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.context.add_cookies([{"name": c.key, "value": c.value, "url": str(client.make_url("/"))} for c in client.session.cookie_jar])
    await page.goto(str(client.make_url("/agent/tickets/CC-000001")))
    await page.locator("#call-controls").scroll_into_view_if_needed()
    assert await page.locator("#call-transfer button").inner_text() == "Transfer the call"
    # The softphone's SDK is the hub's own copy, loaded under the page's CSP.
    assert await page.evaluate("typeof window.Twilio === 'object' && typeof window.Twilio.Device") == "function"
    await page.screenshot(path=screenshot_path("ticket-call-controls"), full_page=True)


async def test_a_warm_transfer_lets_the_agent_talk_to_the_colleague_first(hub_client, hub, standin):
    client = hub_client
    ada = await add_phone_agent(hub, "Ada", ADA_PHONE, {"billing": 3})
    tom = await add_phone_agent(hub, "Tom", TOM_PHONE, {"technical": 3})
    first = await connected_call(client, standin)
    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    token = await form_token(client, "/agent/tickets/CC-000001")
    asked = await client.post("/agent/tickets/CC-000001/call/consult", data={"csrf_token": token, "agent": str(tom)}, allow_redirects=False)
    assert asked.headers["Location"].endswith("?call=consulting#call-controls")
    colleague = await rung(standin, 2)
    assert colleague["To"] == TOM_PHONE and colleague["Url"] == f"{PUBLIC_URL}/webhooks/twilio/voice/agent/consult?call={CALL_SID}&agent={tom}"
    assert [u["Url"].split("?")[0].rsplit("/", 1)[1] for u in standin.call_updates] == ["held", "consult"]  # caller holds, Ada joins the room
    assert standin.call_updates[1]["Sid"] == first["Sid"]
    room = await twiml(client, colleague["Url"].removeprefix(PUBLIC_URL), CallSid=colleague["Sid"])
    assert [v.tag for v in room] == ["Say", "Dial"] and room[1][0].tag == "Conference" and room[1][0].text == f"consult-{CALL_SID}"
    page = await (await client.get("/agent/tickets/CC-000001")).text()
    assert "Your colleague's phone is ringing." in page
    await agent_leg_status(client, colleague, "in-progress")
    assert await agent_state(hub, tom) == ("available", "on_call")

    handed = await client.post("/agent/tickets/CC-000001/call/complete", data={"csrf_token": token}, allow_redirects=False)
    assert handed.headers["Location"].endswith("?call=transferred#call-controls")
    assert standin.call_updates[2] == {"Sid": colleague["Sid"], "Url": f"{PUBLIC_URL}/webhooks/twilio/voice/agent?call={CALL_SID}&agent={tom}", "Method": "POST"}
    assert standin.call_updates[3] == {"Sid": first["Sid"], "Status": "completed"}
    bridge = await twiml(client, f"/webhooks/twilio/voice/agent?call={CALL_SID}&agent={tom}", CallSid=colleague["Sid"])
    assert [v.tag for v in bridge] == ["Say", "Dial"] and bridge[1][0].text == CALL_SID
    await agent_leg_status(client, first, "completed", CallDuration="90")
    assert await agent_state(hub, ada) == ("available", "wrap_up")
    ticket = await the_ticket(hub)
    assert ticket.assignee_id == tom
    transferred = [d for _, action, d in await audit_actions(hub, ticket.id) if action == "ticket.transferred"]
    assert transferred[-1]["reason"] == "warm transfer"
