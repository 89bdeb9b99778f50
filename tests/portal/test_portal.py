"""The customer portal: a one-time link by mail, only the customer's own tickets, answers on the timeline, closing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from contactcenter.contact import ChannelKind, TicketType
from contactcenter.db.models import AuditEvent, Interaction, OutboxMessage, PortalLink, PortalSession, Ticket, utcnow
from contactcenter.pipeline.run import ingest
from contactcenter.keys import PORTAL_RATE_LIMIT
from contactcenter.portal.visitors import COOKIE_NAME
from tests.factories import make_inbound, settings_with
from tests.mail import deliver_until
from tests.portal.helpers import LINK, ask_for_link, queued_link_token, sign_in, use_link
from tests.web.workspace_helpers import add_agent, csrf_token, sign_in as agent_sign_in

ALICE = "alice@example.com"
BOB = "bob@example.org"


async def writes(hub, email: str, subject: str, **extra) -> str:
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email=email, evidence="verified", subject=subject, **extra))
    return result.reference


async def count(hub, model) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_the_link_signs_in_once_and_shows_only_that_customers_tickets(hub, client, relay):
    mine = await writes(hub, ALICE, "Broken zip")
    theirs = await writes(hub, BOB, "Bob's secret matter")

    asked = await ask_for_link(client, "Alice@Example.com")
    assert asked.status == 200 and "data-link-sent" in await asked.text()
    await deliver_until(hub, relay, 1)
    mail = relay.messages[0]
    assert mail["To"] == ALICE and mail["Auto-Submitted"]
    token = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    assert len(token) >= 40 and LINK.search(mail.get_body(("html",)).get_content()).group(1) == token
    async with hub.sessions() as session:
        link = await session.scalar(select(PortalLink))
        kept = await session.scalar(select(Interaction).where(Interaction.meta["kind"].as_string() == "portal_link"))
    assert token not in link.token_hash and len(link.token_hash) == 64  # only its hash is kept
    assert kept.ticket_id is None and kept.direction == "outbound" and token not in kept.text  # the timeline's copy has no link

    # Opening the link (as a mail scanner does) spends nothing and signs nobody in.
    opened = await client.get(f"/portal/link/{token}")
    assert opened.status == 200 and opened.headers["Referrer-Policy"] == "no-referrer"
    assert COOKIE_NAME not in opened.cookies
    async with hub.sessions() as session:
        assert (await session.scalar(select(PortalLink))).used_at is None
    # A post without the page's CSRF token spends nothing either.
    assert (await client.post(f"/portal/link/{token}", data={}, allow_redirects=False)).status == 400

    signed_in = await client.post(f"/portal/link/{token}", data={"csrf_token": csrf_token(await opened.text())}, allow_redirects=False)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/portal"
    cookie = signed_in.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/portal"
    async with hub.sessions() as session:
        stored = await session.scalar(select(PortalSession))
    assert stored.token_hash != cookie.value

    listing = await (await client.get("/portal")).text()
    assert mine in listing and "Broken zip" in listing
    assert theirs not in listing and "secret matter" not in listing
    assert (await client.get(f"/portal/tickets/{mine}")).status == 200
    for other in (theirs, "CC-999999", "nonsense", "CC-999999999999", "CC-99999999999999999999"):
        refused = await client.get(f"/portal/tickets/{other}")
        assert refused.status == 404, other
        assert "secret matter" not in await refused.text()

    # Spent: the same link again signs nobody in, in this browser or another.
    again = await client.get(f"/portal/link/{token}")
    assert again.status == 410 and "data-link-invalid" in await again.text()
    client.session.cookie_jar.clear()
    assert (await use_link(client, token)).status == 410
    assert (await client.get(f"/portal/tickets/{mine}", allow_redirects=False)).status == 303


async def test_the_link_expires(hub, client):
    await writes(hub, ALICE, "Broken zip")
    await ask_for_link(client, ALICE)
    token = await queued_link_token(hub, ALICE)
    async with hub.sessions() as session, session.begin():
        link = await session.scalar(select(PortalLink))
        assert link.expires_at - link.created_at == timedelta(minutes=hub.settings.portal.link_minutes)
        await session.execute(update(PortalLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get(f"/portal/link/{token}")).status == 410
    assert (await use_link(client, token)).status == 410
    page = await (await client.get("/portal")).text()
    assert "/portal/link/" not in page and 'name="email"' in page  # still signed out
    assert await count(hub, PortalSession) == 0


async def test_an_unknown_address_gets_the_same_page_and_no_mail(hub, client):
    await writes(hub, ALICE, "Broken zip")
    known = await ask_for_link(client, ALICE)
    unknown = await ask_for_link(client, "nobody@example.net")
    assert known.status == unknown.status == 200
    assert await known.text() == await unknown.text()
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage.recipient))) == [ALICE]
        assert list(await session.scalars(select(PortalLink.email))) == [ALICE]
    typo = await ask_for_link(client, "not an address")
    assert typo.status == 400 and "email address" in await typo.text()
    assert (await client.post("/portal/sign-in", data={"email": ALICE})).status == 400  # no CSRF token


async def test_links_per_address_are_limited_per_hour_and_the_page_does_not_say_so(hub, client):
    await writes(hub, ALICE, "Broken zip")
    limit = hub.settings.portal.links_per_hour
    pages = [await (await ask_for_link(client, ALICE)).text() for _ in range(limit + 2)]
    assert len(set(pages)) == 1
    assert await count(hub, PortalLink) == limit
    assert await count(hub, OutboxMessage) == limit


async def test_a_link_goes_to_the_address_on_the_record_never_to_what_was_typed(hub, client):
    hub.settings = settings_with(hub.settings, identity={"plus_tag_domains": ["gmail.com"]})
    await writes(hub, "carol@gmail.com", "Hello")
    await ask_for_link(client, "Carol+portal@gmail.com")
    async with hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage.recipient))) == ["carol@gmail.com"]


async def test_an_answer_lands_on_the_tickets_timeline_verified(hub, client, auth):
    reference = await writes(hub, ALICE, "Broken zip")
    async with hub.sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        ticket.status = "pending"
    await sign_in(client, hub, ALICE)
    page = await (await client.get(f"/portal/tickets/{reference}")).text()
    token = csrf_token(page)
    answered = await client.post(f"/portal/tickets/{reference}/answer", data={"message": "Still broken, photo attached.", "csrf_token": token}, allow_redirects=False)
    assert answered.status == 303 and answered.headers["Location"] == f"/portal/tickets/{reference}?done=answered"
    # The same form sent twice (a double click) is one answer.
    again = await client.post(f"/portal/tickets/{reference}/answer", data={"message": "Still broken, photo attached.", "csrf_token": token}, allow_redirects=False)
    assert again.status == 303

    body = await (await client.get(f"/api/v1/tickets/{reference}", headers=auth)).json()
    answers = [i for i in body["interactions"] if i["text"] == "Still broken, photo attached."]
    assert len(answers) == 1
    answer = answers[0]
    assert (answer["channel"], answer["direction"]) == ("web", "inbound")
    assert body["status"] == "open"  # the customer wrote back: it needs us again
    async with hub.sessions() as session:
        row = await session.get(Interaction, answer["id"])
    assert (row.matched_by, row.match_evidence) == (ALICE, "verified")
    assert row.meta["reply_to"] == {"kind": "email", "value": ALICE}
    assert await count(hub, Ticket) == 1
    shown = await (await client.get(f"/portal/tickets/{reference}?done=answered")).text()
    assert "Still broken, photo attached." in shown

    empty = await client.post(f"/portal/tickets/{reference}/answer", data={"message": "  ", "csrf_token": csrf_token(shown)})
    assert empty.status == 400
    forged = await client.post(f"/portal/tickets/{reference}/answer", data={"message": "forged"})
    assert forged.status == 400
    assert "forged" not in await (await client.get(f"/api/v1/tickets/{reference}", headers=auth)).text()


async def test_nobody_answers_or_closes_someone_elses_ticket(hub, client, auth):
    await writes(hub, ALICE, "Broken zip")
    bobs = await writes(hub, BOB, "Bob's matter")
    await sign_in(client, hub, ALICE)
    token = csrf_token(await (await client.get("/portal")).text())
    assert (await client.post(f"/portal/tickets/{bobs}/answer", data={"message": "hi", "csrf_token": token})).status == 404
    assert (await client.post(f"/portal/tickets/{bobs}/close", data={"csrf_token": token})).status == 404
    body = await (await client.get(f"/api/v1/tickets/{bobs}", headers=auth)).json()
    assert body["status"] == "new" and len(body["interactions"]) == 1


async def test_signed_out_visitors_are_sent_to_the_form(client):
    for path in ("/portal/tickets/CC-000001",):
        assert (await client.get(path, allow_redirects=False)).headers["Location"] == "/portal"
    assert (await client.post("/portal/tickets/CC-000001/answer", data={"message": "x"}, allow_redirects=False)).status == 303


async def test_the_customer_closes_a_question_and_a_complaint_only_with_a_note(hub, client):
    question = await writes(hub, ALICE, "Broken zip")
    complaint = await writes(hub, ALICE, "Rude courier", ticket_type=TicketType.COMPLAINT)
    await sign_in(client, hub, ALICE)
    token = csrf_token(await (await client.get(f"/portal/tickets/{question}")).text())
    closed = await client.post(f"/portal/tickets/{question}/close", data={"csrf_token": token}, allow_redirects=False)
    assert closed.status == 303
    refused = await client.post(f"/portal/tickets/{complaint}/close", data={"csrf_token": token, "note": "  "})
    assert refused.status == 422 and "complaint" in await refused.text()
    assert (await client.post(f"/portal/tickets/{complaint}/close", data={"note": "x"})).status == 403  # no CSRF token
    ok = await client.post(f"/portal/tickets/{complaint}/close", data={"csrf_token": token, "note": "The courier apologised."}, allow_redirects=False)
    assert ok.status == 303
    async with hub.sessions() as session:
        tickets = {t.reference: t for t in await session.scalars(select(Ticket))}
        audits = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.status").order_by(AuditEvent.id)))
    assert tickets[question].status == tickets[complaint].status == "resolved"
    assert tickets[complaint].resolution == "The courier apologised."
    customer = tickets[question].customer_id
    assert [(a.actor, a.subject_id, a.details["to"]) for a in audits] == [
        (f"customer:{customer}", tickets[question].id, "resolved"),
        (f"customer:{customer}", tickets[complaint].id, "resolved"),
    ]
    page = await (await client.get(f"/portal/tickets/{question}")).text()
    assert "/close" not in page  # nothing left to close
    assert (await client.post(f"/portal/tickets/{question}/close", data={"csrf_token": token})).status == 422


async def test_signing_out_ends_the_session_on_the_server(hub, client):
    reference = await writes(hub, ALICE, "Broken zip")
    cookie = await sign_in(client, hub, ALICE)
    page = await (await client.get("/portal")).text()
    out = await client.post("/portal/sign-out", data={"csrf_token": csrf_token(page)}, allow_redirects=False)
    assert out.status == 303
    async with hub.sessions() as session:
        assert (await session.scalar(select(PortalSession))).revoked_at is not None
    # The copied cookie is worth nothing now.
    replayed = await client.get(f"/portal/tickets/{reference}", cookies={COOKIE_NAME: cookie}, allow_redirects=False)
    assert replayed.status == 303 and replayed.headers["Location"] == "/portal"


async def test_the_conversation_shows_text_only_never_mail_html_or_internal_notes(hub, client, auth):
    reference = await writes(
        hub, ALICE, "Broken zip", text="Plain words <b>here</b>", html='<p onclick="x()">Plain words</p><script>alert(1)</script><img src="http://evil.example/t.png">'
    )
    await add_agent(hub)
    async with hub.sessions() as session, session.begin():
        session.add(Interaction(ticket_id=1, customer_id=1, channel="email", direction="internal", author_agent_id=1, text="Internal: customer is difficult"))
    await sign_in(client, hub, ALICE)
    page = await (await client.get(f"/portal/tickets/{reference}")).text()
    assert "Plain words &lt;b&gt;here&lt;/b&gt;" in page
    assert "<script>alert" not in page and "evil.example" not in page and "onclick" not in page
    assert "customer is difficult" not in page


async def test_a_merged_customer_still_sees_the_tickets_moved_to_the_record_that_stays(hub, client, auth):
    mine = await writes(hub, ALICE, "Broken zip")
    other = await writes(hub, "alice.work@example.com", "From work")
    await sign_in(client, hub, "alice.work@example.com")
    async with hub.sessions() as session:
        ids = {t.reference: t.customer_id for t in await session.scalars(select(Ticket))}
    merged = await client.post(f"/api/v1/customers/{ids[mine]}/merge", json={"from_customer_id": ids[other]}, headers=auth)
    assert merged.status == 201
    listing = await (await client.get("/portal")).text()
    assert mine in listing and other in listing


async def test_the_portal_and_its_mail_speak_the_customers_language(hub, client, relay):
    await writes(hub, ALICE, "拉链坏了")
    page = await (await client.get("/portal", headers={"Accept-Language": "zh-CN"})).text()
    assert "您的请求" in page and "给我发送登录链接" in page
    sent = await client.post("/portal/sign-in", data={"email": ALICE, "csrf_token": csrf_token(page)}, headers={"Accept-Language": "zh-CN"})
    assert "请查看您的邮箱" in await sent.text()
    await deliver_until(hub, relay, 1)
    mail = relay.messages[0]
    assert mail["Subject"] == "您的登录链接"
    assert "只能使用一次" in mail.get_body(("plain",)).get_content()


async def test_one_client_asking_for_many_links_is_slowed_down(hub, client):
    client.app[PORTAL_RATE_LIMIT].limit = 2  # as `[web] rate_limit_per_minute = 2` would build it
    statuses = [(await ask_for_link(client, f"someone{i}@example.net")).status for i in range(3)]
    assert statuses == [200, 200, 429]


async def test_a_portal_sign_in_ends_after_session_days(hub, client):
    reference = await writes(hub, ALICE, "Broken zip")
    await sign_in(client, hub, ALICE)
    async with hub.sessions() as session, session.begin():
        portal = await session.scalar(select(PortalSession))
        assert portal.expires_at - portal.created_at == timedelta(days=hub.settings.portal.session_days)
        portal.expires_at = utcnow() - timedelta(seconds=1)
    assert (await client.get(f"/portal/tickets/{reference}", allow_redirects=False)).headers["Location"] == "/portal"


async def test_agents_see_the_sign_in_mail_and_the_answer_on_the_customers_timeline_without_the_link(hub, client):
    reference = await writes(hub, ALICE, "Broken zip")
    await sign_in(client, hub, ALICE)
    token = await queued_link_token(hub, ALICE)
    page = await (await client.get(f"/portal/tickets/{reference}")).text()
    await client.post(f"/portal/tickets/{reference}/answer", data={"message": "Any news?", "csrf_token": csrf_token(page)})
    await add_agent(hub)
    assert (await agent_sign_in(client)).status == 303
    shown = await client.get(f"/agent/tickets/{reference}")
    text = await shown.text()
    assert shown.status == 200 and "Any news?" in text and "Your sign-in link" in text
    assert token not in text
