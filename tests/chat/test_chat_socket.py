"""The chat WebSocket as a widget uses it: real sockets, both databases."""

from __future__ import annotations

import hashlib
import hmac

import aiohttp
import pytest
from sqlalchemy import func, select

from contactcenter.actions import do_reply
from contactcenter.app import create_app
from contactcenter.db.models import ContactPoint, Customer, Interaction, OutboxMessage, Ticket
from contactcenter.outbound.outbox import OutboxWorker
from tests.chat.helpers import chat_settings
from tests.polling import processed
from tests.factories import settings_with
from tests.web.workspace_helpers import add_agent

SITE = "http://127.0.0.1:9"  # the embedding page's origin
SECRET = "site-secret"


@pytest.fixture
async def chat(aiohttp_client, hub):
    hub.settings = chat_settings(hub.settings, allowed_origins=[SITE], identity_secret=SECRET)
    return await aiohttp_client(create_app(hub.settings, hub, workers=False))


async def open_chat(client, **hello):
    ws = await client.ws_connect("/chat/ws", headers={"Origin": SITE})
    await ws.send_json({"type": "hello", **hello})
    welcome = await ws.receive_json(timeout=5)
    assert welcome["type"] == "welcome"
    return ws, welcome


async def say(ws, client_id: str, text: str) -> dict:
    await ws.send_json({"type": "message", "client_id": client_id, "text": text})
    ack = await ws.receive_json(timeout=5)
    assert ack["type"] == "ack" and ack["client_id"] == client_id, ack
    return ack


async def test_a_disallowed_origin_is_refused(chat):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await chat.ws_connect("/chat/ws", headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403


async def test_messages_are_acknowledged_once_stored_and_repeats_dropped(chat, hub):
    await add_agent(hub, presence="available")
    ws, welcome = await open_chat(chat, name="Alice", email="alice@example.com", language="en")
    assert welcome["available"] is True and welcome["history"] == []
    ack = await say(ws, "c1", "Hello, my order is late")
    await say(ws, "c2", "It is order 42")
    await ws.close()
    await processed(hub)  # c2 was acknowledged once stored raw (the ticket exists): processed right after
    # The page reloads: the same token, a message resent that was already stored.
    ws, welcome = await open_chat(chat, token=ack["token"])
    await say(ws, "c2", "It is order 42")
    await processed(hub)
    assert [(m["from"], m["client_id"], m["text"]) for m in welcome["history"]] == [
        ("visitor", "c1", "Hello, my order is late"), ("visitor", "c2", "It is order 42"),
    ]
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction).where(Interaction.channel == "chat")) == 2
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
    await ws.close()


async def test_an_agent_answer_reaches_the_open_widget(chat, hub):
    await add_agent(hub, presence="available")
    ws, _ = await open_chat(chat, name="Alice", email="alice@example.com")
    await say(ws, "c1", "Hello")
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        await do_reply(session, hub.settings, ticket, "Hi Alice, looking now")
    assert await OutboxWorker(hub).deliver_due() == 1
    frame = await ws.receive_json(timeout=1)
    assert frame["type"] == "message" and frame["from"] == "agent" and frame["text"] == "Hi Alice, looking now"
    async with hub.sessions() as session:
        assert (await session.scalar(select(OutboxMessage))).channel == "chat"
    await ws.close()


def signature(identity: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("forged", [False, True])
async def test_a_signed_identity_is_verified_and_a_forged_one_claimed(chat, hub, forged):
    await add_agent(hub, presence="available")
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Bob Known")
        session.add(customer)
        await session.flush()
        session.add(ContactPoint(customer_id=customer.id, kind="email", value="bob@example.com", evidence="imported"))
    ws, _ = await open_chat(
        chat, name="Bob", identity="bob@example.com", identity_hash=signature("bob@example.com", "wrong" if forged else SECRET)
    )
    await say(ws, "c1", "Where is my parcel?")
    async with hub.sessions() as session:
        interaction = await session.scalar(select(Interaction).where(Interaction.channel == "chat"))
        point = await session.scalar(select(ContactPoint).where(ContactPoint.value == "bob@example.com"))
    if forged:  # the signed email was not taken: a visitor of their own, never verified
        assert interaction.customer_id != customer.id and point.evidence != "verified"
    else:
        assert interaction.customer_id == customer.id and point.evidence == "verified"
    await ws.close()


async def test_with_nobody_available_the_message_becomes_an_email_ticket(chat, hub):
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    ws, welcome = await open_chat(chat, name="Carol")
    assert welcome["available"] is False and welcome["needs_email"] is True
    await ws.send_json({"type": "message", "client_id": "c1", "text": "Anyone there?"})
    assert (await ws.receive_json(timeout=5))["type"] == "error"  # no email: nothing to answer to
    await ws.close()
    ws, _ = await open_chat(chat, name="Carol", email="carol@example.com")
    ack = await say(ws, "c1", "Anyone there?")
    assert ack["offline"] is True
    async with hub.sessions() as session:
        ticket = await session.scalar(select(Ticket))
        mail = (await session.execute(select(OutboxMessage.channel, OutboxMessage.recipient))).all()
    assert ticket.channel == "web"
    assert mail == [("email", "carol@example.com")]  # the acknowledgement (or the address check) goes by email
    await ws.close()
