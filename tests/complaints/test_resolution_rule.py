"""A complaint is closed only with a record of what was done about it, and a reopened one is counted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from contactcenter.actions import do_set_status, resolution_problem
from contactcenter.contact import TicketType
from contactcenter.db.models import AuditEvent, Ticket
from contactcenter.errors import InputError
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, form_token, sign_in


def test_only_complaints_need_a_note_to_be_resolved_or_closed():
    assert resolution_problem("complaint", "resolved", "")
    assert resolution_problem("complaint", "closed", "   ")
    assert resolution_problem("complaint", "resolved", "Refunded the double charge") == ""
    assert resolution_problem("complaint", "pending", "") == ""
    assert resolution_problem("question", "resolved", "") == ""


async def complaint(hub) -> int:
    result = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, subject="Charged twice"))
    return result.ticket_id


async def test_the_status_action_refuses_a_complaint_without_a_resolution(hub):
    ticket_id = await complaint(hub)
    with pytest.raises(InputError) as refused:
        async with hub.sessions() as session, session.begin():
            do_set_status(session, await session.get(Ticket, ticket_id), "resolved", actor="token:1")
    assert (refused.value.status, refused.value.code) == (422, "resolution_required")
    async with hub.sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket.status == "new"
        do_set_status(session, ticket, "resolved", actor="token:1", resolution="Refunded the second charge.")
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "ticket.status"))
    assert (ticket.status, ticket.resolution) == ("resolved", "Refunded the second charge.")
    assert event.details == {"from": "new", "to": "resolved", "resolution": "Refunded the second charge."}


async def test_the_agent_page_asks_for_the_note_and_keeps_the_status(client, hub):
    await add_agent(hub)
    ticket_id = await complaint(hub)
    await sign_in(client)
    reference = f"CC-{ticket_id:06d}"
    token = await form_token(client, f"/agent/tickets/{reference}")
    refused = await client.post(f"/agent/tickets/{reference}/status", data={"status": "closed", "csrf_token": token})
    assert refused.status == 422
    assert "resolution note" in await refused.text()
    async with hub.sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status == "new"
    done = await client.post(
        f"/agent/tickets/{reference}/status",
        data={"status": "closed", "resolution": "Replaced the bag.", "csrf_token": token},
        allow_redirects=False,
    )
    assert done.status == 303
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert (ticket.status, ticket.resolution) == ("closed", "Replaced the bag.")


async def test_a_customer_writing_back_to_a_resolved_complaint_reopens_it_and_it_counts(hub):
    # Verified senders: a claimed address may not join an existing ticket (issue 19).
    first = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, subject="Broken zip", evidence="verified"))
    async with hub.sessions() as session, session.begin():
        do_set_status(session, await session.get(Ticket, first.ticket_id), "resolved", actor="token:1", resolution="Sent a new zip.")
    again = await ingest(hub, make_inbound(subject="Broken zip", text="It broke again.", thread_hints=(first.reference,), evidence="verified"))
    assert again.ticket_id == first.ticket_id
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, first.ticket_id)
        reopened = await session.scalar(select(AuditEvent).where(AuditEvent.action == "ticket.reopened"))
    assert (ticket.status, ticket.reopened_count) == ("open", 1)
    assert (reopened.actor, reopened.details) == ("customer", {"from": "resolved", "type": "complaint"})
