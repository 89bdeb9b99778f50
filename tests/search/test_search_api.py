"""GET /api/v1/search: one box for customers (name, email, phone as written) and tickets by words."""

from __future__ import annotations

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction, Ticket
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound


async def _search(client, auth, q: str) -> dict:
    response = await client.get("/api/v1/search", params={"q": q}, headers=auth)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_word_in_one_message_finds_its_ticket(client, hub, auth):
    first = await ingest(hub, make_inbound(evidence="verified", subject="Order help", text="My parcel never arrived."))
    second = await ingest(hub, make_inbound(email="bob@example.org", name="Bob", subject="Hello", text="The zipper is broken."))
    later = await ingest(hub, make_inbound(evidence="verified", thread_hints=(first.reference,), subject="Re: Order help", text="It was the aquamarine one."))
    assert later.ticket_id == first.ticket_id
    found = await _search(client, auth, "aquamarine")
    assert [t["reference"] for t in found["tickets"]] == [first.reference]
    assert [t["reference"] for t in (await _search(client, auth, "ZIPPER"))["tickets"]] == [second.reference]
    assert [t["reference"] for t in (await _search(client, auth, "zipp"))["tickets"]] == [second.reference]  # a word being typed
    assert (await _search(client, auth, "zipper aquamarine"))["tickets"] == []  # every word must occur
    assert [t["reference"] for t in (await _search(client, auth, "order"))["tickets"]] == [first.reference]  # subject


async def test_notes_and_edits_are_found_and_operators_are_just_words(client, hub, auth):
    result = await ingest(hub, make_inbound(text="Plain question"))
    async with hub.sessions() as session, session.begin():
        session.add(Interaction(ticket_id=result.ticket_id, customer_id=result.customer_id, channel="api", direction="internal", text="escalated to ledgerteam"))
        (await session.get(Ticket, result.ticket_id)).subject = "Renamed overdraft"
    assert [t["id"] for t in (await _search(client, auth, "ledgerteam"))["tickets"]] == [result.ticket_id]
    assert [t["id"] for t in (await _search(client, auth, "overdraft"))["tickets"]] == [result.ticket_id]
    for hostile in ('"', "NEAR(a b)", "a OR", "*", "x:*", "!&|", "'); DROP TABLE tickets; --", "\\"):
        await _search(client, auth, hostile)  # 200, never a syntax error


async def test_customers_by_name_email_or_phone_in_any_written_form(client, hub, auth):
    alice = await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", name="Alice Example"))
    await ingest(hub, make_inbound(email="bob@example.org", name="Bob Builder"))
    for q in ("(415) 555-0100", "+1 415 555 0100", "415.555.0100"):
        assert [c["id"] for c in (await _search(client, auth, q))["customers"]] == [alice.customer_id], q
    assert [c["name"] for c in (await _search(client, auth, "BOB@Example.org"))["customers"]] == ["Bob Builder"]
    assert [c["name"] for c in (await _search(client, auth, "builder"))["customers"]] == ["Bob Builder"]
    assert (await _search(client, auth, ""))["customers"] == []


async def test_search_needs_an_agent(client, hub):
    assert (await client.get("/api/v1/search?q=x")).status == 401
