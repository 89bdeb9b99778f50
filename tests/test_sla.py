"""SLA clocks end to end: at risk, breached, the breach policy, pauses while pending."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from contactcenter.app import create_app
from contactcenter.db.models import AuditEvent, Ticket, utcnow
from contactcenter.routing.rules import PRIORITIES
from contactcenter.routing.sla_timer import check_sla
from contactcenter.web.auth import create_api_token
from tests.factories import settings_with
from tests.polling import eventually
from tests.routing_factories import hub_with_queues, make_agent, make_ticket

TIGHT = """
[routing.queues.escalations]
skills = ["senior"]
sla_policy = "tight"
calendar = "always"

[routing]
default_queue = "general"

[routing.channel_queues]
api = "general"

[sla.policies.standard]
first_response_hours = { normal = 1, high = 1 }
resolution_hours = { normal = 8 }
at_risk_ratio = 0.5
breach_raise_priority = true
breach_move_to_queue = "escalations"

[sla.policies.tight]
first_response_hours = { high = 0.5 }
resolution_hours = {}
at_risk_ratio = 0.5
breach_raise_priority = false
breach_move_to_queue = ""
"""


@pytest.fixture
async def sla_hub(tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    async with hub_with_queues(tmp_path, database_url, TIGHT) as hub:
        yield hub


@pytest.fixture
async def api(aiohttp_client, sla_hub):
    client = await aiohttp_client(create_app(sla_hub.settings, sla_hub, workers=False))
    async with sla_hub.sessions() as session, session.begin():
        client.headers = {"Authorization": f"Bearer {await create_api_token(session, 'tests', 'admin')}"}
    return client


def drain(queue: asyncio.Queue) -> list:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def test_breach_emits_event_changes_ticket_per_policy_and_shows_in_queues(api, sla_hub):
    hub = sla_hub
    created = await api.post("/api/v1/contacts", json={"email": "erin@example.com", "message": "Where is my order?"}, headers=api.headers)
    ticket_id = (await created.json())["ticket_id"]
    ticket = await (await api.get(f"/api/v1/tickets/{ticket_id}", headers=api.headers)).json()
    assert (ticket["queue"], ticket["priority"], ticket["sla_state"]) == ("general", PRIORITIES["normal"], "ok")
    async with hub.sessions() as session:
        due = (await session.get_one(Ticket, ticket_id)).first_response_due_at
    assert due is not None

    async with hub.bus.subscribe() as events:
        assert await check_sla(hub, due - timedelta(minutes=40)) == []
        await check_sla(hub, due - timedelta(minutes=20))  # past half of the hour: at risk
        assert [(e.kind, e.data["ticket_id"], e.data["clock"]) for e in drain(events)] == [("sla.at_risk", ticket_id, "first_response")]
        queues = {q["name"]: q for q in (await (await api.get("/api/v1/queues", headers=api.headers)).json())["items"]}
        assert queues["general"]["at_risk"] == 1

        await check_sla(hub, due + timedelta(seconds=1))
        kinds = [e.kind for e in drain(events)]
        await check_sla(hub, due + timedelta(minutes=5))  # applied once only
        assert drain(events) == []
    assert kinds == ["sla.breached", "ticket.transferred"]

    ticket = await (await api.get(f"/api/v1/tickets/{ticket_id}", headers=api.headers)).json()
    assert (ticket["sla_state"], ticket["priority"], ticket["queue"], ticket["assignee_id"]) == ("breached", PRIORITIES["high"], "escalations", None)
    queues = {q["name"]: q for q in (await (await api.get("/api/v1/queues", headers=api.headers)).json())["items"]}
    assert (queues["escalations"]["breached"], queues["escalations"]["waiting"]) == (1, 1)
    assert (queues["general"]["breached"], queues["general"]["at_risk"], queues["general"]["waiting"]) == (0, 0, 0)
    async with hub.sessions() as session:
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "sla.breached"))
    assert audit.subject_id == ticket_id and audit.details["changes"]["priority"] == {"from": "normal", "to": "high"}


async def test_a_first_answer_stops_the_first_response_clock(api, sla_hub):
    hub = sla_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session)
        token = await create_api_token(session, "agent", "agent", agent.id)
    created = await api.post("/api/v1/contacts", json={"email": "finn@example.com", "message": "Hi"}, headers=api.headers)
    ticket_id = (await created.json())["ticket_id"]
    reply = await api.post(f"/api/v1/tickets/{ticket_id}/replies", json={"text": "Hello Finn"}, headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 201
    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, ticket_id)
        ticket.status = "open"  # kept open rather than waiting on the customer
        first_due = ticket.first_response_due_at
    await check_sla(hub, first_due + timedelta(minutes=5))
    assert (await (await api.get(f"/api/v1/tickets/{ticket_id}", headers=api.headers)).json())["sla_state"] == "ok"


async def test_clocks_stop_while_pending_and_due_times_move_on_after(api, sla_hub):
    hub = sla_hub
    created = await api.post("/api/v1/contacts", json={"email": "gil@example.com", "message": "Hi"}, headers=api.headers)
    ticket_id = (await created.json())["ticket_id"]
    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, ticket_id)
        due = ticket.first_response_due_at
        ticket.status = "pending"  # waiting on the customer
        assert ticket.sla_paused_at is not None
    # Long past due, but the customer has the ball: no breach.
    assert await check_sla(hub, due + timedelta(hours=5)) == []

    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, ticket_id)
        ticket.sla_paused_at = utcnow() - timedelta(hours=2)  # as if it had waited two hours
        ticket.status = "open"  # the customer wrote back
        assert ticket.sla_resumed_at is not None
    await check_sla(hub)
    async with hub.sessions() as session:
        ticket = await session.get_one(Ticket, ticket_id)
    # The calendar is open all hours, so two hours paused is two hours later.
    assert abs(ticket.first_response_due_at - (due + timedelta(hours=2))) < timedelta(seconds=5)
    assert (ticket.sla_paused_at, ticket.sla_resumed_at, ticket.sla_state) == (None, None, "ok")


async def test_the_served_apps_timer_marks_breaches_by_itself(aiohttp_client, sla_hub):
    hub = sla_hub
    hub.settings = settings_with(hub.settings, sla={"check_seconds": 0.05})
    async with hub.sessions() as session, session.begin():
        ticket = await make_ticket(session, age_minutes=90)
        ticket.first_response_due_at = utcnow() - timedelta(minutes=30)
        token = await create_api_token(session, "tests", "agent")
    client = await aiohttp_client(create_app(hub.settings, hub))  # with its workers
    async def breached() -> dict | None:
        answer = await client.get("/api/v1/queues", headers={"Authorization": f"Bearer {token}"})
        queues = {q["name"]: q for q in (await answer.json())["items"]}
        return queues if queues["escalations"]["breached"] else None

    queues = await eventually(breached, 10, "a breach on the escalations queue")
    assert (queues["escalations"]["breached"], queues["general"]["breached"]) == (1, 0)
