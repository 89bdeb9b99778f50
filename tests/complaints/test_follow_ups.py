"""A resolved complaint comes back to its resolver "did the fix hold?" on the due day; the apology starts the first answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from contactcenter.actions import do_set_status
from contactcenter.complaints.follow_ups import due_follow_ups, open_complaints
from contactcenter.contact import TicketType
from contactcenter.db.models import FollowUp, Ticket, utcnow
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, csrf_token, sign_in


async def resolved_complaint(hub, agent_id: int, at) -> Ticket:
    result = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, subject="Rude driver"))
    async with hub.sessions() as session, session.begin():
        ticket = await session.get(Ticket, result.ticket_id)
        do_set_status(session, ticket, "resolved", actor=f"agent:{agent_id}", resolution="Spoke to the courier.", now=at)
    return ticket


async def test_the_follow_up_is_due_follow_up_days_after_resolution(hub):
    agent_id = await add_agent(hub)
    other = await add_agent(hub, email="bo@example.com", name="Bo")
    resolved_at = utcnow()
    ticket = await resolved_complaint(hub, agent_id, resolved_at)
    days = hub.settings.complaints.follow_up_days
    async with hub.reads() as session:
        day_before = await due_follow_ups(session, agent_id, resolved_at + timedelta(days=days) - timedelta(minutes=1), days)
        due_day = await due_follow_ups(session, agent_id, resolved_at + timedelta(days=days), days)
        someone_else = await due_follow_ups(session, other, resolved_at + timedelta(days=days), days)
    assert day_before == [] and someone_else == []
    assert [(row.ticket.id, row.due_at) for row in due_day] == [(ticket.id, resolved_at + timedelta(days=days))]


async def test_the_follow_up_shows_in_the_inbox_and_reopening_counts(client, hub):
    agent_id = await add_agent(hub)
    days = hub.settings.complaints.follow_up_days
    ticket = await resolved_complaint(hub, agent_id, utcnow() - timedelta(days=days, minutes=1))
    early = await resolved_complaint(hub, agent_id, utcnow() - timedelta(days=days - 1))
    await sign_in(client)
    inbox = await (await client.get("/agent")).text()
    assert f'data-follow-up="{ticket.reference}"' in inbox and f'data-follow-up="{early.reference}"' not in inbox
    assert "did the fix hold?" in inbox
    async with hub.sessions() as session:
        follow_up = await session.scalar(select(FollowUp).where(FollowUp.ticket_id == ticket.id))
    answer = await client.post(f"/agent/follow-ups/{follow_up.id}", data={"outcome": "reopened", "csrf_token": csrf_token(inbox)}, allow_redirects=False)
    assert answer.status == 303
    async with hub.sessions() as session:
        reopened = await session.get(Ticket, ticket.id)
        done = await session.get(FollowUp, follow_up.id)
    assert (reopened.status, reopened.reopened_count, reopened.assignee_id) == ("open", 1, agent_id)
    assert done.outcome == "reopened" and done.done_at is not None
    assert f'data-follow-up="{ticket.reference}"' not in await (await client.get("/agent")).text()

    # A follow-up that is not in your work (someone else's, or none) is not found.
    bo = await add_agent(hub, email="bo@example.com", name="Bo")
    async with hub.sessions() as session, session.begin():
        session.add(FollowUp(ticket_id=early.id, agent_id=bo, resolved_at=utcnow() - timedelta(days=days + 1)))
    async with hub.sessions() as session:
        theirs = await session.scalar(select(FollowUp.id).where(FollowUp.agent_id == bo))
    for follow_up_id in (theirs, theirs + 100):
        refused = await client.post(f"/agent/follow-ups/{follow_up_id}", data={"outcome": "held", "csrf_token": csrf_token(inbox)})
        assert refused.status == 404


async def test_the_apology_template_starts_the_first_answer_in_the_customers_language(client, hub):
    await add_agent(hub)
    result = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, name="王芳", email="wang@example.cn", language="zh-CN"))
    await sign_in(client)
    page = await (await client.get(f"/agent/tickets/{result.reference}")).text()
    assert "?template=apology#reply" in page
    prefilled = await (await client.get(f"/agent/tickets/{result.reference}?template=apology")).text()
    assert "尊敬的王芳" in prefilled and "深表歉意" in prefilled and result.reference in prefilled


async def test_open_complaints_and_their_age_on_the_board(client, hub):
    await add_agent(hub, role="supervisor")
    complaint = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, subject="Broken lid"))
    await ingest(hub, make_inbound(email="q@example.com", subject="Opening hours"))
    async with hub.sessions() as session, session.begin():
        (await session.get(Ticket, complaint.ticket_id)).created_at = utcnow() - timedelta(hours=26)
    async with hub.reads() as session:
        rows = await open_complaints(session, utcnow())
    assert [r.ticket.reference for r in rows] == [complaint.reference] and rows[0].age_seconds >= 26 * 3600
    await sign_in(client, next_path="/supervisor")
    board = await (await client.get("/supervisor")).text()
    row = board.split(f'data-complaint="{complaint.reference}"', 1)[1].split("</tr>", 1)[0]
    assert "Broken lid" in row and "1d 2h" in row and "hot" in row
