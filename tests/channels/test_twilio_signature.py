"""Every Twilio webhook is checked with the real RequestValidator against [http] public_url."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from contactcenter.app import create_app
from contactcenter.db.models import ContactPoint, Customer, InboundRecord, Interaction, Ticket
from tests.factories import settings_with
from tests.twilio_standin import AUTH_TOKEN, DATA, PUBLIC_URL, fixture, params, post_signed, sign, standin, twilio_settings  # noqa: F401

WEBHOOKS = [
    ("/webhooks/twilio/sms", "sms_inbound_basic"),
    ("/webhooks/twilio/sms/status", "message_status_delivered"),
    ("/webhooks/twilio/voice", "voice_inbound_ringing"),
    ("/webhooks/twilio/voice/menu", "voice_inbound_ringing"),
    ("/webhooks/twilio/voice/queue", "voice_inbound_ringing"),
    ("/webhooks/twilio/voice/hold", "voice_inbound_ringing"),
    ("/webhooks/twilio/voice/recorded", "voice_record_action"),
    ("/webhooks/twilio/voice/recording", "recording_status_completed"),
    ("/webhooks/twilio/voice/transcription", "transcription_completed"),
    ("/webhooks/twilio/voice/status", "voice_status_inbound_completed"),
]


@pytest.fixture
def settings(settings, standin):
    return twilio_settings(settings, standin.url)


async def stored(hub) -> dict[str, int]:
    async with hub.sessions() as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (Customer, ContactPoint, Ticket, Interaction, InboundRecord)
        }


NOTHING = {"Customer": 0, "ContactPoint": 0, "Ticket": 0, "Interaction": 0, "InboundRecord": 0}


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.stem)
def test_captured_requests_carry_valid_signatures(path: Path):
    """The fixtures are what Twilio would send: their signatures check out as recorded."""
    request = fixture(path.stem)
    assert RequestValidator(AUTH_TOKEN).validate(request["url"], request["params"], request["signature"])


@pytest.mark.parametrize(("path", "name"), WEBHOOKS)
async def test_signed_webhooks_are_accepted(client, path, name):
    # Twilio adds parameters without notice: they are signed over and otherwise ignored.
    response = await post_signed(client, path, params(name, FutureParameter="added later", Empty=""))
    assert response.status in (200, 204), await response.text()


@pytest.mark.parametrize(("path", "name"), WEBHOOKS)
async def test_unsigned_or_missigned_webhooks_get_403_and_store_nothing(client, hub, path, name):
    body = params(name)
    attempts = {
        "missing header": {},
        "wrong signature": {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
        "wrong token": {"X-Twilio-Signature": sign(PUBLIC_URL + path, body, token="0" * 32)},
        "another URL": {"X-Twilio-Signature": sign("https://evil.example.test" + path, body)},
        "the Host header's URL": {"X-Twilio-Signature": sign(str(client.make_url(path)), body)},
        "plain http": {"X-Twilio-Signature": sign(PUBLIC_URL.replace("https:", "http:") + path, body)},
        "tampered body": {"X-Twilio-Signature": sign(PUBLIC_URL + path, {**body, "From": "+13125550177"})},
    }
    for label, headers in attempts.items():
        response = await client.post(path, data=body, headers=headers)
        assert response.status == 403, label
        assert (await response.json())["error"]["code"] == "invalid_signature", label
    assert await stored(hub) == NOTHING


async def test_messaging_service_numbers_validate(client, hub):
    response = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_messaging_service"))
    assert response.status == 200
    assert (await stored(hub))["Interaction"] == 1


async def test_query_string_is_part_of_the_signed_url(client, hub):
    path = "/webhooks/twilio/sms/status?interaction=41&note=a%20b"
    body = params("message_status_sent")
    assert (await post_signed(client, path, body)).status == 204
    without_query = await client.post(path, data=body, headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio/sms/status", body)})
    assert without_query.status == 403


@pytest.mark.parametrize(
    ("public_url", "signed_base"),
    [
        ("https://hub.example.test:443", "https://hub.example.test"),  # Twilio left the default port out
        ("https://hub.example.test", "https://hub.example.test:443"),  # ...or put it in
        ("https://hub.example.test:8443", "https://hub.example.test:8443"),  # a real port is kept
        ("https://hub.example.test/", "https://hub.example.test"),  # a trailing slash in the config
        ("https://proxy.example.test/contactcenter", "https://proxy.example.test/contactcenter"),  # a path prefix
    ],
)
async def test_public_urls_with_ports_and_prefixes_validate(aiohttp_client, hub, public_url, signed_base):
    hub.settings = settings_with(hub.settings, http={"public_url": public_url})
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    path = "/webhooks/twilio/sms"
    response = await post_signed(client, path, params("sms_inbound_basic"), url=signed_base + path)
    assert response.status == 200, await response.text()


async def test_unknown_extra_parameters_are_accepted_and_signed_over(client, hub):
    body = params("sms_inbound_basic", BrandNewParam="added by Twilio", AddOns='{"status":"successful"}')
    assert (await post_signed(client, "/webhooks/twilio/sms", body)).status == 200
    # Leaving the new parameter out of the signature is a mismatch, as Twilio documents.
    signature = sign(PUBLIC_URL + "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "1" * 32))
    response = await client.post("/webhooks/twilio/sms", data=params("sms_inbound_basic", MessageSid="SM" + "1" * 32, Extra="x"), headers={"X-Twilio-Signature": signature})
    assert response.status == 403


async def test_values_needing_decoding_validate(client):
    """Emoji, &, #, + and a CallToken that itself holds %-escapes: decoded once, then signed."""
    sms = params("sms_inbound_basic", Body="A+B & C #1 100% 😟  ")
    assert (await post_signed(client, "/webhooks/twilio/sms", sms)).status == 200
    call = params("voice_inbound_ringing")
    assert "%7B" in call["CallToken"]
    assert (await post_signed(client, "/webhooks/twilio/voice", call)).status == 200


async def test_a_form_of_another_type_is_refused(client, hub):
    response = await client.post("/webhooks/twilio/sms", json=params("sms_inbound_basic"), headers={"X-Twilio-Signature": "x"})
    assert response.status == 415
    assert await stored(hub) == NOTHING


async def test_switched_off_validation_accepts_unsigned_requests_and_warns(aiohttp_client, hub, caplog):
    hub.settings = settings_with(hub.settings, twilio={"validate_signatures": False})
    with caplog.at_level(logging.WARNING, logger="contactcenter.channels.twilio_common"):
        client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    assert any("validate_signatures is false" in r.getMessage() for r in caplog.records)
    assert (await client.post("/webhooks/twilio/sms", data=params("sms_inbound_basic"))).status == 200
