"""Calls: TwiML that follows Twilio's verbs, whole call walks, voicemail, outcomes, callbacks."""

from __future__ import annotations

import asyncio
import dataclasses
import xml.etree.ElementTree as ET

import pytest
from multidict import MultiDict, MultiDictProxy
from sqlalchemy import select

from contactcenter.channels.twilio_voice import parse_call
from contactcenter.contact import ChannelKind, Identity
from contactcenter.db.models import Agent, ContactPoint, InboundRecord, Interaction, Queue, Ticket
from contactcenter.pipeline import run
from contactcenter.pipeline.route import route_ticket
from contactcenter.settings import TwilioMenuOption
from tests.factories import settings_with
from tests.twiml_check import check_twiml
from tests.twilio_standin import PUBLIC_URL, closed_line, params, post_signed, standin, twilio_settings  # noqa: F401

CALL_SID = "CA6a4a10c1e6b9c7bb0577933d598cc013"
RECORDING_SID = "RE73d3e0fc3575c1561d07b58a1bb8dedb"
DANA = "+12065550143"
HOLD_MUSIC = "https://music.example.test/hold.mp3"
MENU = [
    TwilioMenuOption(digit="1", queue="billing", words=["billing", "invoice", "payment"]),
    TwilioMenuOption(digit="2", queue="technical", words=["support", "technical", "help"]),
    TwilioMenuOption(digit="0", queue="general", words=["other", "agent", "operator"]),
]


@pytest.fixture
def settings(settings, standin):
    base = twilio_settings(settings, standin.url)
    return settings_with(base, twilio={"menu": MENU, "voice": dataclasses.replace(base.twilio.voice, hold_music_url=HOLD_MUSIC)})


async def twiml(response, context: str = "call") -> ET.Element:
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return check_twiml(await response.text(), context)


def verbs(root: ET.Element) -> list[str]:
    return [verb.tag for verb in root]


async def call(client, path: str = "/webhooks/twilio/voice", name: str = "voice_inbound_ringing", **changes: str) -> ET.Element:
    context = "wait" if path.startswith("/webhooks/twilio/voice/hold") else "call"
    return await twiml(await post_signed(client, path, params(name, **changes)), context)


async def callback(client, path: str, name: str, **changes: str) -> None:
    response = await post_signed(client, path, params(name, **changes))
    assert response.status == 204, await response.text()


async def add_available_agent(hub, skills: dict | None = None) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(Agent(email="ada@example.com", name="Ada", role="agent", presence="available", phone="+12065550188", skills=skills or {"billing": 3}))


async def call_record(hub) -> Interaction:
    async with hub.sessions() as session:
        return (await session.scalars(select(Interaction).where(Interaction.provider_id == CALL_SID))).one()


async def tickets(hub) -> list[Ticket]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


def test_parse_call(settings):
    contact = parse_call(MultiDictProxy(MultiDict(params("voice_inbound_ringing"))), settings)
    assert (contact.channel, contact.provider_id) == (ChannelKind.VOICE, CALL_SID)
    assert contact.identities == (Identity(kind="phone", value=DANA, evidence="verified", is_reply_address=True),)
    assert contact.metadata["call"] == {
        "status": "ringing",
        "direction": "inbound",
        "from": DANA,
        "to": "+15035550100",
        "from_geo": {"city": "SEATTLE", "state": "WA", "zip": "98101", "country": "US"},
        "stir_verstat": "TN-Validation-Passed-A",
    }


@pytest.mark.parametrize("caller", ["client:alice", "sip:alice@example.test", "anonymous", "+266696687", ""])
async def test_callers_without_a_number_are_served(client, hub, caller):
    root = await call(client, From=caller, Caller=caller)
    assert verbs(root) == ["Say", "Gather", "Redirect"]
    async with hub.sessions() as session:
        assert list(await session.scalars(select(ContactPoint))) == []
    assert (await call_record(hub)).meta["call"]["status"] == "ringing"


async def test_whole_call_menu_digit_enqueue_answered(client, auth, hub):
    await add_available_agent(hub)
    intake = await client.post("/api/v1/contacts", json={"phone": DANA, "name": "Dana Reyes", "message": "hi"}, headers=auth)
    assert intake.status == 201

    root = await call(client)
    assert verbs(root) == ["Say", "Gather", "Redirect"]
    assert root[0].text == "Hello Dana Reyes, thank you for calling."
    gather = root[1]
    assert gather.attrib == {
        "input": "dtmf speech",
        "action": f"{PUBLIC_URL}/webhooks/twilio/voice/menu?attempt=1",
        "method": "POST",
        "numDigits": "1",
        "timeout": "5",
        "speechTimeout": "auto",
        "language": "en-US",
        "hints": "billing, invoice, payment, support, technical, help, other, agent, operator",
    }
    assert gather[0].text.startswith("For billing, press 1")

    root = await call(client, "/webhooks/twilio/voice/menu?attempt=1", Digits="1")
    assert verbs(root) == ["Enqueue"]
    enqueue = root[0]
    assert enqueue.text == CALL_SID  # a line of its own: the agent who gets the ticket gets this caller
    assert enqueue.attrib == {
        "action": f"{PUBLIC_URL}/webhooks/twilio/voice/queue?queue=billing",
        "method": "POST",
        "waitUrl": f"{PUBLIC_URL}/webhooks/twilio/voice/hold",
        "waitUrlMethod": "POST",
    }
    hold = await call(client, "/webhooks/twilio/voice/hold", QueuePosition="1", QueueTime="3", AvgQueueTime="20", CurrentQueueSize="1")
    assert [(v.tag, v.text) for v in hold] == [("Say", "You are number 1 in line."), ("Play", HOLD_MUSIC)]
    done = await call(client, "/webhooks/twilio/voice/queue?queue=billing", QueueResult="bridged", QueueTime="42", QueueSid="QU" + "0" * 32)
    assert verbs(done) == []
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed")

    record = await call_record(hub)
    assert {k: record.meta["call"][k] for k in ("status", "duration_seconds", "queue", "menu_digits", "queue_result", "queue_time")} == {
        "status": "completed",
        "duration_seconds": 187,
        "queue": "billing",
        "menu_digits": "1",
        "queue_result": "bridged",
        "queue_time": 42,
    }
    [_, voice_ticket] = await tickets(hub)  # the intake's ticket, then the call's
    assert (voice_ticket.channel, voice_ticket.type) == ("voice", "question")
    async with hub.sessions() as session:
        assert (await session.get_one(Queue, voice_ticket.queue_id)).name == "billing"


async def test_speech_choice_picks_the_queue(client, hub):
    await add_available_agent(hub, {"technical": 4})
    await call(client)
    root = await call(client, "/webhooks/twilio/voice/menu?attempt=1", SpeechResult="Technical support, please.", Confidence="0.9234")
    assert [(v.tag, v.text) for v in root] == [("Enqueue", CALL_SID)]
    assert root[0].get("action").endswith("queue=technical")
    assert (await call_record(hub)).meta["call"]["menu_speech"] == "Technical support, please."


async def test_unknown_choice_asks_again_then_goes_to_the_voice_queue(client, hub):
    await add_available_agent(hub)
    await call(client)
    again = await call(client, "/webhooks/twilio/voice/menu?attempt=1", Digits="7")
    assert verbs(again) == ["Say", "Gather", "Redirect"]
    assert again[0].text == "Sorry, I did not get that." and again[1].get("action").endswith("attempt=2")
    root = await call(client, "/webhooks/twilio/voice/menu?attempt=2")  # silence: the <Redirect>
    assert [(v.tag, v.text) for v in root] == [("Enqueue", CALL_SID)]
    assert root[0].get("action").endswith("queue=general")


async def test_no_available_agent_for_the_queue_means_voicemail(client, hub):
    await add_available_agent(hub, {"technical": 4})
    async with hub.sessions() as session, session.begin():
        session.add(Queue(name="billing", skills=["billing"]))
    await call(client)
    root = await call(client, "/webhooks/twilio/voice/menu?attempt=1", Digits="1")
    assert verbs(root) == ["Say", "Say", "Record", "Say", "Hangup"]
    assert root[0].text == "All our agents are busy right now."


async def test_after_hours_voicemail_lands_on_the_callers_ticket(client, auth, hub):
    hub.settings = closed_line(hub.settings)
    root = await call(client)
    assert verbs(root) == ["Say", "Say", "Record", "Say", "Hangup"]
    assert root[0].text == "We are closed right now."
    record = root[2]
    assert record.attrib == {
        "action": f"{PUBLIC_URL}/webhooks/twilio/voice/recorded",
        "method": "POST",
        "maxLength": "120",
        "finishOnKey": "#",
        "playBeep": "true",
        "transcribe": "true",
        "transcribeCallback": f"{PUBLIC_URL}/webhooks/twilio/voice/transcription",
        "recordingStatusCallback": f"{PUBLIC_URL}/webhooks/twilio/voice/recording",
        "recordingStatusCallbackEvent": "completed absent",
    }

    thanks = await call(client, "/webhooks/twilio/voice/recorded", "voice_record_action")
    assert verbs(thanks) == ["Say", "Hangup"]
    await callback(
        client,
        "/webhooks/twilio/voice/recording",
        "recording_status_completed",
        RecordingSid=RECORDING_SID,
        RecordingSource="RecordVerb",
        RecordingDuration="23",
        RecordingChannels="1",
        RecordingTrack="inbound",
    )
    await callback(client, "/webhooks/twilio/voice/transcription", "transcription_completed")
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed")

    [ticket] = await tickets(hub)
    body = await (await client.get(f"/api/v1/tickets/{ticket.reference}", headers=auth)).json()
    assert body["type"] == "callback" and body["channel"] == "voice"
    call_json, voicemail = body["interactions"]
    assert call_json["text"] == "Phone call"
    assert voicemail["text"] == "Hi, this is Dana, calling about invoice 2024-0193. Please call me back."
    record_row = await call_record(hub)
    assert (record_row.meta["call"]["status"], record_row.meta["call"]["duration_seconds"]) == ("completed", 187)
    async with hub.sessions() as session:
        vm = (await session.scalars(select(Interaction).where(Interaction.provider_id == RECORDING_SID))).one()
    assert vm.ticket_id == ticket.id
    assert {k: vm.meta["voicemail"][k] for k in ("duration_seconds", "recording_status", "transcription_status", "ended_by")} == {
        "duration_seconds": 23,
        "recording_status": "completed",
        "transcription_status": "completed",
        "ended_by": "hangup",
    }
    assert vm.meta["voicemail"]["recording_url"].endswith("/Recordings/" + RECORDING_SID)


async def test_voicemail_callbacks_in_any_order_make_one_voicemail(client, hub):
    hub.settings = closed_line(hub.settings)
    await call(client)
    await callback(client, "/webhooks/twilio/voice/transcription", "transcription_completed")
    await call(client, "/webhooks/twilio/voice/recorded", "voice_record_action")
    await call(client, "/webhooks/twilio/voice/recorded", "voice_record_action")
    async with hub.sessions() as session:
        voicemails = list(await session.scalars(select(Interaction).where(Interaction.provider_id == RECORDING_SID)))
    assert len(voicemails) == 1 and voicemails[0].text.startswith("Hi, this is Dana")


async def test_caller_hanging_up_in_the_queue_opens_a_callback_ticket(client, hub):
    await add_available_agent(hub)
    await call(client)
    await call(client, "/webhooks/twilio/voice/menu?attempt=1", Digits="1")
    assert verbs(await call(client, "/webhooks/twilio/voice/queue?queue=billing", QueueResult="hangup", QueueTime="95")) == []
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallDuration="120")
    [ticket] = await tickets(hub)
    assert ticket.type == "callback" and ticket.subject.startswith("Call back:")
    assert (await call_record(hub)).meta["call"]["callback_ticket_id"] == ticket.id


async def test_a_second_missed_call_stays_on_the_open_callback_ticket(client, hub):
    await call(client, CallSid="CA" + "1" * 32)
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallSid="CA" + "1" * 32, CallStatus="busy")
    await call(client)  # joins that open callback ticket within the window
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallStatus="canceled", CallDuration="0")
    [ticket] = await tickets(hub)
    assert ticket.type == "callback"
    assert (await call_record(hub)).meta["call"]["callback_ticket_id"] == ticket.id


async def test_missed_call_joining_a_question_ticket_gets_its_own_callback_ticket(client, hub):
    await add_available_agent(hub)
    await call(client, CallSid="CA" + "1" * 32)  # answered: a question ticket
    await call(client, "/webhooks/twilio/voice/queue?queue=billing", CallSid="CA" + "1" * 32, QueueResult="bridged")
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallSid="CA" + "1" * 32)
    await call(client)  # joins it, then is missed
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallStatus="no-answer", CallDuration="0")
    question, follow_up = await tickets(hub)
    assert (question.type, follow_up.type, follow_up.parent_id) == ("question", "callback", question.id)


async def test_status_callbacks_out_of_order_never_go_backwards(client, hub):
    await call(client)
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", SequenceNumber="3")
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallStatus="ringing", SequenceNumber="1")
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallStatus="in-progress")
    assert (await call_record(hub)).meta["call"]["status"] == "completed"


async def test_the_same_call_webhook_twice_is_one_interaction(client, hub):
    first = await call(client)
    second = await call(client)
    assert ET.tostring(first) == ET.tostring(second)
    async with hub.sessions() as session:
        assert len(list(await session.scalars(select(Interaction)))) == 1


async def test_status_for_a_call_never_seen_is_logged_as_a_missed_call(client, hub):
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed", CallStatus="no-answer")
    [ticket] = await tickets(hub)
    assert ticket.type == "callback"


async def test_outbound_call_callbacks_for_unknown_calls_change_nothing(client, hub):
    for name in ("voice_status_outbound_0_initiated", "voice_status_outbound_1_ringing", "voice_status_outbound_2_no_answer"):
        await callback(client, "/webhooks/twilio/voice/status", name)
    await callback(client, "/webhooks/twilio/voice/recording", "recording_status_absent")
    assert await tickets(hub) == []


async def test_empty_recording_is_noted_without_a_voicemail(client, hub):
    await call(client, CallSid="CA24c911ca7aa9f9576de37ccd81d12cee")
    await callback(client, "/webhooks/twilio/voice/recording", "recording_status_absent")
    async with hub.sessions() as session:
        rows = list(await session.scalars(select(Interaction)))
    assert len(rows) == 1 and rows[0].meta["call"]["recording_status"] == "absent"
    assert rows[0].meta["call"]["recording_error"] == "16101"


async def test_without_a_menu_callers_go_straight_to_the_voice_queue(client, hub):
    hub.settings = settings_with(hub.settings, twilio={"menu": []}, routing={"channel_queues": {"voice": "phones"}})
    await add_available_agent(hub)
    root = await call(client)
    assert [(v.tag, v.text) for v in root] == [("Say", "Thank you for calling."), ("Enqueue", CALL_SID)]
    assert (await call_record(hub)).meta["call"]["enqueued"] == "phones"


async def test_without_a_menu_or_an_available_agent_callers_get_voicemail(client, hub):
    hub.settings = settings_with(hub.settings, twilio={"menu": []}, routing={"channel_queues": {"voice": "phones"}})
    root = await call(client)
    assert verbs(root) == ["Say", "Say", "Say", "Record", "Say", "Hangup"]
    assert root[1].text == "All our agents are busy right now."
    assert (await call_record(hub)).meta["call"]["no_agent_for"] == "phones"


async def test_calls_arriving_together_are_each_queued_and_an_agent_leaving_is_seen_by_the_next(client, hub):
    """The agents are looked at once per write transaction (voice/calls.py), never longer."""
    hub.settings = settings_with(hub.settings, twilio={"menu": []}, routing={"channel_queues": {"voice": "phones"}})
    await add_available_agent(hub)
    sids = [f"CA{n:032x}" for n in range(1, 6)]
    roots = await asyncio.gather(*(call(client, CallSid=sid, From=f"+1206555020{n}") for n, sid in enumerate(sids)))
    assert [[(v.tag, v.text) for v in root][-1] for root in roots] == [("Enqueue", sid) for sid in sids]
    async with hub.sessions() as session, session.begin():
        (await session.scalars(select(Agent))).one().presence = "offline"
    root = await call(client, CallSid="CA" + "f" * 32)
    assert root[1].text == "All our agents are busy right now."
    async with hub.sessions() as session:
        notes = {i.provider_id: i.meta["call"] for i in await session.scalars(select(Interaction))}
    assert [notes[sid].get("enqueued") for sid in sids] == ["phones"] * 5
    assert notes["CA" + "f" * 32]["no_agent_for"] == "phones" and "enqueued" not in notes["CA" + "f" * 32]


async def test_a_new_caller_is_not_greeted_by_the_carriers_caller_name(client, hub):
    root = await call(client, CallerName="CA Wireless Call")
    assert root[0].text == "Thank you for calling."
    assert (await call_record(hub)).meta["call"]["caller_name"] == "CA Wireless Call"


@pytest.mark.parametrize(("queue_result", "callback_expected"), [("bridged", False), ("hangup", True)])
async def test_completed_before_the_queue_result_waits_for_it(client, hub, queue_result, callback_expected):
    """Twilio may report the call completed before the <Enqueue> action says who took it."""
    await add_available_agent(hub)
    await call(client)
    await call(client, "/webhooks/twilio/voice/menu?attempt=1", Digits="1")
    await callback(client, "/webhooks/twilio/voice/status", "voice_status_inbound_completed")
    [ticket] = await tickets(hub)
    assert ticket.type == "question"  # not yet known
    await call(client, "/webhooks/twilio/voice/queue?queue=billing", QueueResult=queue_result)
    [ticket] = await tickets(hub)
    assert (ticket.type == "callback") is callback_expected


async def test_a_known_caller_is_greeted_by_name_when_twilio_sends_the_call_again(client, auth, hub):
    hub.settings = settings_with(hub.settings, twilio={"menu": []}, routing={"channel_queues": {"voice": "phones"}})
    await add_available_agent(hub)
    intake = await client.post("/api/v1/contacts", json={"phone": DANA, "name": "Dana Reyes", "message": "hi"}, headers=auth)
    assert intake.status == 201
    for _ in range(2):  # the second time, dedupe finds the call and the pipeline stops there
        root = await call(client)
        assert [(v.tag, v.text) for v in root] == [("Say", "Hello Dana Reyes, thank you for calling."), ("Enqueue", CALL_SID)]
    assert (await call_record(hub)).meta["call"]["enqueued"] == "phones"


async def test_a_call_whose_processing_fails_is_still_answered_and_queued(client, hub, monkeypatch):
    """Kept for replay (pipeline/run.py): the caller hears the usual answer, only not by name."""
    hub.settings = settings_with(hub.settings, twilio={"menu": []}, routing={"channel_queues": {"voice": "phones"}})
    await add_available_agent(hub)

    async def broken_route(batch) -> None:
        raise RuntimeError("routing exploded")

    monkeypatch.setattr(run, "INGEST_STEPS", tuple(broken_route if step is route_ticket else step for step in run.INGEST_STEPS))
    root = await call(client)
    assert [(v.tag, v.text) for v in root] == [("Say", "Thank you for calling."), ("Enqueue", CALL_SID)]
    async with hub.sessions() as session:
        assert (await session.scalar(select(InboundRecord.status))) == "failed"
        assert list(await session.scalars(select(Interaction))) == []
