"""A live chat's extras over the socket: typing relayed both ways, ending, business hours, attachments."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from contactcenter.app import create_app
from contactcenter.db.models import Attachment, AuditEvent, Interaction, OutboxMessage, Survey, Ticket
from contactcenter.events import Event
from contactcenter.db.models import utcnow
from tests.chat.helpers import chat_settings
from tests.chat.test_chat_socket import SITE, open_chat, say
from tests.factories import settings_with
from tests.polling import eventually, processed
from tests.web.workspace_helpers import add_agent


@pytest.fixture
async def chat(aiohttp_client, hub):
    hub.settings = chat_settings(hub.settings, allowed_origins=[SITE])
    return await aiohttp_client(create_app(hub.settings, hub, workers=False))


async def the_ticket(hub) -> Ticket:
    async with hub.sessions() as session:
        return await session.scalar(select(Ticket))


async def test_typing_is_relayed_both_ways_throttled_and_never_stored(chat, hub):
    await add_agent(hub, presence="available")
    ws, _ = await open_chat(chat, name="Alice", email="alice@example.com")
    await say(ws, "c1", "Hello")
    ticket = await the_ticket(hub)
    async with hub.bus.subscribe() as events:
        for _ in range(3):
            await ws.send_json({"type": "typing"})
        await say(ws, "c2", "and more")  # frames are handled in order: the typing ones are done by now
        kinds = []
        while not events.empty():
            event = events.get_nowait()
            kinds.append((event.kind, event.data.get("ticket_id")))
    assert kinds.count(("chat.typing", ticket.id)) == 1  # three signals within two seconds: one relayed
    # An agent typing on the ticket's page (POST /agent/tickets/…/typing publishes this): the widget hears it.
    hub.bus.publish(Event("viewer.typing", {"ticket_id": ticket.id, "agent_id": 1, "name": "Ada"}))
    assert await ws.receive_json(timeout=2) == {"type": "typing"}
    await processed(hub)  # a follow-up is acknowledged once stored raw, and processed right after
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 2
    await ws.close()


async def test_the_visitor_ending_the_chat_keeps_the_transcript_and_offers_the_survey(chat, hub):
    await add_agent(hub, presence="available")
    ws, _ = await open_chat(chat, name="Alice", email="alice@example.com")
    await say(ws, "c1", "Hello")
    ack = await say(ws, "c2", "Thanks, that is all")
    await processed(hub)
    await ws.send_json({"type": "end"})
    ended = await ws.receive_json(timeout=5)
    assert ended["type"] == "ended" and ended["by"] == "visitor" and ended["survey"].startswith("/survey/")
    ticket = await the_ticket(hub)
    async with hub.sessions() as session:
        timeline = (await session.execute(select(Interaction.direction, Interaction.text, Interaction.meta).order_by(Interaction.id))).all()
        survey = await session.scalar(select(Survey))
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "chat.ended"))
    assert [(d, t) for d, t, _ in timeline] == [("inbound", "Hello"), ("inbound", "Thanks, that is all"), ("internal", "")]
    assert timeline[-1][2] == {"kind": "chat_ended", "by": "visitor"}
    assert (survey.ticket_id, survey.channel, survey.status) == (ticket.id, "chat", "sent")
    assert audit.subject_id == ticket.id
    page = await chat.get(ended["survey"])
    assert page.status == 200
    # Ending again records nothing more; the next message starts a new chat, even with the old token.
    await ws.send_json({"type": "end"})
    await ws.close()
    ws, welcome = await open_chat(chat, token=ack["token"])
    assert welcome["history"] == []
    await say(ws, "c3", "One more question")
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 2
        assert await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "chat.ended")) == 1
    await ws.close()


async def test_outside_the_chat_queues_business_hours_nobody_is_available(chat, hub):
    await add_agent(hub, presence="available")
    today = utcnow().date()
    closed_days = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]  # a holiday around today, whenever the test runs
    never = dataclasses.replace(hub.settings.calendars["always"], holidays=closed_days)
    hub.settings = dataclasses.replace(
        settings_with(hub.settings, tickets={"auto_acknowledge": True}), calendars={**hub.settings.calendars, "office": never}
    )
    ws, welcome = await open_chat(chat, name="Carol", email="carol@example.com")
    assert welcome["available"] is False  # an agent is available, but the queue is closed
    ack = await say(ws, "c1", "Anyone there at night?")
    assert ack["offline"] is True
    async with hub.sessions() as session:
        assert (await session.scalar(select(Ticket))).channel == "web"
        assert (await session.execute(select(OutboxMessage.channel, OutboxMessage.recipient))).all() == [("email", "carol@example.com")]
    await ws.close()


def attachment_form(token: str, files: list[tuple[str, bytes]], client_id: str = "f1") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("token", token)
    form.add_field("client_id", client_id)
    for name, content in files:
        form.add_field("file", content, filename=name, content_type="image/png")
    return form


async def test_attachments_within_the_limits_are_stored_and_acknowledged(chat, hub):
    await add_agent(hub, presence="available")
    hub.settings = settings_with(hub.settings, email={"max_attachment_bytes": 1000, "max_attachments": 2})
    ws, _ = await open_chat(chat, name="Alice", email="alice@example.com")
    ack = await say(ws, "c1", "Here is a photo")
    response = await chat.post("/chat/attachments", data=attachment_form(ack["token"], [("broken.png", b"\x89PNG" + b"0" * 500)]), headers={"Origin": SITE})
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == SITE
    [file_ack] = (await response.json())["frames"]
    assert file_ack["type"] == "ack" and file_ack["client_id"] == "f1"
    too_big = await chat.post("/chat/attachments", data=attachment_form(ack["token"], [("big.png", b"0" * 1001)], "f2"), headers={"Origin": SITE})
    assert too_big.status == 413 and (await too_big.json())["error"]["code"] == "too_large"
    too_many = await chat.post(
        "/chat/attachments", data=attachment_form(ack["token"], [("a.png", b"1"), ("b.png", b"2"), ("c.png", b"3")], "f3"), headers={"Origin": SITE}
    )
    assert too_many.status == 400
    refused = await chat.post("/chat/attachments", data=attachment_form(ack["token"], [("x.png", b"1")], "f4"), headers={"Origin": "http://evil.example"})
    assert refused.status == 403
    async with hub.sessions() as session:
        stored = (await session.execute(select(Attachment.filename, Attachment.size, Interaction.ticket_id).join(Interaction))).all()
    assert stored == [("broken.png", 504, (await the_ticket(hub)).id)]  # on the chat's ticket, as other channels store them
    welcome = (await open_chat(chat, token=file_ack["token"]))[1]
    assert welcome["history"][-1]["files"] == ["broken.png"]
    await ws.close()


async def test_a_chat_ended_with_no_widget_open_leaves_the_survey_to_the_resolution(chat, hub):
    """The agent ends a chat the visitor left: no survey now; resolving it later sends one by mail, as on every channel."""
    from contactcenter.chat.ending import do_end_chat
    from contactcenter.surveys.schedule import send_due_surveys

    await add_agent(hub, presence="available")
    ws, _ = await open_chat(chat, name="Alice", email="alice@example.com")
    await say(ws, "c1", "Hello")
    await ws.close()
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        ended = await do_end_chat(session, hub.settings, ticket, by="agent", actor="agent:1", widget_open=False)
        assert ended is not None and ended.survey_path == ""
        assert await do_end_chat(session, hub.settings, ticket, by="agent", actor="agent:1") is None  # once
        ticket.status, ticket.resolved_at = "resolved", utcnow() - timedelta(minutes=hub.settings.csat.delay_minutes + 1)
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        survey = await session.scalar(select(Survey))
        mail = (await session.execute(select(OutboxMessage.channel, OutboxMessage.recipient))).all()
    assert (survey.channel, survey.recipient, survey.status) == ("email", "alice@example.com", "sent")
    assert mail == [("email", "alice@example.com")]


async def test_a_visitor_who_gave_no_email_gets_no_survey_mail(chat, hub):
    """Their placeholder address is under `.invalid`: the survey is skipped for want of an address."""
    from contactcenter.surveys.schedule import send_due_surveys

    await add_agent(hub, presence="available")
    ws, _ = await open_chat(chat, name="Dan")
    await say(ws, "c1", "Just browsing")
    await ws.close()
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        ticket.status, ticket.resolved_at = "resolved", utcnow() - timedelta(minutes=hub.settings.csat.delay_minutes + 1)
    await send_due_surveys(hub)
    async with hub.sessions() as session:
        survey = await session.scalar(select(Survey))
        assert (survey.status, survey.reason) == ("skipped", "no_address")
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_an_agent_going_away_is_seen_by_the_next_widget(chat, hub):
    from contactcenter.routing.presence import do_set_presence

    agent_id = await add_agent(hub, presence="available")
    ws, welcome = await open_chat(chat, name="Alice", email="alice@example.com")
    assert welcome["available"] is True
    await ws.close()
    async with hub.sessions() as session, session.begin():
        _, events = await do_set_presence(session, agent_id, "away", actor=f"agent:{agent_id}")
    hub.bus.publish_all(events)

    async def available_now() -> bool:
        ws, welcome = await open_chat(chat, name="Bob", email="bob@example.com")
        await ws.close()
        return welcome["available"] is False

    await eventually(available_now, timeout=5, what="the widget to hear that nobody is available")
