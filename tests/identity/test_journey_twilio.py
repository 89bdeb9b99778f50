"""The identity journey with the SMS arriving as Twilio sends it: a signed webhook."""

from __future__ import annotations

import pytest

from contactcenter.contact import ChannelKind
from contactcenter.pipeline.run import ingest
from tests.factories import ALICE_EMAIL, ALICE_PHONE, make_inbound
from tests.twilio_standin import params, post_signed, standin, twilio_settings  # noqa: F401


@pytest.fixture
def settings(settings, standin):  # noqa: F811
    return twilio_settings(settings, standin.url)


async def sms(client, sid: str, body: str) -> None:
    response = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", From=ALICE_PHONE, MessageSid=sid, Body=body))
    assert response.status == 200


async def customers_with(client, auth, query: str) -> list[int]:
    found = await (await client.get(f"/api/v1/customers?{query}", headers=auth)).json()
    return [c["id"] for c in found["items"]]


async def test_signed_sms_joins_alice_after_the_merge_and_leaves_with_the_undo(client, hub, auth):
    alice = (await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, evidence="verified"))).customer_id
    await sms(client, "SM" + "1" * 32, "Texting from my phone")
    (texter,) = await customers_with(client, auth, "phone=%2B14155550100")
    assert texter != alice

    web = await client.post("/api/v1/contacts", json={"external_id": "form-1", "email": ALICE_EMAIL, "phone": ALICE_PHONE, "message": "Both"}, headers=auth)
    assert (await web.json())["customer_id"] == alice
    suggestions = (await (await client.get("/api/v1/merge-suggestions", headers=auth)).json())["items"]
    assert [(s["customer_a_id"], s["customer_b_id"]) for s in suggestions] == [tuple(sorted((alice, texter)))]

    merge = await (await client.post(f"/api/v1/customers/{alice}/merge", json={"from_customer_id": texter}, headers=auth)).json()
    await sms(client, "SM" + "2" * 32, "Any news?")
    assert await customers_with(client, auth, "phone=(415) 555-0100") == [alice]
    timeline = await (await client.get(f"/api/v1/customers/{alice}/interactions", headers=auth)).json()
    texts = [(i["channel"], i["text"]) for i in timeline["items"] if i["direction"] == "inbound"]
    assert texts == [("email", "Hello, I need help."), ("sms", "Texting from my phone"), ("api", "Both"), ("sms", "Any news?")]
    assert timeline["items"][-1]["match_evidence"] == "verified"

    assert (await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=auth)).status == 200
    assert await customers_with(client, auth, "phone=%2B14155550100") == [texter]
