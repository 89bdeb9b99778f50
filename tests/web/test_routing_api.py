"""Queues, agents, presence and transfers over HTTP; the assigner inside the served app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from contactcenter.app import create_app
from contactcenter.db.models import AuditEvent, Queue, Ticket
from contactcenter.hub import Hub
from contactcenter.web.auth import create_api_token
from tests.polling import eventually
from tests.routing_factories import make_agent, make_ticket, routing_hub, routing_settings  # noqa: F401 - fixture


@pytest.fixture
async def api(aiohttp_client, routing_hub):
    return await aiohttp_client(create_app(routing_hub.settings, routing_hub, workers=False))


async def bearer(hub, role: str, agent_id: int | None = None) -> dict[str, str]:
    async with hub.sessions() as session, session.begin():
        return {"Authorization": f"Bearer {await create_api_token(session, role, role, agent_id)}"}


async def test_agents_show_presence_load_and_current_tickets(api, routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, skills={"billing": 3}, capacity={"email": 4})
        mine = await make_ticket(session, "billing")
        mine.assignee_id, mine.status = agent.id, "open"
        waiting = await make_ticket(session, "billing")
    headers = await bearer(hub, "agent", agent.id)
    body = await (await api.get("/api/v1/agents", headers=headers)).json()
    (shown,) = body["items"]
    assert (shown["id"], shown["presence"], shown["on_call"]) == (agent.id, "available", False)
    assert shown["load"] == {"email": 1}
    assert shown["capacity"]["email"] == 4 and shown["capacity"]["voice"] == 1  # the default fills the gap
    assert [t["reference"] for t in shown["tickets"]] == [mine.reference]
    assert waiting.reference not in [t["reference"] for t in shown["tickets"]]


async def test_agent_sets_own_presence_but_not_anothers(api, routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        me = await make_agent(session)
        other = await make_agent(session)
    mine = await bearer(hub, "agent", me.id)
    response = await api.put(f"/api/v1/agents/{me.id}/presence", json={"presence": "away"}, headers=mine)
    assert response.status == 200 and (await response.json())["presence"] == "away"
    refused = await api.put(f"/api/v1/agents/{other.id}/presence", json={"presence": "offline"}, headers=mine)
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "forbidden"

    supervisor = await bearer(hub, "supervisor")
    allowed = await api.put(f"/api/v1/agents/{other.id}/presence", json={"presence": "busy"}, headers=supervisor)
    assert allowed.status == 200 and (await allowed.json())["presence"] == "busy"
    async with hub.sessions() as session:
        audits = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "agent.presence").order_by(AuditEvent.id)))
    assert [(a.subject_id, a.details["to"]) for a in audits] == [(me.id, "away"), (other.id, "busy")]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"presence": "sleeping"}, 400, "invalid_input"), ({}, 400, "invalid_input"), (["away"], 400, "malformed_json")],
)
async def test_bad_presence_requests_get_4xx(api, routing_hub, body, status, code):
    async with routing_hub.sessions() as session, session.begin():
        agent = await make_agent(session)
    headers = await bearer(routing_hub, "supervisor")
    response = await api.put(f"/api/v1/agents/{agent.id}/presence", json=body, headers=headers)
    assert response.status == status and (await response.json())["error"]["code"] == code
    missing = await api.put("/api/v1/agents/99999/presence", json={"presence": "away"}, headers=headers)
    assert missing.status == 404


async def test_going_offline_over_the_api_puts_unstarted_work_back_in_line(api, routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session)
        ticket = await make_ticket(session)
        ticket.assignee_id, ticket.status = agent.id, "open"
    headers = await bearer(hub, "agent", agent.id)
    assert (await api.put(f"/api/v1/agents/{agent.id}/presence", json={"presence": "offline"}, headers=headers)).status == 200
    queues = {q["name"]: q for q in (await (await api.get("/api/v1/queues", headers=headers)).json())["items"]}
    assert queues["general"]["waiting"] == 1
    assert (await (await api.get(f"/api/v1/tickets/{ticket.id}", headers=headers)).json())["assignee_id"] is None


async def test_transfer_to_a_queue_and_to_an_agent_is_audited(api, routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, skills={"technical": 2})
        specialist = await make_agent(session, skills={"technical": 5})
        ticket = await make_ticket(session)
        ticket.assignee_id, ticket.status = agent.id, "open"
    mine = await bearer(hub, "agent", agent.id)
    moved = await api.post(f"/api/v1/tickets/{ticket.reference}/transfer", json={"queue": "technical"}, headers=mine)
    assert moved.status == 200
    body = await moved.json()
    assert (body["queue"], body["assignee_id"]) == ("technical", None)

    # No longer the agent's ticket (nobody's): only a supervisor may move it now.
    again = await api.post(f"/api/v1/tickets/{ticket.id}/transfer", json={"agent_id": specialist.id}, headers=mine)
    assert again.status == 403
    unattached = await bearer(hub, "agent")  # an agent-role token that is no agent's
    assert (await api.post(f"/api/v1/tickets/{ticket.id}/transfer", json={"agent_id": agent.id}, headers=unattached)).status == 403
    supervisor = await bearer(hub, "supervisor")
    given = await api.post(f"/api/v1/tickets/{ticket.id}/transfer", json={"agent_id": specialist.id}, headers=supervisor)
    assert given.status == 200 and (await given.json())["assignee_id"] == specialist.id

    async with hub.sessions() as session:
        audits = list(await session.scalars(select(AuditEvent).where(AuditEvent.subject_id == ticket.id).order_by(AuditEvent.id)))
    transfers = [(a.actor.split(":")[0], a.details["from"], a.details["to"]) for a in audits if a.action == "ticket.transferred"]
    general, technical = ticket.queue_id, body["queue_id"]
    assert transfers == [
        ("token", {"queue_id": general, "agent_id": agent.id}, {"queue_id": technical, "agent_id": None}),
        ("token", {"queue_id": technical, "agent_id": None}, {"queue_id": technical, "agent_id": specialist.id}),
    ]
    assert [a.action for a in audits][-1] == "ticket.assigned"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "queue"),
        ({"queue": "nowhere"}, 400, "queue"),
        ({"queue": ["general"]}, 400, "queue"),
        ({"agent_id": "7"}, 400, "agent_id"),
        ({"agent_id": 99999}, 400, "agent_id"),
    ],
)
async def test_bad_transfers_get_4xx_and_change_nothing(api, routing_hub, body, status, field):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        ticket = await make_ticket(session)
    headers = await bearer(hub, "supervisor")
    response = await api.post(f"/api/v1/tickets/{ticket.id}/transfer", json=body, headers=headers)
    assert response.status == status
    assert field in (await response.json())["error"]["fields"]
    async with hub.sessions() as session:
        assert (await session.get_one(Ticket, ticket.id)).queue_id == ticket.queue_id
        assert await session.scalar(select(AuditEvent.id)) is None


async def test_closed_ticket_cannot_be_transferred(api, routing_hub):
    async with routing_hub.sessions() as session, session.begin():
        ticket = await make_ticket(session)
        ticket.status = "closed"
    headers = await bearer(routing_hub, "supervisor")
    response = await api.post(f"/api/v1/tickets/{ticket.id}/transfer", json={"queue": "billing"}, headers=headers)
    assert response.status == 409 and (await response.json())["error"]["code"] == "ticket_closed"
    assert (await api.post("/api/v1/tickets/CC-999999/transfer", json={"queue": "billing"}, headers=headers)).status == 404


async def test_queues_show_waiting_oldest_wait_and_agents(api, routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        await make_agent(session, skills={"billing": 1}, presence="available")
        await make_agent(session, skills={"billing": 1}, presence="busy")
        await make_agent(session, presence="busy")  # no billing skill
        await make_ticket(session, "billing", age_minutes=30)
        await make_ticket(session, "billing", age_minutes=5)
    headers = await bearer(hub, "agent")
    queues = {q["name"]: q for q in (await (await api.get("/api/v1/queues", headers=headers)).json())["items"]}
    billing = queues["billing"]
    assert (billing["waiting"], billing["agents_available"], billing["agents_busy"]) == (2, 1, 1)
    assert 30 * 60 <= billing["oldest_wait_seconds"] < 31 * 60
    assert (queues["general"]["waiting"], queues["general"]["agents_busy"]) == (0, 2)
    assert (await api.get("/api/v1/queues")).status == 401


async def test_the_served_app_assigns_new_work_by_itself(aiohttp_client, routing_hub):
    hub = routing_hub
    client = await aiohttp_client(create_app(hub.settings, hub))  # with its workers
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"api": 2})
    headers = await bearer(hub, "admin")
    created = await client.post("/api/v1/contacts", json={"email": "dora@example.com", "message": "Hello?"}, headers=headers)
    reference = (await created.json())["reference"]
    async def assigned() -> dict | None:
        ticket = await (await client.get(f"/api/v1/tickets/{reference}", headers=headers)).json()
        return ticket if ticket["assignee_id"] is not None else None

    ticket = await eventually(assigned, 10, "the ticket assigned")
    assert (ticket["assignee_id"], ticket["status"]) == (agent.id, "open")


async def test_start_up_writes_the_configured_queues(aiohttp_client, tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    hub = Hub.create(routing_settings(tmp_path), database_url)
    async with hub.sessions() as session, session.begin():
        session.add(Queue(name="billing", skills=["accounts"], sla_policy="", calendar=""))  # as configured before
        session.add(Queue(name="retired", skills=[]))  # no longer configured: kept, tickets may point at it
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    headers = await bearer(hub, "agent")
    queues = {q["name"]: q for q in (await (await client.get("/api/v1/queues", headers=headers)).json())["items"]}
    assert set(queues) == {"billing", "general", "retired", "technical"}
    assert (queues["billing"]["skills"], queues["billing"]["sla_policy"], queues["billing"]["calendar"]) == (["billing"], "standard", "always")
