"""Changes nobody clicked for are in the audit log too: SLA escalation, the assigner, an answer's status."""

from __future__ import annotations

from datetime import timedelta

from contactcenter.app import create_app
from contactcenter.db.models import Ticket
from contactcenter.pipeline.run import ingest
from contactcenter.routing.assignment import assign_waiting
from contactcenter.routing.sla_timer import check_sla
from contactcenter.web.auth import create_api_token
from tests.factories import make_inbound
from tests.routing_factories import make_agent, routing_hub  # noqa: F401 - fixture
from tests.test_sla import api, sla_hub  # noqa: F401 - fixtures


async def audit_of(client, headers, ticket_id: int) -> list[tuple[str, str, dict]]:
    answer = await client.get(f"/api/v1/audit?entity=ticket&entity_id={ticket_id}", headers=headers)
    assert answer.status == 200
    return [(e["actor"], e["action"], e["details"]) for e in reversed((await answer.json())["items"])]


async def test_sla_at_risk_and_breach_are_audited_as_the_system(api, sla_hub):  # noqa: F811
    created = await api.post("/api/v1/contacts", json={"email": "erin@example.com", "message": "Where is my order?"}, headers=api.headers)
    ticket_id = (await created.json())["ticket_id"]
    async with sla_hub.sessions() as session:
        due = (await session.get_one(Ticket, ticket_id)).first_response_due_at
    await check_sla(sla_hub, due - timedelta(minutes=20))
    await check_sla(sla_hub, due + timedelta(seconds=1))
    actions = [(actor, action) for actor, action, _ in await audit_of(api, api.headers, ticket_id)]
    assert ("system", "sla.at_risk") in actions and ("system", "sla.breached") in actions
    assert actions.index(("system", "sla.at_risk")) < actions.index(("system", "sla.breached"))
    assert ("system", "ticket.transferred") in actions  # the policy's move to another queue


async def test_the_assigners_choice_and_its_status_change_are_audited(aiohttp_client, routing_hub):  # noqa: F811
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"email": 2})
        headers = {"Authorization": f"Bearer {await create_api_token(session, 'tests', 'admin')}"}
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    result = await ingest(hub, make_inbound(text="Hello"))
    assert await assign_waiting(hub) == 1
    assigned = [d for _, action, d in await audit_of(client, headers, result.ticket_id) if action == "ticket.assigned"]
    assert [(d["agent_id"], d["status"]) for d in assigned] == [(agent.id, {"from": "new", "to": "open"})]


async def test_an_agents_answer_setting_the_ticket_pending_is_audited(aiohttp_client, routing_hub):  # noqa: F811
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"email": 2})
        token = await create_api_token(session, "ada", "agent", agent_id=agent.id)
        admin = {"Authorization": f"Bearer {await create_api_token(session, 'tests', 'admin')}"}
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    result = await ingest(hub, make_inbound(text="Hello"))
    replied = await client.post(f"/api/v1/tickets/{result.ticket_id}/replies", json={"text": "Hi!"}, headers={"Authorization": f"Bearer {token}"})
    assert replied.status == 201, await replied.text()
    changes = [(actor, d) for actor, action, d in await audit_of(client, admin, result.ticket_id) if action == "ticket.status_changed"]
    assert changes == [(f"agent:{agent.id}", {"from": "new", "to": "pending", "reason": "answered"})]


async def test_a_new_ticket_is_audited_with_the_routing_rules_that_fired(client, auth):
    created = await client.post(
        "/api/v1/contacts",
        json={"email": "erin@example.com", "message": "You charged me twice", "type": "complaint"},
        headers=auth,
    )
    assert created.status in (200, 201), await created.text()
    ticket_id = (await created.json())["ticket_id"]
    routed = [(actor, d) for actor, action, d in await audit_of(client, auth, ticket_id) if action == "ticket.routed"]
    [(actor, details)] = routed
    assert actor == "system" and details["rules"] == ["complaints first"]
    assert (details["queue"], details["type"]) == ("general", "complaint")
    # A follow-up on the same ticket is not routed again.
    await client.post("/api/v1/contacts", json={"email": "erin@example.com", "message": "Any news?"}, headers=auth)
    assert len([a for _, a, _ in await audit_of(client, auth, ticket_id) if a == "ticket.routed"]) == 1
