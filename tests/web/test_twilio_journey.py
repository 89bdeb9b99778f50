"""One SMS conversation end to end: Twilio in, the real outbox worker out, Twilio's reports back."""

from __future__ import annotations


import aiohttp
import pytest

from contactcenter.app import create_app
from tests.polling import eventually
from tests.factories import settings_with
from tests.hubprocess import HubProcess
from tests.twilio_standin import HUB_NUMBER, params, post_signed, sign, standin, twilio_settings  # noqa: F401

DANA = "+12065550143"


@pytest.fixture
def settings(settings, standin):
    return settings_with(twilio_settings(settings, standin.url), tickets={"auto_acknowledge": True})


async def test_sms_conversation(aiohttp_client, hub, auth, standin):
    client = await aiohttp_client(create_app(hub.settings, hub))  # with the outbox worker

    first = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic"))
    assert first.status == 200 and "<Message>" not in await first.text()
    await eventually(lambda: len(standin.accepted) == 1, timeout=30)
    ack = standin.accepted[0]
    assert (ack["To"], ack["From"]) == (DANA, HUB_NUMBER) and "CC-000001" in ack["Body"]

    reply = await client.post("/api/v1/tickets/CC-000001/replies", json={"text": "It ships today."}, headers=auth)
    assert reply.status == 201
    reply_id = (await reply.json())["id"]
    await eventually(lambda: len(standin.accepted) == 2, timeout=30)
    sid = standin.accepted[1]["Sid"]
    delivered = params("message_status_delivered", MessageSid=sid, SmsSid=sid)
    assert (await post_signed(client, f"/webhooks/twilio/sms/status?interaction={reply_id}", delivered)).status == 204

    again = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "2" * 32, Body="Thanks!"))
    assert again.status == 200
    stop = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "3" * 32, Body="STOP"))
    assert stop.status == 200
    refused = await client.post("/api/v1/tickets/CC-000001/replies", json={"text": "One more thing"}, headers=auth)
    assert refused.status == 409

    ticket = await (await client.get("/api/v1/tickets/CC-000001", headers=auth)).json()
    timeline = [(i["direction"], i["text"].strip()[:15], i["delivery_status"]) for i in ticket["interactions"]]
    assert timeline == [
        ("inbound", "Hi, order #4411", ""),
        ("outbound", "Thanks, we got ", "queued"),
        ("outbound", "It ships today.", "delivered"),
        ("inbound", "Thanks!", ""),
        ("inbound", "STOP", ""),
    ]
    assert len(standin.requests) == 2  # no acknowledgement of the follow-ups, nothing after STOP


async def test_a_real_hub_process_takes_signed_webhooks_and_warns_when_unsigned(tmp_path, database_url, standin):
    sections = {"twilio": {"account_sid": "ACe268443e43d93dab7ebef303bbe9642f", "auth_token": "f00dbabe0123456789abcdef00c0ffee", "phone_number": HUB_NUMBER, "api_base_url": standin.url}}
    async with HubProcess(tmp_path, database_url, sections) as hub, aiohttp.ClientSession() as session:
        body = params("sms_inbound_basic")
        url = hub.url + "/webhooks/twilio/sms"
        async with session.post(url, data=body, headers={"X-Twilio-Signature": sign(url, body)}) as response:
            assert response.status == 200
        async with session.post(url, data=body, headers={"X-Twilio-Signature": "bad"}) as response:
            assert response.status == 403
        await eventually(lambda: len(standin.accepted) == 1, timeout=30)  # the acknowledgement, sent by the process's outbox
        assert "validate_signatures is false" not in hub.log()

    unsigned = tmp_path / "unsigned"
    unsigned.mkdir()
    sections["twilio"]["validate_signatures"] = False
    async with HubProcess(unsigned, database_url, sections) as hub:
        assert "validate_signatures is false" in hub.log()
