"""People over the API (DESIGN.md §6): admins add and change agents; every change audited."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.db.models import Agent, AuditEvent, Ticket
from contactcenter.pipeline.run import ingest
from contactcenter.web.auth import check_password, create_api_token
from tests.factories import make_inbound

NEW = {
    "email": "Lin@Example.com", "name": "Lin  Wei", "role": "supervisor", "phone": "+86 138 0013 8000",
    "skills": {"billing": 3, "refunds": 1}, "capacity": {"voice": 1, "sms": 3, "email": 6},
    "language": "zh-CN", "timezone": "Asia/Shanghai", "password": "correct horse battery",
}


async def token_for(hub, role: str) -> dict[str, str]:
    async with hub.sessions() as session, session.begin():
        return {"Authorization": f"Bearer {await create_api_token(session, role, role)}"}


async def test_an_admin_adds_a_person_with_every_field(client, hub, auth):
    response = await client.post("/api/v1/agents", json=NEW, headers=auth)
    assert response.status == 201, await response.text()
    body = await response.json()
    assert {k: body[k] for k in ("email", "name", "role", "phone", "skills", "language", "timezone", "active")} == {
        "email": "lin@example.com", "name": "Lin Wei", "role": "supervisor", "phone": "+8613800138000",
        "skills": {"billing": 3, "refunds": 1}, "language": "zh-CN", "timezone": "Asia/Shanghai", "active": True,
    }
    assert body["capacity"]["voice"] == 1 and body["capacity"]["email"] == 6
    async with hub.sessions() as session:
        agent = await session.get(Agent, body["id"])
        assert await check_password("correct horse battery", agent.password_hash)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "agent.created"))
    assert event.subject_id == agent.id and event.details["skills"] == {"billing": 3, "refunds": 1}
    assert "correct horse" not in str(event.details)
    again = await client.post("/api/v1/agents", json=NEW, headers=auth)
    assert again.status == 409 and (await again.json())["error"]["code"] == "email_taken"


async def test_bad_fields_get_a_clear_422_and_nothing_is_stored(client, hub, auth):
    for field, value in [
        ("phone", "555-0100"),  # no country: not E.164
        ("phone", "+1 415 555 01"),  # too short to be a number
        ("skills", {"billing": 9}),
        ("skills", {"Bad Name": 1}),
        ("capacity", {"fax": 1}),
        ("capacity", {"sms": -1}),
        ("language", "not a language"),
        ("timezone", "Mars/Olympus"),
        ("role", "king"),
        ("active", "yes"),
    ]:
        response = await client.post("/api/v1/agents", json={**NEW, field: value}, headers=auth)
        assert response.status == 400, (field, value, await response.text())
        assert field in (await response.json())["error"]["fields"]
    missing = await client.post("/api/v1/agents", json={"name": "No Email"}, headers=auth)
    assert missing.status == 400
    unknown = await client.post("/api/v1/agents", json={**NEW, "salary": 1}, headers=auth)
    assert unknown.status == 400
    async with hub.sessions() as session:
        assert await session.scalar(select(Agent)) is None


async def test_changes_are_audited_field_by_field(client, hub, auth):
    created = await (await client.post("/api/v1/agents", json=NEW, headers=auth)).json()
    response = await client.patch(f"/api/v1/agents/{created['id']}", json={"skills": {"billing": 5}, "role": "agent"}, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert body["skills"] == {"billing": 5} and body["role"] == "agent"
    async with hub.sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "agent.updated"))
    assert event.details == {
        "skills": {"from": {"billing": 3, "refunds": 1}, "to": {"billing": 5}},
        "role": {"from": "supervisor", "to": "agent"},
    }
    assert event.actor.startswith("token:")
    missing = await client.patch("/api/v1/agents/999999", json={"name": "x"}, headers=auth)
    assert missing.status == 404


async def test_deactivating_puts_their_open_tickets_back_in_the_queue(client, hub, auth):
    created = await (await client.post("/api/v1/agents", json=NEW, headers=auth)).json()
    result = await ingest(hub, make_inbound(email="dana@example.com"))
    async with hub.sessions() as session, session.begin():
        ticket = await session.get(Ticket, result.ticket_id)
        ticket.assignee_id, ticket.status = created["id"], "open"
    response = await client.patch(f"/api/v1/agents/{created['id']}", json={"active": False}, headers=auth)
    assert response.status == 200 and (await response.json())["active"] is False
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, result.ticket_id)
        agent = await session.get(Agent, created["id"])
    assert ticket.assignee_id is None and ticket.status == "open"
    assert agent.presence == "offline"
    listed = await (await client.get("/api/v1/agents", headers=auth)).json()
    assert created["id"] not in [a["id"] for a in listed["items"]]


async def test_only_admins_manage_people(client, hub):
    for role in ("agent", "supervisor"):
        headers = await token_for(hub, role)
        assert (await client.post("/api/v1/agents", json=NEW, headers=headers)).status == 403
        assert (await client.patch("/api/v1/agents/1", json={"name": "x"}, headers=headers)).status == 403
        assert (await client.get("/api/v1/audit", headers=headers)).status == 403
    assert (await client.post("/api/v1/agents", json=NEW)).status == 401


async def test_the_audit_api_filters_and_pages_newest_first(client, hub, auth):
    created = await (await client.post("/api/v1/agents", json=NEW, headers=auth)).json()
    for level in (1, 2, 3):
        await client.patch(f"/api/v1/agents/{created['id']}", json={"skills": {"billing": level}}, headers=auth)
    body = await (await client.get(f"/api/v1/audit?entity=agent&entity_id={created['id']}&limit=2", headers=auth)).json()
    assert [e["details"]["skills"]["to"] for e in body["items"]] == [{"billing": 3}, {"billing": 2}]
    older = await (await client.get(body["next"], headers=auth)).json()
    assert [e["action"] for e in older["items"]] == ["agent.updated", "agent.created"]
    nobody = await (await client.get("/api/v1/audit?actor=agent:424242", headers=auth)).json()
    assert nobody["items"] == []
    future = await (await client.get("/api/v1/audit?from=2999-01-01", headers=auth)).json()
    assert future["items"] == []
    today = await (await client.get("/api/v1/audit?to=2999-01-01&entity=agent", headers=auth)).json()
    assert len(today["items"]) == 4
    assert (await client.get("/api/v1/audit?from=yesterday", headers=auth)).status == 400
    assert (await client.get("/api/v1/audit?entity=spaceship", headers=auth)).status == 400
