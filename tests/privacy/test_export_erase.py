"""A customer's export holds everything on them; erasure leaves none of it and keeps the figures."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from contactcenter.contact import Attachment, ChannelKind
from contactcenter.db.models import AttachmentBlob, AuditEvent, Interaction, OutboxMessage, PortalLink, PortalSession, Ticket
from contactcenter.pipeline.run import ingest
from contactcenter.portal.links import do_send_link, do_use_link
from contactcenter.portal.visitors import COOKIE_NAME
from tests.factories import make_inbound
from tests.portal.helpers import queued_link_token
from tests.twilio_standin import closed_line, params, post_signed, standin, twilio_settings  # noqa: F401

DANA_EMAIL = "dana@example.com"
DANA_PHONE = "+12065550143"  # the caller of the voice fixtures
RECORDING_SID = "RE73d3e0fc3575c1561d07b58a1bb8dedb"
INVOICE = b"%PDF-1.4 invoice 2024-0193"
WORDS = ("My parcel never came", "invoice.pdf", "Texting from my phone", "Hi, this is Dana", DANA_EMAIL, DANA_PHONE, "Dana Roe")


@pytest.fixture
def settings(settings, standin):  # noqa: F811
    return twilio_settings(settings, standin.url)


async def portal_sign_in(hub, email: str) -> dict[str, str]:
    """A portal link for `email` spent at once (public_url is https here: the test client would not send a Secure cookie back)."""
    async with hub.sessions() as session, session.begin():
        await do_send_link(session, hub.settings, email, locale="en")
    token = await queued_link_token(hub, email)
    async with hub.sessions() as session, session.begin():
        cookie = await do_use_link(session, hub.settings, token)
    assert cookie
    return {COOKIE_NAME: cookie}


async def signed(client, path: str, fixture: str, status: int, **changes: str) -> None:
    response = await post_signed(client, path, params(fixture, **changes))
    assert response.status == status, await response.text()


async def dana_writes_texts_and_calls(client, hub, auth) -> int:
    """Dana emails with an attachment, texts from her phone (a second record, merged), then leaves a voicemail."""
    email = make_inbound(
        channel=ChannelKind.EMAIL,
        email=DANA_EMAIL,
        name="Dana Roe",
        evidence="verified",
        subject="Where is my parcel?",
        text="My parcel never came.",
        attachments=(Attachment(filename="invoice.pdf", content_type="application/pdf", content=INVOICE),),
    )
    dana = (await ingest(hub, email)).customer_id
    await signed(client, "/webhooks/twilio/sms", "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "7" * 32, Body="Texting from my phone")
    texter = (await (await client.get("/api/v1/customers?phone=%2B12065550143", headers=auth)).json())["items"][0]["id"]
    assert texter != dana
    merged = await client.post(f"/api/v1/customers/{dana}/merge", json={"from_customer_id": texter}, headers=auth)
    assert merged.status == 201
    hub.settings = closed_line(hub.settings)
    await signed(client, "/webhooks/twilio/voice", "voice_inbound_ringing", 200)
    await signed(client, "/webhooks/twilio/voice/recorded", "voice_record_action", 200)
    await signed(client, "/webhooks/twilio/voice/recording", "recording_status_completed", 204, RecordingSid=RECORDING_SID, RecordingDuration="23")
    await signed(client, "/webhooks/twilio/voice/transcription", "transcription_completed", 204)
    return dana


async def test_the_export_holds_the_email_the_sms_and_the_call(client, hub, auth):
    dana = await dana_writes_texts_and_calls(client, hub, auth)
    await portal_sign_in(hub, DANA_EMAIL)
    response = await client.get(f"/api/v1/customers/{dana}/export", headers=auth)
    assert response.status == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="customer-{dana}.json"'
    export = await response.json()
    assert len(export["customers"]) == 2  # the merged record is Dana too
    assert {(p["kind"], p["value"]) for p in export["contact_points"]} == {("email", DANA_EMAIL), ("phone", DANA_PHONE)}
    by_channel = {}
    for interaction in export["interactions"]:
        if interaction["direction"] == "inbound":
            by_channel.setdefault(interaction["channel"], []).append(interaction)
    assert by_channel["email"][0]["text"] == "My parcel never came."
    [attachment] = by_channel["email"][0]["attachments"]
    assert base64.b64decode(attachment["content_base64"]) == INVOICE
    assert [i["text"] for i in by_channel["sms"]] == ["Texting from my phone"]
    assert any(i["text"].startswith("Hi, this is Dana") for i in by_channel["voice"])
    assert {t["channel"] for t in export["tickets"]} == {"email", "sms", "voice"}
    assert [m["survivor_id"] for m in export["merges"]] == [dana]
    assert "customer.merged" in {e["action"] for e in export["audit"]}
    [link], [portal] = export["portal_links"], export["portal_sessions"]
    assert link["email"] == portal["email"] == DANA_EMAIL and link["used_at"] and portal["revoked_at"] is None
    async with hub.sessions() as session:
        hashes = [*await session.scalars(select(PortalLink.token_hash)), *await session.scalars(select(PortalSession.token_hash))]
    body = await response.text()
    assert hashes and not any(h in body for h in hashes)


async def test_only_an_admin_may_export_or_erase(client, hub):
    from contactcenter.web.auth import create_api_token

    async with hub.sessions() as session, session.begin():
        agent_token = await create_api_token(session, "agent", "agent")
    dana = (await ingest(hub, make_inbound(email=DANA_EMAIL))).customer_id
    agent = {"Authorization": f"Bearer {agent_token}"}
    assert (await client.get(f"/api/v1/customers/{dana}/export", headers=agent)).status == 403
    assert (await client.post(f"/api/v1/customers/{dana}/erase", json={"reason": "asked"}, headers=agent)).status == 403
    assert (await client.get(f"/api/v1/customers/{dana}/export")).status == 401


async def test_after_erasure_nothing_of_dana_is_left_but_the_figures(client, hub, auth):
    dana = await dana_writes_texts_and_calls(client, hub, auth)
    portal = await portal_sign_in(hub, DANA_EMAIL)  # a portal link and a session: both must go
    assert "Where is my parcel?" in await (await client.get("/portal", cookies=portal)).text()
    before = await ticket_figures(hub)
    assert (await (await client.get("/api/v1/search", params={"q": "parcel"}, headers=auth)).json())["tickets"]

    assert (await client.post(f"/api/v1/customers/{dana}/erase", json={}, headers=auth)).status == 400
    response = await client.post(f"/api/v1/customers/{dana}/erase", json={"reason": "Dana asked by mail, 2 Dec"}, headers=auth)
    assert response.status == 200, await response.text()
    erased_ids = (await response.json())["erased_customer_ids"]
    assert dana in erased_ids and len(erased_ids) == 2

    # Nothing the API or the export shows carries her words or identifiers.
    shown = []
    for path in (
        f"/api/v1/customers/{dana}",
        f"/api/v1/customers/{dana}/interactions",
        f"/api/v1/tickets?customer_id={dana}",
        f"/api/v1/customers/{dana}/export",
        "/api/v1/customers?q=Dana",
    ):
        answer = await client.get(path, headers=auth)
        assert answer.status == 200, path
        shown.append(await answer.text())
    export = json.loads(shown[3])
    for ticket in export["tickets"]:
        shown.append(await (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth)).text())
    for words in WORDS:
        assert not any(words in text for text in shown), words
    assert (await (await client.get("/api/v1/customers?phone=%2B12065550143", headers=auth)).json())["items"] == []
    for words in ("parcel", "Texting", "Dana", DANA_EMAIL):
        found = await (await client.get("/api/v1/search", params={"q": words}, headers=auth)).json()
        assert not found["customers"] and not found["tickets"], (words, found)
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AttachmentBlob)) == 0
        recordings = [i.meta for i in await session.scalars(select(Interaction)) if "voicemail" in i.meta]
        assert recordings and all("recording_url" not in m["voicemail"] for m in recordings)
        assert recordings[0]["voicemail"]["duration_seconds"] == 23  # a figure: kept
        payloads = list(await session.scalars(select(OutboxMessage.payload)))
        assert payloads and all(p == {} for p in payloads)
        assert await session.scalar(select(func.count()).select_from(PortalLink)) == 0
        assert await session.scalar(select(func.count()).select_from(PortalSession)) == 0
        erased = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.erased"))).one()
    assert erased.actor.startswith("token:") and erased.details["reason"] == "Dana asked by mail, 2 Dec"

    assert 'name="email"' in await (await client.get("/portal", cookies=portal)).text()  # her portal cookie is worth nothing now

    # The figures did not change.
    assert await ticket_figures(hub) == before

    # Her number writing again is somebody new.
    await signed(client, "/webhooks/twilio/sms", "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "8" * 32, Body="Hello again")
    [again] = (await (await client.get("/api/v1/customers?phone=%2B12065550143", headers=auth)).json())["items"]
    assert again["id"] not in erased_ids
    assert (await client.post(f"/api/v1/customers/{dana}/erase", json={"reason": "twice"}, headers=auth)).status == 409


async def ticket_figures(hub) -> list[tuple]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Ticket.channel, Ticket.status, Ticket.type, Ticket.queue_id, Ticket.created_at, func.count(Interaction.id))
            .join(Interaction, Interaction.ticket_id == Ticket.id)
            .group_by(Ticket.id)
            .order_by(Ticket.id)
        )
        return [tuple(r) for r in rows]


async def test_a_number_that_said_stop_still_gets_no_sms_after_erasure_until_start(client, hub, auth):
    sms = "/webhooks/twilio/sms"
    await signed(client, sms, "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "1" * 32, Body="My order?")
    await signed(client, sms, "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "2" * 32, Body="STOP")
    [dana] = (await (await client.get("/api/v1/customers?phone=%2B12065550143", headers=auth)).json())["items"]
    assert (await client.post(f"/api/v1/customers/{dana['id']}/erase", json={"reason": "asked"}, headers=auth)).status == 200

    await signed(client, sms, "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "3" * 32, Body="Hello again")
    [again] = (await (await client.get("/api/v1/customers?phone=%2B12065550143", headers=auth)).json())["items"]
    assert again["id"] != dana["id"]
    [ticket] = (await (await client.get(f"/api/v1/tickets?customer_id={again['id']}", headers=auth)).json())["items"]
    refused = await client.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "Hi!"}, headers=auth)
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "opted_out"

    await signed(client, sms, "sms_inbound_basic", 200, From=DANA_PHONE, MessageSid="SM" + "4" * 32, Body="START")
    allowed = await client.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "Welcome back"}, headers=auth)
    assert allowed.status == 201, await allowed.text()
