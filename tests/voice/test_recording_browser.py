"""A recorded call plays on the ticket page, streamed through the hub; the browser never sees Twilio's credentials."""

from __future__ import annotations

import base64

import pytest

from tests.browser import screenshot_path
from tests.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, params, standin  # noqa: F401
from tests.voice.calls import hub_client  # noqa: F401  (a fixture)
from tests.voice.calls import CALL_SID, PUBLIC_URL, add_phone_agent, agent_leg_status, call_settings, connected_call, signed, twiml
from tests.web.workspace_helpers import PASSWORD, sign_in

RECORDING = "RE" + "4b" * 16


@pytest.fixture
def settings(settings, standin):
    return call_settings(settings, standin, record_calls=True)



async def test_the_ticket_page_plays_the_call_recording_through_the_hub(hub_client, hub, standin, browser):
    client = hub_client
    await add_phone_agent(hub, "Ada", "+12065550181", {"billing": 3})
    leg = await connected_call(client, standin)
    greeting = await twiml(client, "/webhooks/twilio/voice")  # the same webhook again gets the same answer
    assert [v.text for v in greeting][:2] == ["Thank you for calling.", "This call is recorded for quality and training."]
    bridge = await twiml(client, leg["Url"].removeprefix(PUBLIC_URL), CallSid=leg["Sid"])
    dial = bridge[1]
    assert (dial.get("record"), dial.get("recordingStatusCallback")) == (
        "record-from-answer-dual",
        f"{PUBLIC_URL}/webhooks/twilio/voice/call-recording?call={CALL_SID}",
    )
    await agent_leg_status(client, leg, "completed", CallDuration="61")
    standin.add_recording(RECORDING, seconds=1.0)
    ready = await signed(
        client,
        f"/webhooks/twilio/voice/call-recording?call={CALL_SID}",
        params("recording_status_completed", CallSid=leg["Sid"], RecordingSid=RECORDING, RecordingDuration="1"),
    )
    assert ready.status == 204

    assert (await sign_in(client, "ada@example.com", PASSWORD)).status == 303
    page_html = await (await client.get("/agent/tickets/CC-000001")).text()
    assert AUTH_TOKEN not in page_html and standin.url not in page_html and "api.twilio.com" not in page_html
    assert (await client.get(f"/agent/calls/1/recordings/{'RE' + '0' * 32}")).status == 404  # not on this call: never fetched

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    seen: list[tuple[str, dict, str]] = []

    async def note(request) -> None:
        seen.append((request.url, await request.all_headers(), request.post_data or ""))

    page.on("request", lambda request: page_tasks.append(note(request)))
    page_tasks: list = []
    await page.context.add_cookies([{"name": c.key, "value": c.value, "url": str(client.make_url("/"))} for c in client.session.cookie_jar])
    await page.goto(str(client.make_url("/agent/tickets/CC-000001")))
    audio = page.locator(f'audio[data-recording="{RECORDING}"]')
    assert await audio.get_attribute("src") == f"/agent/calls/1/recordings/{RECORDING}"
    await audio.evaluate("a => { a.muted = true; return a.play(); }")
    await page.wait_for_function(
        "sid => { const a = document.querySelector(`audio[data-recording='${sid}']`); return a.ended || a.currentTime > 0.3; }",
        arg=RECORDING,
        timeout=15000,
    )
    assert abs(await audio.evaluate("a => a.duration") - 1.0) < 0.05
    await audio.scroll_into_view_if_needed()
    await page.screenshot(path=screenshot_path("ticket-call-recording"), full_page=True)
    for task in page_tasks:
        await task

    secret = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert any(url.endswith(f"/recordings/{RECORDING}") for url, _, _ in seen)
    for url, headers, body in seen:
        assert url.startswith(str(client.make_url("/"))), url  # only the hub: never Twilio
        carried = url + " ".join(f"{k}: {v}" for k, v in headers.items()) + body
        assert AUTH_TOKEN not in carried and secret not in carried and ACCOUNT_SID not in carried
    # The hub fetched it from "Twilio" with the account's credentials.
    assert {h.get("Authorization") for h in standin.recording_fetches} == {f"Basic {secret}"}
