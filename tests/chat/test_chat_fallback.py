"""The widget's fallback where WebSockets are blocked: server-sent events down, POST up, same frames."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from contactcenter.actions import do_reply
from contactcenter.app import create_app
from contactcenter.chat.sockets import CHAT_SOCKETS
from contactcenter.db.models import Interaction, Ticket
from contactcenter.outbound.outbox import OutboxWorker
from tests.chat.helpers import chat_settings
from tests.web.workspace_helpers import add_agent

SITE = "http://127.0.0.1:9"


@pytest.fixture
async def chat(aiohttp_client, hub):
    hub.settings = chat_settings(hub.settings, allowed_origins=[SITE])
    return await aiohttp_client(create_app(hub.settings, hub, workers=False))


async def post(client, frame: dict, origin: str = SITE):
    """A frame as the widget posts it: text/plain, so a browser sends it without a preflight."""
    return await client.post("/chat/messages", data=json.dumps(frame), headers={"Origin": origin, "Content-Type": "text/plain"})


async def frames(client, frame: dict) -> list[dict]:
    response = await post(client, frame)
    assert response.status == 200, await response.text()
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    return (await response.json())["frames"]


class Stream:
    """The widget's EventSource: reads `data:` events off the response."""

    def __init__(self, response):
        self.response = response

    async def next(self) -> dict:
        data = []
        while True:
            line = (await self.response.content.readline()).decode()
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if line.startswith("data: "):
                data.append(line[6:])
            elif not line and data:
                return json.loads("\n".join(data))


async def open_stream(client, token: str) -> tuple[Stream, dict]:
    response = await client.get("/chat/events", params={"token": token}, headers={"Origin": SITE})
    assert response.status == 200 and response.content_type == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    stream = Stream(response)
    welcome = await stream.next()
    assert welcome["type"] == "welcome"
    return stream, welcome


async def count(hub, model, *where) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_messages_go_by_post_and_answers_come_by_the_event_stream(chat, hub):
    await add_agent(hub, presence="available")
    [welcome] = await frames(chat, {"type": "hello", "name": "Alice", "email": "alice@example.com", "language": "en"})
    assert welcome["type"] == "welcome" and welcome["available"] is True
    stream, _ = await open_stream(chat, welcome["token"])

    [ack] = await frames(chat, {"type": "message", "client_id": "c1", "text": "Hello over plain HTTP", "token": welcome["token"]})
    assert ack["type"] == "ack" and ack["client_id"] == "c1" and ack["offline"] is False
    # The same message again (the widget resends what it saw no ack for): acknowledged, stored once.
    [again] = await frames(chat, {"type": "message", "client_id": "c1", "text": "Hello over plain HTTP", "token": ack["token"]})
    assert again["type"] == "ack" and again["client_id"] == "c1"
    assert await count(hub, Interaction, Interaction.channel == "chat") == 1

    # The stream opened before the ticket existed follows the visitor onto it: the answer arrives.
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        await do_reply(session, hub.settings, ticket, "Hi Alice, over the stream")
    assert await OutboxWorker(hub).deliver_due() == 1
    frame = await stream.next()
    assert frame == {"type": "message", "id": frame["id"], "from": "agent", "text": "Hi Alice, over the stream"}

    # The hub cuts the stream; the widget opens it again with its newest token and gets the conversation.
    for connection in chat.app[CHAT_SOCKETS].open_on(ticket.reference):
        await connection.close()
    stream.response.close()
    _, welcome = await open_stream(chat, again["token"])
    assert [(m["from"], m["text"]) for m in welcome["history"]] == [
        ("visitor", "Hello over plain HTTP"), ("agent", "Hi Alice, over the stream"),
    ]


async def test_the_fallback_checks_the_origin_and_the_token(chat, hub):
    refused = await post(chat, {"type": "hello", "name": "Mallory"}, origin="http://evil.example")
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    stream = await chat.get("/chat/events", params={"token": "x"}, headers={"Origin": "http://evil.example"})
    assert stream.status == 403
    preflight = await chat.options("/chat/messages", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403
    assert (await post(chat, {"type": "message", "client_id": "c1", "text": "hi", "token": "forged.token"})).status == 400
    assert (await chat.get("/chat/events", params={"token": "forged.token"}, headers={"Origin": SITE})).status == 400
    [error] = await frames(chat, ["not", "an", "object"])  # bad input: an error frame, never a 500
    assert error["type"] == "error"
    assert (await post(chat, {"type": "message", "text": "x" * 20000})).status == 413
    assert await count(hub, Interaction) == 0
