"""Look-alike suggestions through the pipeline, and the customer API around them."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import AuditEvent, Customer
from contactcenter.pipeline.run import ingest
from contactcenter.web.auth import create_api_token
from tests.factories import make_inbound


async def suggestions(client, auth) -> list[dict]:
    response = await client.get("/api/v1/merge-suggestions", headers=auth)
    assert response.status == 200
    return (await response.json())["items"]


async def test_alike_names_on_a_company_domain_are_suggested_with_reasons(client, hub, auth):
    first = await ingest(hub, make_inbound(email="john.smith@acme.example", name="John Smith"))
    second = await ingest(hub, make_inbound(email="jsmith@acme.example", name="Smith, John"))
    third = await ingest(hub, make_inbound(email="mary@acme.example", name="Mary Jones"))
    assert len({first.customer_id, second.customer_id, third.customer_id}) == 3  # never merged by likeness
    (suggestion,) = await suggestions(client, auth)
    assert (suggestion["customer_a_id"], suggestion["customer_b_id"]) == (first.customer_id, second.customer_id)
    assert suggestion["reasons"] == ["same name", "both use the email domain acme.example"]
    assert 0.5 < suggestion["score"] < 1.0
    assert suggestion["customer_a"]["contact_points"][0]["value"] == "john.smith@acme.example"


async def test_free_mail_is_no_reason_but_a_number_block_is(client, hub, auth):
    await ingest(hub, make_inbound(email="jon.doe@gmail.com", name="Jonathan Doe"))
    await ingest(hub, make_inbound(email="jd1980@gmail.com", name="Jonathan Doe"))
    assert await suggestions(client, auth) == []
    await ingest(hub, make_inbound(email=None, phone="+14155550123", name="Jonathan Doe"))
    await ingest(hub, make_inbound(email=None, phone="+14155550177", name="Jonathon Doe"))
    (suggestion,) = await suggestions(client, auth)
    assert suggestion["reasons"][0].startswith("similar names")
    assert suggestion["reasons"][1] == "phone numbers in the same block +141555501XX"


async def test_plus_tags_on_gmail_land_on_one_customer(hub):
    one = await ingest(hub, make_inbound(email="alice@gmail.com"))
    two = await ingest(hub, make_inbound(email="alice+orders@gmail.com"))
    other = await ingest(hub, make_inbound(email="alice+orders@example.com"))
    assert one.customer_id == two.customer_id != other.customer_id


async def test_dismissed_suggestions_stay_dismissed(client, hub, auth):
    await ingest(hub, make_inbound(email="ann.lee@acme.example", name="Ann Lee"))
    await ingest(hub, make_inbound(email="a.lee@acme.example", name="Ann Lee"))
    (suggestion,) = await suggestions(client, auth)
    response = await client.post(f"/api/v1/merge-suggestions/{suggestion['id']}/dismiss", headers=auth)
    assert response.status == 200 and (await response.json())["status"] == "dismissed"
    again = await client.post(f"/api/v1/merge-suggestions/{suggestion['id']}/dismiss", headers=auth)
    assert again.status == 409
    assert (await client.post("/api/v1/merge-suggestions/999/dismiss", headers=auth)).status == 404
    await ingest(hub, make_inbound(email="ann.lee@acme.example", phone="+14155550100", name="Ann Lee"))
    await ingest(hub, make_inbound(email="a.lee@acme.example", name="Ann Lee", text="again"))
    assert await suggestions(client, auth) == []


async def test_agents_set_tier_segments_and_name_audited(client, hub, auth):
    customer_id = (await ingest(hub, make_inbound(email="vip@example.com", name="Vera"))).customer_id
    response = await client.patch(
        f"/api/v1/customers/{customer_id}",
        json={"tier": "vip", "segments": ["enterprise", " emea ", "enterprise"], "name": " Vera  Important ", "company": "Acme", "notes": "Prefers email.\nCalls on Mondays. "},
        headers=auth,
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["tier"], body["segments"], body["name"], body["company"]) == ("VIP", ["emea", "enterprise"], "Vera Important", "Acme")
    async with hub.sessions() as session:
        assert (await session.get(Customer, customer_id)).notes == "Prefers email.\nCalls on Mondays."
    async with hub.sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "customer.updated"))
        assert event.subject_id == customer_id and event.details["changes"]["tier"] == ["", "VIP"]
        assert (await session.get(Customer, customer_id)).name_key == "important vera"

    for body, field in (({"tier": "x" * 30}, "tier"), ({"id": 3}, "id"), ({"lifetime_value": -1}, "lifetime_value"), ({"segments": [1]}, "segments")):
        response = await client.patch(f"/api/v1/customers/{customer_id}", json=body, headers=auth)
        assert response.status == 400, body
        assert field in (await response.json())["error"]["fields"]
    assert (await client.patch(f"/api/v1/customers/{customer_id}", json={}, headers=auth)).status == 400
    assert (await client.patch("/api/v1/customers/999", json={"tier": "A"}, headers=auth)).status == 404
    assert (await client.patch(f"/api/v1/customers/{customer_id}", json={"tier": "A"})).status == 401


async def test_intake_tokens_cannot_edit_or_see_suggestions(client, hub):
    async with hub.sessions() as session, session.begin():
        token = await create_api_token(session, "crm", "intake")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/merge-suggestions", headers=headers)).status == 403
    assert (await client.patch("/api/v1/customers/1", json={"tier": "A"}, headers=headers)).status == 403


async def test_agent_entered_identifiers_are_claimed_and_then_match(client, hub, auth):
    customer_id = (await ingest(hub, make_inbound(email="carol@example.com", name="Carol"))).customer_id
    response = await client.post(
        f"/api/v1/customers/{customer_id}/contact-points", json={"kind": "phone", "value": "(415) 555-0199 ext 7"}, headers=auth
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["evidence"] == "claimed"
    sms = make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550199", evidence="verified", name="")
    result = await ingest(hub, sms)
    assert result.customer_id == customer_id
    ticket = await (await client.get(f"/api/v1/tickets/{result.ticket_id}", headers=auth)).json()
    assert ticket["interactions"][0]["match_evidence"] == "verified"  # the provider vouches for the sender
    taken = await client.post(
        f"/api/v1/customers/{customer_id}/contact-points", json={"kind": "phone", "value": "+14155550199"}, headers=auth
    )
    assert taken.status == 409
    bad = await client.post(f"/api/v1/customers/{customer_id}/contact-points", json={"kind": "phone", "value": "12"}, headers=auth)
    assert bad.status == 400


async def test_search_folds_plus_tags_like_matching_does(client, hub, auth):
    await ingest(hub, make_inbound(email="dora+news@gmail.com", name="Dora"))
    found = await (await client.get("/api/v1/customers?email=Dora%2Bshop@GMAIL.com", headers=auth)).json()
    assert [c["name"] for c in found["items"]] == ["Dora"]
    assert found["items"][0]["contact_points"][0]["value"] == "dora@gmail.com"


async def test_ids_beyond_the_database_integer_range_name_nothing(client, hub, auth):
    """Found by the API fuzz run: PostgreSQL refuses such numbers, which must not become a 500."""
    customer = (await ingest(hub, make_inbound())).customer_id
    huge = 2**40
    merge = await client.post(f"/api/v1/customers/{customer}/merge", json={"from_customer_id": huge}, headers=auth)
    assert merge.status == 404
    for body in ({"agent_id": huge}, {"queue": huge}):
        transfer = await client.post("/api/v1/tickets/CC-000001/transfer", json=body, headers=auth)
        assert transfer.status == 400, body
