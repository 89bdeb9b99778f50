"""Board actions: a queue's waiting tickets, moving one, setting presence, per channel, the wallboard."""

from __future__ import annotations

import re

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Agent, AuditEvent, Queue, Ticket
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, form_token, sign_in


async def general_queue(hub) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(Queue.id).where(Queue.name == "general"))


async def test_a_queue_row_leads_to_its_waiting_tickets_and_one_is_given_to_an_agent(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    ada = await add_agent(hub, email="ada@example.com", name="Ada")
    first = await ingest(hub, make_inbound(email="dana@example.com", subject="Broken zip"))
    await ingest(hub, make_inbound(email="eve@example.com", subject="Late parcel"))
    queue_id = await general_queue(hub)
    await sign_in(client, email="sam@example.com")
    board = await (await client.get("/supervisor")).text()
    assert f'href="/supervisor/queues/{queue_id}"' in board
    page = await (await client.get(f"/supervisor/queues/{queue_id}")).text()
    assert page.count("<tr data-reference=") == 2 and "Broken zip" in page and "Late parcel" in page
    reference = f"CC-{first.ticket_id:06d}"
    token = await form_token(client, f"/supervisor/queues/{queue_id}")
    moved = await client.post(
        f"/supervisor/tickets/{reference}/transfer",
        data={"csrf_token": token, "target": f"agent:{ada}", "back": f"/supervisor/queues/{queue_id}"},
        allow_redirects=False,
    )
    assert moved.status == 303 and moved.headers["Location"] == f"/supervisor/queues/{queue_id}?done=moved"
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, first.ticket_id)
        audited = await session.scalar(select(AuditEvent).where(AuditEvent.action == "ticket.transferred"))
    assert ticket.assignee_id == ada and ticket.status == "open"
    assert audited.actor.startswith("agent:") and audited.details["to"]["agent_id"] == ada
    after = await (await client.get(f"/supervisor/queues/{queue_id}")).text()
    assert after.count("<tr data-reference=") == 1 and reference not in after.split("<tbody>")[1].split("</tbody>")[0]
    forged = await client.post(f"/supervisor/tickets/{reference}/transfer", data={"csrf_token": "x", "target": f"queue:{queue_id}"})
    assert forged.status == 403
    nowhere = await client.post(f"/supervisor/tickets/{reference}/transfer", data={"csrf_token": token, "target": "queue:999999"})
    assert nowhere.status == 400


async def test_a_ticket_moves_to_another_queue_and_waits_there(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    result = await ingest(hub, make_inbound(email="dana@example.com"))
    async with hub.sessions() as session, session.begin():
        other = Queue(name="billing", skills=["billing"])
        session.add(other)
    await sign_in(client, email="sam@example.com")
    token = await form_token(client, "/supervisor")
    response = await client.post(
        f"/supervisor/tickets/{result.ticket_id}/transfer", data={"csrf_token": token, "target": f"queue:{other.id}"}, allow_redirects=False
    )
    assert response.status == 303
    page = await (await client.get(f"/supervisor/queues/{other.id}")).text()
    assert page.count("<tr data-reference=") == 1


async def test_a_supervisor_sets_an_agents_presence_from_the_board(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    ada = await add_agent(hub, email="ada@example.com", name="Ada", presence="available")
    await sign_in(client, email="sam@example.com")
    token = await form_token(client, "/supervisor")
    response = await client.post(
        f"/supervisor/agents/{ada}/presence", data={"csrf_token": token, "presence": "away", "back": "/supervisor?channel=sms"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/supervisor?channel=sms"
    async with hub.sessions() as session:
        assert (await session.get(Agent, ada)).presence == "away"
    bad = await client.post(f"/supervisor/agents/{ada}/presence", data={"csrf_token": token, "presence": "asleep"})
    assert bad.status == 400


async def test_the_channel_view_counts_only_that_channels_tickets(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await ingest(hub, make_inbound(email="dana@example.com"))
    await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100"))
    await sign_in(client, email="sam@example.com")

    def waiting(page: str) -> int:
        return int(re.search(r'data-total="waiting">(\d+)<', page).group(1))

    assert waiting(await (await client.get("/supervisor")).text()) == 2
    assert waiting(await (await client.get("/supervisor?channel=sms")).text()) == 1
    assert waiting(await (await client.get("/supervisor?channel=voice")).text()) == 0
    assert (await client.get("/supervisor?channel=pigeon")).status == 400


async def test_the_wallboard_has_large_numbers_and_no_controls(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await ingest(hub, make_inbound(email="dana@example.com"))
    await sign_in(client, email="sam@example.com")
    page = await (await client.get("/supervisor/wallboard")).text()
    assert re.search(r'data-total="waiting">1<', page)
    assert "<form" not in page and "<select" not in page and "<button" not in page
    assert 'data-events="/supervisor/events"' in page


async def test_agents_get_403_on_board_actions(client, hub):
    await add_agent(hub)
    await sign_in(client)
    for path in ("/supervisor", "/supervisor/wallboard", "/supervisor/queues/1"):
        assert (await client.get(path)).status == 403
    token = await form_token(client, "/agent")
    assert (await client.post("/supervisor/agents/1/presence", data={"csrf_token": token, "presence": "away"})).status == 403
