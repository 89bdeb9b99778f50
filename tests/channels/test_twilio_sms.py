"""Inbound SMS/MMS: captured payloads in, exact contacts and records out."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest
from multidict import MultiDict, MultiDictProxy
from sqlalchemy import select

from contactcenter.channels.twilio_sms import parse_sms
from contactcenter.contact import ChannelKind, Identity
from contactcenter.db.models import ContactPoint, Interaction, OutboxMessage, Ticket
from tests.factories import settings_with
from tests.twilio_standin import closed_line, params, post_signed, standin, twilio_settings  # noqa: F401

SMS = "/webhooks/twilio/sms"
DANA = "+12065550143"


@pytest.fixture
def settings(settings, standin):
    return twilio_settings(settings, standin.url)


def form(name: str, **changes: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(params(name, **changes)))


async def rows(hub, model, *where):
    async with hub.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def send_sms(client, name: str = "sms_inbound_basic", **changes: str):
    response = await post_signed(client, SMS, params(name, **changes))
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return ET.fromstring(await response.text())


def test_parse_basic_sms(settings):
    contact = parse_sms(form("sms_inbound_basic"), settings)
    assert contact.channel == ChannelKind.SMS
    assert contact.provider_id == "SM735f6228a9e63fb091978cccd641c651"
    assert contact.identities == (Identity(kind="phone", value=DANA, evidence="verified", is_reply_address=True),)
    assert contact.text == "Hi, order #4411 hasn't arrived & I'm worried 😟"
    assert contact.source_address == "+15035550100"
    assert contact.is_automated is False and contact.thread_hints == ()
    assert contact.metadata == {
        "twilio": {
            "from": DANA,
            "to": "+15035550100",
            "num_segments": "1",
            "from_geo": {"city": "SEATTLE", "state": "WA", "zip": "98101", "country": "US"},
            "to_geo": {"city": "PORTLAND", "state": "OR", "zip": "97204", "country": "US"},
        },
        "media": [],
    }


def test_parse_mms_media_items(settings):
    contact = parse_sms(form("mms_inbound_two_media"), settings)
    base = "https://api.twilio.com/2010-04-01/Accounts/ACe268443e43d93dab7ebef303bbe9642f/Messages/MMa83818bfc4b5b5d6e644a7bbb9081717/Media/"
    assert contact.metadata["media"] == [
        {"url": base + "ME6ca0fb7cd51949dd47e1c02625e60647", "content_type": "image/jpeg"},
        {"url": base + "MEc1fb6ad6dd53b9fd132b271a1c3a582d", "content_type": "application/pdf"},
    ]
    assert contact.text == ""


def test_parse_ticket_reference_and_keywords(settings):
    assert parse_sms(form("sms_inbound_basic", Body="About cc-000042 again"), settings).thread_hints == ("CC-000042",)
    stop = parse_sms(form("sms_inbound_basic", Body=" Stop "), settings)
    assert stop.metadata["sms_consent"] == "opt_out" and stop.is_automated
    assert parse_sms(form("sms_inbound_basic", Body="start"), settings).metadata["sms_consent"] == "opt_in"
    assert "sms_consent" not in parse_sms(form("sms_inbound_basic", Body="HELP"), settings).metadata
    assert "sms_keyword" not in parse_sms(form("sms_inbound_basic", Body="please stop calling me"), settings).metadata


def test_parse_whatsapp_and_other_senders(settings):
    whatsapp = parse_sms(form("whatsapp_inbound_text"), settings)
    assert whatsapp.identities[0].value == DANA and whatsapp.display_name == "Dana R"
    assert parse_sms(form("sms_inbound_basic", From="72345"), settings).identities == ()  # a short code


async def test_sms_creates_verified_customer_ticket_and_interaction(client, hub):
    answer = await send_sms(client)
    assert answer.tag == "Response" and list(answer) == []  # empty TwiML: nothing sent back inline
    [point] = await rows(hub, ContactPoint)
    assert (point.kind, point.value, point.evidence, point.opted_out) == ("phone", DANA, "verified", False)
    [ticket] = await rows(hub, Ticket)
    assert (ticket.channel, ticket.subject) == ("sms", "Hi, order #4411 hasn't arrived & I'm worried 😟")
    [interaction] = await rows(hub, Interaction)
    assert (interaction.provider_id, interaction.ticket_id, interaction.direction) == ("SM735f6228a9e63fb091978cccd641c651", ticket.id, "inbound")
    assert interaction.meta["reply_to"] == {"kind": "phone", "value": DANA}


async def test_mms_media_recorded_on_the_interaction(client, hub):
    await send_sms(client, "mms_inbound_two_media")
    [interaction] = await rows(hub, Interaction)
    assert [m["content_type"] for m in interaction.meta["media"]] == ["image/jpeg", "application/pdf"]
    assert interaction.meta["media"][0]["url"].endswith("/Media/ME6ca0fb7cd51949dd47e1c02625e60647")


@pytest.mark.parametrize("name", ["sms_inbound_basic", "sms_inbound_messaging_service", "mms_inbound_two_media", "sms_inbound_long_concatenated", "whatsapp_inbound_text"])
async def test_documented_parameter_sets_are_accepted(client, hub, name):
    await send_sms(client, name)
    assert len(await rows(hub, Interaction)) == 1


async def test_same_message_twice_is_one_interaction(client, hub):
    await send_sms(client)
    await send_sms(client)
    # Twilio's fallback URL repeats the request with ErrorCode/ErrorUrl.
    await send_sms(client, "sms_fallback_after_error")
    assert len(await rows(hub, Interaction)) == 1


async def test_same_message_concurrently_is_one_interaction(client, hub):
    answers = await asyncio.gather(*(post_signed(client, SMS, params("sms_inbound_basic")) for _ in range(5)))
    assert [a.status for a in answers] == [200] * 5
    assert len(await rows(hub, Interaction)) == 1
    assert len(await rows(hub, Ticket)) == 1


async def test_reply_within_the_window_joins_the_ticket(client, hub):
    await send_sms(client)
    await send_sms(client, MessageSid="SM" + "2" * 32, Body="Any news?")
    tickets = await rows(hub, Ticket)
    assert len(tickets) == 1
    assert [i.text for i in await rows(hub, Interaction, Interaction.ticket_id == tickets[0].id)] == [
        "Hi, order #4411 hasn't arrived & I'm worried 😟",
        "Any news?",
    ]


async def test_ticket_reference_picks_the_ticket(client, hub):
    await send_sms(client)
    [first] = await rows(hub, Ticket)
    async with hub.sessions() as session, session.begin():
        (await session.get_one(Ticket, first.id)).status = "resolved"
    await send_sms(client, MessageSid="SM" + "3" * 32, Body="New question")  # a new conversation
    assert len(await rows(hub, Ticket)) == 2
    await send_sms(client, MessageSid="SM" + "4" * 32, Body=f"Back to {first.reference}, please")
    [follow_up] = await rows(hub, Interaction, Interaction.provider_id == "SM" + "4" * 32)
    assert follow_up.ticket_id == first.id


async def test_stop_and_start_are_recorded_on_the_number(client, hub):
    await send_sms(client)
    await send_sms(client, MessageSid="SM" + "5" * 32, Body="STOP")
    [point] = await rows(hub, ContactPoint)
    assert point.opted_out is True
    await send_sms(client, MessageSid="SM" + "6" * 32, Body="Start")
    [point] = await rows(hub, ContactPoint)
    assert point.opted_out is False


async def test_acknowledgement_goes_through_the_outbox_once(client, hub):
    hub.settings = settings_with(
        closed_line(hub.settings), tickets={"auto_acknowledge": True}, twilio={"sms_after_hours_reply": "We are closed."}
    )
    answer = await send_sms(client)
    assert list(answer) == []  # the acknowledgement is the one reply, not TwiML as well
    [ack] = await rows(hub, OutboxMessage)
    assert ack.recipient == DANA and "CC-" in ack.payload["text"]
    # A follow-up out of hours gets the configured after-hours text in TwiML.
    answer = await send_sms(client, MessageSid="SM" + "7" * 32, Body="Hello?")
    assert [(m.tag, m.text) for m in answer] == [("Message", "We are closed.")]
    assert len(await rows(hub, OutboxMessage)) == 1


async def test_stop_from_a_new_number_queues_nothing(client, hub):
    hub.settings = settings_with(closed_line(hub.settings), tickets={"auto_acknowledge": True}, twilio={"sms_after_hours_reply": "Closed."})
    answer = await send_sms(client, "sms_inbound_messaging_service")  # Body STOP
    assert list(answer) == []
    assert await rows(hub, OutboxMessage) == []
    [point] = await rows(hub, ContactPoint)
    assert point.opted_out is True


async def test_missing_message_sid_is_a_clear_400(client, hub):
    body = params("sms_inbound_basic")
    del body["MessageSid"]
    response = await post_signed(client, SMS, body)
    assert response.status == 400
    assert (await response.json())["error"]["fields"] == {"MessageSid": "required"}
    assert await rows(hub, Interaction) == []


async def test_an_opted_out_number_gets_no_after_hours_text(client, hub):
    hub.settings = settings_with(closed_line(hub.settings), twilio={"sms_after_hours_reply": "We are closed."})
    await send_sms(client, Body="Where is my order?")  # an opted-in number out of hours: told we are closed
    assert [(m.tag, m.text) for m in await send_sms(client, MessageSid="SM" + "8" * 32, Body="Hello?")] == [("Message", "We are closed.")]
    await send_sms(client, MessageSid="SM" + "9" * 32, Body="STOP")
    # After STOP the number hears nothing from us, not even that we are closed;
    # what it writes is still kept for the agents.
    answer = await send_sms(client, MessageSid="SM" + "a" * 32, Body="One more thing")
    assert list(answer) == []
    assert await rows(hub, OutboxMessage) == []
    assert [i.text for i in await rows(hub, Interaction, Interaction.provider_id == "SM" + "a" * 32)] == ["One more thing"]
