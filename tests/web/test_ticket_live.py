"""The ticket page's event stream: what it tells an open page, in one process and across processes."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.app import create_app
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.pipeline.run import ingest
from contactcenter.web.sessions import Person
from contactcenter.web.ticket_live import Watch, choose_messages
from tests.factories import make_inbound, settings_with
from tests.web.workspace_helpers import add_agent, form_token, next_event, sign_in

WATCH = Watch(stream="s1", ticket_id=7, customer_id=3, person=Person(id=1, name="Ada", email="a@x", role="agent", presence="available"))


async def viewers_become(stream, wanted: list, deadline: float) -> None:
    """Read `viewers` events until one lists `wanted` (the first says who was there before)."""
    async with asyncio.timeout(deadline):
        while (await next_event(stream, "viewers", deadline))["viewers"] != wanted:
            pass


def test_a_page_hears_only_about_its_ticket_and_customer():
    events = [
        Event("interaction.created", {"ticket_id": 9, "customer_id": 3}),  # the customer wrote on another ticket: shown too
        Event("ticket.assigned", {"ticket_id": 8}),
        Event("viewer.typing", {"ticket_id": 7, "agent_id": 1, "name": "Ada"}),  # oneself
        Event("outbox.sent", {"interaction_id": 41}),
    ]
    assert choose_messages(WATCH, events) == [("timeline", {}), ("delivery", {"interaction_ids": [41]})]
    assert choose_messages(WATCH, [Event("ticket.updated", {"ticket_id": 7}), Event("viewer.typing", {"ticket_id": 7, "agent_id": 2, "name": "Bea"})]) == [
        ("ticket", {}), ("typing", {"name": "Bea", "agent_id": 2}),
    ]
    assert choose_messages(WATCH, [Event("interaction.created", {"ticket_id": 1, "customer_id": 4})]) == []


async def test_the_stream_announces_viewers_and_new_entries(client, hub, aiohttp_client):
    await add_agent(hub)
    await add_agent(hub, email="bea@example.com", name="Bea Agent")
    ticket = await ingest(hub, make_inbound(text="Where is my parcel?"))
    await sign_in(client)
    other = await aiohttp_client(client.server)
    await sign_in(other, email="bea@example.com")
    stream = await client.get(f"/agent/tickets/{ticket.reference}/events")
    assert stream.headers["Content-Type"].startswith("text/event-stream") and stream.headers["X-Content-Type-Options"] == "nosniff"
    second = await other.get(f"/agent/tickets/{ticket.reference}/events")
    await viewers_become(stream, [{"agent_id": 2, "name": "Bea Agent"}], 10)
    token = await form_token(other, f"/agent/tickets/{ticket.reference}")
    assert (await other.post(f"/agent/tickets/{ticket.reference}/typing", headers={"X-CSRF-Token": token})).status == 204
    assert (await other.post(f"/agent/tickets/{ticket.reference}/typing", headers={"X-CSRF-Token": "forged"})).status == 403
    assert (await next_event(stream, "typing", 10))["name"] == "Bea Agent"
    await ingest(hub, make_inbound(thread_hints=(ticket.reference,), text="Any news?"))
    await next_event(stream, "timeline", 10)
    fragment = await (await client.get(f"/agent/tickets/{ticket.reference}/timeline?after={ticket.interaction_id}")).text()
    assert "Any news?" in fragment and "Where is my parcel?" not in fragment
    second.close()  # Bea leaves: her stream says so when it next writes (one refresh)
    await viewers_become(stream, [], 3 * hub.settings.workspace.board_refresh_seconds)
    assert (await client.get("/agent/tickets/CC-999999/events")).status == 404


async def test_presence_and_replies_cross_hub_processes_on_postgresql(aiohttp_client, settings, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("hub processes share events through PostgreSQL's LISTEN/NOTIFY; SQLite runs one process")
    quick = settings_with(settings, workspace={"board_refresh_seconds": 1.0})
    hubs = [Hub.create(quick, database_url), Hub.create(quick, database_url)]
    try:
        one, two = [await aiohttp_client(create_app(quick, h)) for h in hubs]  # each with its event bridge
        await add_agent(hubs[0])
        await add_agent(hubs[0], email="bea@example.com", name="Bea Agent")
        ticket = await ingest(hubs[0], make_inbound(text="Where is my parcel?"))
        await sign_in(one)
        await sign_in(two, email="bea@example.com")
        stream = await one.get(f"/agent/tickets/{ticket.reference}/events")
        await two.get(f"/agent/tickets/{ticket.reference}/events")
        # Bea's page lives in the other process; its heartbeat crosses over once the bridges listen.
        await viewers_become(stream, [{"agent_id": 2, "name": "Bea Agent"}], 20)
        token = await form_token(two, f"/agent/tickets/{ticket.reference}")
        reply = await two.post(f"/agent/tickets/{ticket.reference}/reply", data={"text": "On its way.", "csrf_token": token}, allow_redirects=False)
        assert reply.status == 303
        await next_event(stream, "timeline", 20)
        assert "On its way." in await (await one.get(f"/agent/tickets/{ticket.reference}/timeline?after={ticket.interaction_id}")).text()
    finally:
        for h in hubs:
            await h.close()
