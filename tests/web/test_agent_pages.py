"""The agent's pages, driven like a browser: the inbox, a ticket, reply, note, status."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import (
    Agent,
    AuditEvent,
    ContactPoint,
    Customer,
    Interaction,
    OutboxMessage,
    Ticket,
    utcnow,
)
from contactcenter.pipeline.route import get_or_create_queue
from contactcenter.pipeline.run import ingest
from tests.factories import ALICE_PHONE, make_inbound
from tests.web.workspace_helpers import add_agent, form_token, next_event, sign_in


async def new_ticket(hub, email: str, **changes) -> str:
    result = await ingest(hub, make_inbound(email=email, subject=f"About {email}"))
    if changes:
        async with hub.sessions() as session, session.begin():
            ticket = await session.get(Ticket, result.ticket_id)
            for key, value in changes.items():
                setattr(ticket, key, value)
    return result.reference


def references(html: str) -> list[str]:
    return re.findall(r'<tr data-reference="(CC-\d{6})"', html)


async def test_inbox_lists_mine_and_the_queue_most_urgent_then_oldest(client, hub):
    me = await add_agent(hub)
    other = await add_agent(hub, email="grace@example.com", name="Grace")
    async with hub.sessions() as session, session.begin():
        billing = (await get_or_create_queue(session, "billing")).id
    now = utcnow()
    older_normal = await new_ticket(hub, "a@example.com", priority=2, created_at=now - timedelta(hours=3))
    urgent = await new_ticket(hub, "b@example.com", priority=4, created_at=now - timedelta(minutes=5))
    newer_normal = await new_ticket(hub, "c@example.com", priority=2, created_at=now - timedelta(hours=1), queue_id=billing)
    mine = await new_ticket(hub, "d@example.com", priority=3, assignee_id=me, status="open")
    await new_ticket(hub, "e@example.com", assignee_id=other)  # someone else's: not shown
    resolved = await new_ticket(hub, "f@example.com", status="resolved")
    await sign_in(client)

    page = await (await client.get("/agent")).text()
    assigned_part, queue_part = page.split('id="queue"')
    assert references(assigned_part) == [mine]
    assert references(queue_part) == [urgent, older_normal, newer_normal]

    by_queue = await (await client.get("/agent?queue=billing")).text()
    assert references(by_queue) == [newer_normal]
    by_status = await (await client.get("/agent?status=resolved")).text()
    assert references(by_status) == [resolved]
    assert (await client.get("/agent?status=bogus")).status == 400


async def test_sla_badges_show_in_the_inbox(client, hub):
    await add_agent(hub)
    now = utcnow()
    breached = await new_ticket(hub, "a@example.com", first_response_due_at=now - timedelta(minutes=5))
    at_risk = await new_ticket(hub, "b@example.com", sla_state="at_risk", first_response_due_at=now + timedelta(minutes=9))
    await sign_in(client)
    page = await (await client.get("/agent")).text()
    rows = dict(re.findall(r'<tr data-reference="(CC-\d{6})">(.*?)</tr>', page, re.DOTALL))
    assert "SLA breached" in rows[breached] and "late" in rows[breached]
    assert "SLA at risk" in rows[at_risk] and "reply in 8m" in rows[at_risk]


async def test_reply_from_the_page_lands_in_the_outbox_with_the_agent_as_author(client, hub):
    agent_id = await add_agent(hub)
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(
        f"/agent/tickets/{reference}/reply", data={"text": "We refunded the second charge.", "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == f"/agent/tickets/{reference}?done=reply#timeline-end"
    async with hub.sessions() as session:
        outbox = (await session.scalars(select(OutboxMessage))).one()
        reply = await session.get(Interaction, outbox.interaction_id)
        ticket = await session.scalar(select(Ticket))
    assert outbox.recipient == "alice@example.com" and outbox.payload["text"] == "We refunded the second charge."
    assert reply.direction == "outbound" and reply.author_agent_id == agent_id
    assert ticket.status == "pending" and ticket.first_responded_at is not None
    page = await (await client.get(response.headers["Location"])).text()
    assert "Reply queued" in page and "Ada Agent replied" in page


async def test_a_reply_to_an_opted_out_number_is_refused_with_a_clear_message(client, hub):
    await add_agent(hub)
    result = await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone=ALICE_PHONE, evidence="verified"))
    async with hub.sessions() as session, session.begin():
        (await session.scalars(select(ContactPoint))).one().opted_out = True
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{result.reference}")
    response = await client.post(f"/agent/tickets/{result.reference}/reply", data={"text": "Hi there", "csrf_token": token})
    assert response.status == 409
    page = await response.text()
    assert "opted out of SMS" in page and ">Hi there</textarea>" in page  # the typed text is kept
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_an_empty_reply_is_refused_and_nothing_is_queued(client, hub):
    await add_agent(hub)
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(f"/agent/tickets/{reference}/reply", data={"text": "  ", "csrf_token": token})
    assert response.status == 400 and "Write a reply first." in await response.text()
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_reply_with_a_bad_csrf_token_is_refused(client, hub):
    await add_agent(hub)
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(f"/agent/tickets/{reference}/reply", data={"text": "Hello", "csrf_token": "1.2.3"})
    assert response.status == 403
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_an_internal_note_stays_inside(client, hub):
    agent_id = await add_agent(hub)
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(f"/agent/tickets/{reference}/note", data={"text": "Called billing, refund approved.", "csrf_token": token})
    assert response.status == 200
    assert "Internal note by Ada Agent" in await response.text()
    async with hub.sessions() as session:
        note = await session.scalar(select(Interaction).where(Interaction.direction == "internal"))
        assert list(await session.scalars(select(OutboxMessage))) == []
    assert note.author_agent_id == agent_id and note.channel == "api" and note.text == "Called billing, refund approved."


async def test_a_status_change_is_audited(client, hub):
    agent_id = await add_agent(hub)
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(f"/agent/tickets/{reference}/status", data={"status": "resolved", "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    async with hub.sessions() as session:
        ticket = await session.scalar(select(Ticket))
        event = await session.scalar(select(AuditEvent).where(AuditEvent.actor != "system"))  # not the routing at creation
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    assert (event.actor, event.action, event.subject_type, event.subject_id) == (f"agent:{agent_id}", "ticket.status", "ticket", ticket.id)
    assert event.details == {"from": "new", "to": "resolved"}
    bad = await client.post(f"/agent/tickets/{reference}/status", data={"status": "deleted", "csrf_token": token})
    assert bad.status == 400


async def test_the_ticket_page_shows_the_customer_card_and_the_whole_timeline(client, hub):
    await add_agent(hub)
    email = await ingest(hub, make_inbound(email="alice@example.com", phone=ALICE_PHONE, subject="Invoice", text="Charged twice"))
    sms = await ingest(
        hub, make_inbound(channel=ChannelKind.SMS, email=None, phone=ALICE_PHONE, evidence="verified", subject="", text="Any news?")
    )
    assert sms.ticket_id != email.ticket_id and sms.customer_id == email.customer_id
    await sign_in(client)
    page = await (await client.get(f"/agent/tickets/{email.reference}")).text()
    assert "Charged twice" in page and "Any news?" in page  # both channels, one timeline
    assert f'href="/agent/tickets/{sms.reference}"' in page
    assert "Unverified match" in page and "claimed identity: alice@example.com" in page
    sms_page = await (await client.get(f"/agent/tickets/{sms.reference}")).text()
    assert "Unverified match" not in sms_page  # this one the provider vouched for
    assert (await client.get("/agent/tickets/CC-999999")).status == 404


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


HOSTILE_HTML = '<p>Hi</p><script>alert("html")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
HOSTILE_TEXT = '<script>alert("text")</script><img src=x onerror=alert(3)><a href="javascript:alert(4)">x</a>'


async def test_hostile_email_content_never_becomes_live_markup(client, hub):
    await add_agent(hub)
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, text=HOSTILE_TEXT, html=HOSTILE_HTML, subject='<b onmouseover="x()">hi</b>'))
    await sign_in(client)
    response = await client.get(f"/agent/tickets/{result.reference}")
    page = await response.text()
    parser = TagCollector()
    parser.feed(page)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    # Only our own files (the workspace's, the softphone and its SDK), never anything from the mail.
    assert {a["src"] for a in scripts} <= {"/static/workspace.js", "/static/vendor/twilio-voice.min.js", "/static/softphone.js"}
    assert {"src": "/static/workspace.js", "defer": None} in scripts
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), (tag, attrs)
    assert [tag for tag, _ in parser.tags if tag in ("img", "b")] == []
    # The text shows as text.
    assert "&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt;" in page
    # The HTML only inside a frame that may run nothing and has its own policy.
    (frame,) = [attrs for tag, attrs in parser.tags if tag == "iframe"]
    assert frame["sandbox"] in ("", None)
    assert "<script>" in frame["srcdoc"] and "Content-Security-Policy" in frame["srcdoc"]
    assert "default-src 'none'" in frame["srcdoc"]
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


async def test_a_reply_to_a_customer_without_any_address_is_refused(client, hub):
    await add_agent(hub)
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Walk-in")
        session.add(customer)
        await session.flush()
        ticket = Ticket(customer_id=customer.id, channel="voice", subject="Came to the desk")
        session.add(ticket)
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{ticket.reference}")
    response = await client.post(f"/agent/tickets/{ticket.reference}/reply", data={"text": "Hello", "csrf_token": token})
    assert response.status == 409
    assert "no email address or phone number to reply to" in await response.text()
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_an_agent_sets_their_presence_from_any_page(client, hub):
    agent_id = await add_agent(hub, presence="available")
    reference = await new_ticket(hub, "alice@example.com")
    await sign_in(client)
    token = await form_token(client, f"/agent/tickets/{reference}")
    response = await client.post(
        "/agent/presence", data={"presence": "away", "next": f"/agent/tickets/{reference}", "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == f"/agent/tickets/{reference}"
    async with hub.sessions() as session:
        agent = await session.get(Agent, agent_id)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "agent.presence"))
    assert agent.presence == "away" and event.details == {"from": "available", "to": "away"}
    page = await (await client.get("/agent")).text()
    assert '<option value="away" selected>' in page
    assert (await client.post("/agent/presence", data={"presence": "asleep", "csrf_token": token})).status == 400


async def test_the_inbox_stream_says_when_tickets_change(client, hub, auth):
    await add_agent(hub)
    await sign_in(client)
    page = await (await client.get("/agent")).text()
    assert 'data-events="/agent/events"' in page
    response = await client.get("/agent/events")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    assert (await response.content.readline()) == b"retry: 5000\n"
    contact = {"channel": "api", "external_id": "crm-7", "name": "Dana", "email": "dana@example.com", "message": "Help"}
    assert (await client.post("/api/v1/contacts", json=contact, headers=auth)).status == 201
    changed = await next_event(response, "changed", 10.0)
    assert "ticket.created" in changed["kinds"]
    response.close()
