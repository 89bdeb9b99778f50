"""A resolved SMS ticket gets one survey SMS (at the Twilio stand-in); a "5" back is the answer on that ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from contactcenter.db.models import Survey, Ticket
from contactcenter.hub import Hub
from contactcenter.pipeline.run import ingest
from contactcenter.outbound.outbox import OutboxWorker
from contactcenter.surveys.answers import parse_rating
from contactcenter.surveys.schedule import send_due_surveys
from tests.factories import make_inbound, settings_with
from tests.polling import eventually, processed
from tests.surveys.test_email_survey import resolve
from tests.twilio_standin import params, post_signed, standin, twilio_settings  # noqa: F401

DANA = "+12065550143"
ERIN = "+12065550177"


@pytest.fixture
def settings(settings, standin):
    return twilio_settings(settings, standin.url)


def test_a_rating_is_a_lone_digit_from_1_to_5():
    assert [parse_rating(t) for t in ("5", " 4 ", "3.", "５", "1!")] == [5, 4, 3, 5, 1]
    assert [parse_rating(t) for t in ("6", "0", "55", "5 stars", "", "STOP")] == [None] * 6


async def tickets(hub) -> list[Ticket]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


async def test_the_survey_sms_and_its_answer(hub, client, auth, standin):
    sms = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic"))
    assert sms.status == 200
    await processed(hub)
    [ticket] = await tickets(hub)
    await resolve(hub, ticket.id, ago=timedelta(minutes=hub.settings.csat.delay_minutes + 1))
    await send_due_surveys(hub)
    await send_due_surveys(hub)  # a second pass decides nothing again
    worker = OutboxWorker(hub)

    async def sent() -> bool:
        await worker.deliver_due()
        return len(standin.accepted) >= 1

    await eventually(sent, what="the survey SMS at the stand-in")
    assert len(standin.accepted) == 1
    survey_sms = standin.accepted[0]
    assert survey_sms["To"] == DANA and ticket.reference in survey_sms["Body"] and "1" in survey_sms["Body"] and "5" in survey_sms["Body"]

    answer = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "5" * 32, Body="5"))
    assert answer.status == 200 and "<Message>" in await answer.text()  # a thank-you in the TwiML answer
    retry = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "5" * 32, Body="5"))
    assert retry.status == 200
    await processed(hub)
    assert [t.id for t in await tickets(hub)] == [ticket.id]  # nothing new opened
    body = await (await client.get(f"/api/v1/tickets/{ticket.reference}", headers=auth)).json()
    assert body["status"] == "resolved"
    assert (body["csat"]["rating"], body["csat"]["channel"]) == (5, "sms")
    answers = [i for i in body["interactions"] if i["metadata"].get("kind") == "csat_answer"]
    assert [(a["channel"], a["text"]) for a in answers] == [("sms", "5")]

    # A second "5" has no survey waiting any more: an ordinary message.
    later = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "6" * 32, Body="5"))
    assert later.status == 200
    await processed(hub)
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Survey).where(Survey.status == "answered")) == 1
    assert len(await tickets(hub)) == 2


async def test_a_5_from_a_number_without_a_survey_is_an_ordinary_message(hub, client):
    sms = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", From=ERIN, Body="5"))
    assert sms.status == 200 and "<Message>" not in await sms.text()
    await processed(hub)
    [ticket] = await tickets(hub)
    assert ticket.status == "new" and ticket.channel == "sms"
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Survey)) == 0


async def test_no_survey_sms_to_an_opted_out_number(hub, client, standin):
    await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic"))
    await processed(hub)
    [ticket] = await tickets(hub)
    await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "7" * 32, Body="STOP"))
    await processed(hub)
    await resolve(hub, ticket.id, ago=timedelta(hours=2))
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        survey = await session.scalar(select(Survey))
    assert (survey.status, survey.reason) == ("skipped", "opted_out")


async def test_csat_summary_for_reports(hub):
    from datetime import date

    from contactcenter.db.models import Customer, utcnow
    from contactcenter.surveys.summary import csat_summary

    now = utcnow()
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Ida", tier="VIP")
        session.add(customer)
        await session.flush()
        for rating, channel in ((5, "email"), (4, "email"), (5, "sms"), (2, "sms")):
            ticket = Ticket(customer_id=customer.id, channel=channel, status="resolved", type="question")
            session.add(ticket)
            await session.flush()
            session.add(Survey(ticket_id=ticket.id, customer_id=customer.id, channel=channel, status="answered", rating=rating, answered_at=now))
        ticket = Ticket(customer_id=customer.id, channel="sms", status="resolved")
        session.add(ticket)
        await session.flush()
        session.add(Survey(ticket_id=ticket.id, customer_id=customer.id, channel="sms", status="sent", sent_at=now))
    async with hub.reads() as session:
        everything = await csat_summary(session, {})
        sms = await csat_summary(session, {"channel": "sms", "tier": "VIP", "from": now.date(), "to": now.date()})
        before = await csat_summary(session, {"to": date(2020, 1, 1)})
    assert everything == {"responses": 4, "average": 4.0, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}}
    assert sms == {"responses": 2, "average": 3.5, "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}
    assert before == {"responses": 0, "average": None, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}


async def test_a_5_after_the_customer_wrote_back_is_part_of_the_conversation(hub, client, standin):
    await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic"))
    await processed(hub)
    [ticket] = await tickets(hub)
    await resolve(hub, ticket.id, ago=timedelta(hours=2))
    await send_due_surveys(hub)
    again = params("sms_inbound_basic", MessageSid="SM" + "8" * 32, Body="The parcel still has not come")
    await post_signed(client, "/webhooks/twilio/sms", again)
    await processed(hub)
    five = await post_signed(client, "/webhooks/twilio/sms", params("sms_inbound_basic", MessageSid="SM" + "9" * 32, Body="5"))
    assert "<Message>" not in await five.text()
    await processed(hub)
    async with hub.sessions() as session:
        survey = await session.scalar(select(Survey))
    assert survey.status == "sent"
    assert [t.status for t in await tickets(hub)] == ["resolved", "new"]  # the digit joined the new conversation


async def test_surveys_can_be_turned_off(hub, settings, database_url):
    off = Hub.create(settings_with(settings, csat={"enabled": False}), database_url)
    try:
        result = await ingest(off, make_inbound(email="kim@example.com"))
        await resolve(off, result.ticket_id, ago=timedelta(hours=2))
        assert await send_due_surveys(off) == []
        async with off.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Survey)) == 0
    finally:
        await off.close()
