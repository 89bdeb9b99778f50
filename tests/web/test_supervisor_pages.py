"""The supervisor's queue board (page and live stream); reports are in tests/reports/."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from contactcenter.db.models import Ticket, utcnow
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, next_event, sign_in

STREAM_DEADLINE = 10.0


async def next_board(response, deadline: float) -> dict:
    return await next_event(response, "board", deadline)


async def test_the_board_stream_sends_an_update_when_a_contact_arrives(client, hub, auth):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await sign_in(client, email="sam@example.com")
    response = await client.get("/supervisor/events")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    first = await next_board(response, STREAM_DEADLINE)
    assert sum(q["waiting"] for q in first["queues"]) == 0

    contact = {"channel": "api", "external_id": "crm-1", "name": "Dana", "email": "dana@example.com", "message": "Help"}
    assert (await client.post("/api/v1/contacts", json=contact, headers=auth)).status == 201
    loop = asyncio.get_running_loop()
    end = loop.time() + STREAM_DEADLINE
    while True:  # an update may come from another event first; wait for ours
        board = await next_board(response, end - loop.time())
        general = [q for q in board["queues"] if q["name"] == "general"]
        if general and general[0]["waiting"] == 1:
            break
    assert general[0]["oldest_wait_seconds"] is not None
    response.close()


async def test_the_board_counts_waiting_oldest_risk_breaches_and_presence(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor", presence="available")
    ada = await add_agent(hub, email="ada@example.com", name="Ada", presence="busy")
    now = utcnow()
    for name, changes in {
        "old": {"created_at": now - timedelta(hours=2, minutes=1)},
        "late": {"sla_state": "breached"},
        "taken": {"assignee_id": ada, "status": "open", "created_at": now - timedelta(hours=5)},  # not waiting
        "risky": {"sla_state": "at_risk", "status": "pending"},
        "done": {"status": "resolved", "sla_state": "breached"},  # solved: no longer counts
    }.items():
        result = await ingest(hub, make_inbound(email=f"{name}@example.com"))
        async with hub.sessions() as session, session.begin():
            ticket = await session.get(Ticket, result.ticket_id)
            for key, value in changes.items():
                setattr(ticket, key, value)
    await sign_in(client, email="sam@example.com")
    response = await client.get("/supervisor")
    page = await response.text()
    row = re.search(r'<tr data-queue="\d+">\s*<th scope="row"><a href="/supervisor/queues/\d+">general</a></th>(.*?)</tr>', page, re.DOTALL).group(1)
    cells = dict(re.findall(r'data-field="(\w+)">([^<]*)<', row))
    assert cells == {
        "waiting": "2", "oldest_wait_seconds": "2h 01m", "at_risk": "1", "breached": "1", "agents_available": "1", "agents_busy": "1"
    }
    assert '<span data-presence-count="available">1</span>' in page and '<span data-presence-count="busy">1</span>' in page
    ada_row = re.search(r'<tr data-agent="%d">(.*?)</tr>' % ada, page, re.DOTALL).group(1)
    assert '<td class="num" data-field="open_tickets">1</td>' in ada_row  # the ticket she holds
    # Without JavaScript the page refreshes itself.
    assert f'<noscript><meta http-equiv="refresh" content="{int(hub.settings.workspace.board_refresh_seconds)}"></noscript>' in page
    assert response.headers["Cache-Control"] == "no-store"


async def test_agents_see_no_stream(client, hub):
    await add_agent(hub)
    await sign_in(client)
    assert (await client.get("/supervisor/events")).status == 403


async def test_the_board_skips_deactivated_agents(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await add_agent(hub, email="gone@example.com", name="Gone Agent", active=False)
    await sign_in(client, email="sam@example.com")
    page = await (await client.get("/supervisor")).text()
    assert "Gone Agent" not in page
