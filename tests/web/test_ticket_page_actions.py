"""The ticket page's own actions without a browser: settings, complaint resolution, macros, attachments, paging, customers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from contactcenter.contact import Attachment, ChannelKind, TicketType
from contactcenter.db.models import AuditEvent, Customer, Interaction, Macro, OutboxMessage, Queue, Ticket, utcnow
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, form_token, sign_in


async def _signed_in(client, hub, **agent) -> int:
    agent_id = await add_agent(hub, **agent)
    await sign_in(client, email=agent.get("email", "ada@example.com"))
    return agent_id


async def test_settings_form_changes_priority_type_tags_and_takes_the_ticket(client, hub):
    agent_id = await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound())
    async with hub.sessions() as session, session.begin():
        session.add(Queue(name="billing"))
    path = f"/agent/tickets/{ticket.reference}"
    token = await form_token(client, path)
    form = {"csrf_token": token, "priority": "3", "type": "request", "queue": "general", "assignee_id": str(agent_id), "tags": "VIP, refund"}
    response = await client.post(f"{path}/update", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    async with hub.sessions() as session:
        saved = await session.get(Ticket, ticket.ticket_id)
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == ticket.ticket_id)))
    assert (saved.priority, saved.type, saved.tags, saved.assignee_id) == (3, "request", ["vip", "refund"], agent_id)
    assert "ticket.updated" in actions and "ticket.assigned" in actions
    page = await (await client.get(response.headers["Location"])).text()
    assert 'value="vip, refund"' in page and "Ticket updated." in page

    bad = await client.post(f"{path}/update", data={**form, "queue": "nowhere"})
    assert bad.status == 400 and "no queue" in await bad.text()


async def test_a_complaint_is_resolved_on_the_page_only_with_a_resolution(client, hub):
    await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT))
    path = f"/agent/tickets/{ticket.reference}"
    token = await form_token(client, path)
    refused = await client.post(f"{path}/status", data={"csrf_token": token, "status": "resolved", "resolution": " "})
    assert refused.status == 422 and "resolution note" in await refused.text()
    done = await client.post(f"{path}/status", data={"csrf_token": token, "status": "resolved", "resolution": "Refunded."}, allow_redirects=False)
    assert done.status == 303
    async with hub.sessions() as session:
        saved = await session.get(Ticket, ticket.ticket_id)
    assert (saved.status, saved.resolution) == ("resolved", "Refunded.")


async def test_the_reply_goes_by_the_channel_the_agent_chose(client, hub):
    await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="alice@example.com", phone="+14155550100"))
    path = f"/agent/tickets/{ticket.reference}"
    page = await (await client.get(path)).text()
    assert 'value="email:alice@example.com" selected' in page and "SMS to +14155550100" in page
    token = await form_token(client, path)
    sent = await client.post(f"{path}/reply", data={"csrf_token": token, "text": "Texting you", "reply_to": "phone:+14155550100"}, allow_redirects=False)
    assert sent.status == 303
    foreign = await client.post(f"{path}/reply", data={"csrf_token": token, "text": "x", "reply_to": "phone:+14155550199"})
    assert foreign.status == 400 and "Choose one of the customer" in await foreign.text()
    async with hub.sessions() as session:
        rows = [(o.channel, o.recipient) for o in await session.scalars(select(OutboxMessage))]
    assert rows == [("sms", "+14155550100")]


async def test_macros_fill_in_customer_values_safely(client, hub):
    agent_id = await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound(name="Alice Example"))
    token = await form_token(client, "/agent/macros")
    made = await client.post("/agent/macros", data={"csrf_token": token, "name": "Hello", "body": "Hi {{ customer.first_name }}, about {{ ticket.reference }}. {{ agent.name }}"}, allow_redirects=False)
    assert made.status == 303
    for body in ('{{ "x" * 100000000 }}', "{% for i in range(9) %}x{% endfor %}", "{{ cycler.__init__.__globals__ }}", "{{ unclosed"):
        refused = await client.post("/agent/macros", data={"csrf_token": token, "name": "Bad", "body": body})
        assert refused.status == 400, body
    shared = await client.post("/agent/macros", data={"csrf_token": token, "name": "Team", "body": "x", "shared": "1"})
    assert shared.status == 403  # shared macros are for supervisors
    async with hub.sessions() as session, session.begin():
        (macro,) = list(await session.scalars(select(Macro)))
        other = Macro(name="Bea's own", body="secret", agent_id=None)
        session.add(other)
    assert macro.agent_id == agent_id
    filled = await (await client.get(f"/agent/tickets/{ticket.reference}/macros/{macro.id}")).json()
    assert filled == {"text": f"Hi Alice, about {ticket.reference}. Ada Agent"}
    page = await (await client.get(f"/agent/tickets/{ticket.reference}")).text()
    assert "Insert a macro" in page and "Bea&#39;s own" in page


async def test_attachments_download_and_never_render(client, hub):
    await _signed_in(client, hub)
    page_html = Attachment(filename="invoice<1>.html", content_type="text/html", content=b"<script>alert(1)</script>")
    ticket = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, attachments=(page_html,)))
    page = await (await client.get(f"/agent/tickets/{ticket.reference}")).text()
    link = page.split('href="/agent/attachments/')[1].split('"')[0]
    response = await client.get(f"/agent/attachments/{link}")
    assert response.status == 200 and await response.read() == b"<script>alert(1)</script>"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="invoice<1>.html"')
    assert response.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in response.headers["Content-Security-Policy"]
    assert (await client.get("/agent/attachments/999999")).status == 404
    client.session.cookie_jar.clear()
    assert (await client.get(f"/agent/attachments/{link}", allow_redirects=False)).status == 303


async def test_a_long_history_is_paged_newest_near_the_reply_box(client, hub):
    await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound(text="entry 0"))
    start = utcnow() - timedelta(days=1)
    async with hub.sessions() as session, session.begin():
        for n in range(1, 120):
            session.add(Interaction(ticket_id=ticket.ticket_id, customer_id=ticket.customer_id, channel="api", direction="inbound",
                                    text=f"entry {n}", created_at=start + timedelta(minutes=n)))
        (await session.get(Interaction, ticket.interaction_id)).created_at = start
    page = await (await client.get(f"/agent/tickets/{ticket.reference}")).text()
    shown = [int(x.split("<")[0]) for x in page.split('<div class="text">entry ')[1:]]
    assert shown == list(range(70, 120))  # the newest 50, oldest first, the last one just above the reply box
    assert page.index("entry 119") < page.index('id="reply"')
    older = page.split('data-before="')[1].split('"')[0]
    fragment = await (await client.get(f"/agent/tickets/{ticket.reference}/timeline?before={older}")).text()
    assert [int(x.split("<")[0]) for x in fragment.split('<div class="text">entry ')[1:]] == list(range(20, 70))
    assert "Show older entries" in fragment
    last_page = fragment.split('data-before="')[1].split('"')[0]
    rest = await (await client.get(f"/agent/tickets/{ticket.reference}/timeline?before={last_page}")).text()
    assert [int(x.split("<")[0]) for x in rest.split('<div class="text">entry ')[1:]] == list(range(0, 20)) and "Show older" not in rest


async def test_the_card_shows_last_contact_and_other_open_tickets(client, hub):
    await _signed_in(client, hub)
    first = await ingest(hub, make_inbound(subject="First problem"))
    second = await ingest(hub, make_inbound(channel=ChannelKind.WEB, subject="Second problem", text="And another thing"))
    page = await (await client.get(f"/agent/tickets/{first.reference}")).text()
    card = page.split('id="customer-card"')[1].split("</section>")[0]
    assert second.reference in card and "Second problem" in card
    assert "The customer, by web," in card  # the latest contact, on the other ticket


async def test_an_agent_edits_a_customer_and_adds_a_number(client, hub):
    await _signed_in(client, hub)
    ticket = await ingest(hub, make_inbound(name="alice example"))
    path = f"/agent/customers/{ticket.customer_id}"
    token = await form_token(client, path)
    saved = await client.post(f"{path}/edit", data={"csrf_token": token, "name": "Alice Example", "company": "", "tier": "vip", "segments": "retail, eu", "notes": ""}, allow_redirects=False)
    assert saved.status == 303
    added = await client.post(f"{path}/contact-points", data={"csrf_token": token, "kind": "phone", "value": "(415) 555-0100"}, allow_redirects=False)
    assert added.status == 303
    bad = await client.post(f"{path}/contact-points", data={"csrf_token": token, "kind": "phone", "value": "12"})
    assert bad.status == 400 and "not a valid phone" in await bad.text()
    async with hub.sessions() as session:
        customer = await session.get(Customer, ticket.customer_id)
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "customer")))
    assert (customer.name, customer.tier, customer.segments) == ("Alice Example", "VIP", ["eu", "retail"])
    assert actions == ["customer.updated", "customer.contact_point_added"]
    assert "+14155550100" in await (await client.get(path)).text()
    merge = await client.post("/agent/merge-suggestions/1/merge", data={"csrf_token": token, "keep": "a"})
    assert merge.status == 403  # merging is a supervisor's
