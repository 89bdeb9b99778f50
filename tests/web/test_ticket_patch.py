"""PATCH /api/v1/tickets/{id}: priority, type, queue, tags, status with the complaint rule; every change audited."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import TicketType
from contactcenter.db.models import AuditEvent, Queue, Ticket
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound


async def _ticket(hub, **extra) -> int:
    return (await ingest(hub, make_inbound(subject="Wrong bill", **extra))).ticket_id


async def _audit(hub, ticket_id: int) -> list[tuple[str, dict]]:
    """The ticket's audit after it was created and routed (`ticket.routed`, tested in test_automatic_audit)."""
    async with hub.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "ticket", AuditEvent.subject_id == ticket_id, AuditEvent.action != "ticket.routed")
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.details) for e in rows]


async def test_priority_type_and_tags_change_and_are_audited(client, hub, auth):
    ticket_id = await _ticket(hub)
    response = await client.patch(
        f"/api/v1/tickets/{ticket_id}", json={"priority": 4, "type": "request", "tags": ["Billing", " refund ", "billing"]}, headers=auth
    )
    body = await response.json()
    assert response.status == 200 and response.headers["X-Content-Type-Options"] == "nosniff"
    assert (body["priority"], body["type"], body["tags"]) == (4, "request", ["billing", "refund"])
    assert ("ticket.updated", {"priority": {"from": 2, "to": 4}, "type": {"from": "question", "to": "request"},
            "tags": {"from": [], "to": ["billing", "refund"]}}) in await _audit(hub, ticket_id)


async def test_a_complaint_needs_a_resolution_to_be_resolved(client, hub, auth):
    ticket_id = await _ticket(hub, ticket_type=TicketType.COMPLAINT)
    refused = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "resolved"}, headers=auth)
    assert refused.status == 422 and (await refused.json())["error"]["code"] == "resolution_required"
    async with hub.sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status != "resolved"
    done = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "resolved", "resolution": "Refunded the double charge."}, headers=auth)
    body = await done.json()
    assert done.status == 200 and body["status"] == "resolved" and body["resolution"] == "Refunded the double charge."
    assert ("ticket.status", {"from": "new", "to": "resolved", "resolution": "Refunded the double charge."}) in [
        (a, {k: v for k, v in d.items()}) for a, d in await _audit(hub, ticket_id)
    ]


async def test_moving_to_another_queue_is_a_transfer(client, hub, auth):
    ticket_id = await _ticket(hub)
    async with hub.sessions() as session, session.begin():
        session.add(Queue(name="billing"))
    response = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"queue": "billing"}, headers=auth)
    assert response.status == 200 and (await response.json())["queue"] == "billing"
    assert [a for a, _ in await _audit(hub, ticket_id)] == ["ticket.transferred"]


async def test_bad_fields_change_nothing(client, hub, auth):
    ticket_id = await _ticket(hub)
    for body, field in (({"priority": 9, "tags": ["x"]}, "priority"), ({"type": "rant"}, "type"), ({"queue": "nowhere"}, "queue"),
                        ({"tags": "billing"}, "tags"), ({"colour": "red"}, "colour"), ({"priority": True}, "priority")):
        response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=body, headers=auth)
        assert response.status == 400, body
        assert field in (await response.json())["error"]["fields"], body
    assert (await client.patch("/api/v1/tickets/CC-999999", json={"priority": 1}, headers=auth)).status == 404
    assert (await client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": 1})).status == 401
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert (ticket.priority, ticket.tags) == (2, []) and await _audit(hub, ticket_id) == []


async def test_json_answers_name_no_server_version(client, hub, auth):
    response = await client.get("/healthz")
    assert response.headers["Server"] == "contactcenter" and response.headers["X-Content-Type-Options"] == "nosniff"
    error = await client.get("/api/v1/tickets/1")
    assert error.headers["X-Content-Type-Options"] == "nosniff" and "Python" not in error.headers["Server"]
