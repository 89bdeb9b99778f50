"""The JSON intake and the read API, end to end over HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from contactcenter.db.models import ContactPoint, Customer, InboundRecord, Interaction, Ticket


async def count(hub, model) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_contact_creates_customer_ticket_and_interaction(client, auth, hub):
    response = await client.post(
        "/api/v1/contacts",
        json={"external_id": "crm-1", "name": "Alice Example", "email": "Alice@Example.COM", "subject": "Refund", "message": "Please refund order 7.", "type": "complaint"},
        headers=auth,
    )
    assert response.status == 201
    body = await response.json()
    assert body["reference"].startswith("CC-")

    customer = await (await client.get(f"/api/v1/customers/{body['customer_id']}", headers=auth)).json()
    assert customer["name"] == "Alice Example"
    assert [(p["kind"], p["value"], p["evidence"]) for p in customer["contact_points"]] == [("email", "alice@example.com", "claimed")]

    ticket = await (await client.get(f"/api/v1/tickets/{body['reference']}", headers=auth)).json()
    assert ticket["id"] == body["ticket_id"]
    assert ticket["type"] == "complaint" and ticket["priority"] == 3 and ticket["queue"] == "general"
    assert [i["text"] for i in ticket["interactions"]] == ["Please refund order 7."]

    timeline = await (await client.get(f"/api/v1/customers/{body['customer_id']}/interactions", headers=auth)).json()
    assert [i["id"] for i in timeline["items"]] == [body["interaction_id"]]
    assert timeline["items"][0]["match_is_claimed"] is True


async def test_same_external_id_twice_is_one_interaction(client, auth, hub):
    contact = {"external_id": "crm-42", "email": "bob@example.org", "message": "Where is my parcel?"}
    first = await client.post("/api/v1/contacts", json=contact, headers=auth)
    second = await client.post("/api/v1/contacts", json=contact, headers=auth)
    assert (first.status, second.status) == (201, 200)
    assert (await first.json())["interaction_id"] == (await second.json())["interaction_id"]
    assert await count(hub, Interaction) == 1


async def test_email_case_variants_land_on_one_customer(client, auth, hub):
    for i, email in enumerate(["Alice@Example.COM", "alice@example.com"]):
        response = await client.post("/api/v1/contacts", json={"external_id": f"e{i}", "email": email, "message": "hi"}, headers=auth)
        assert response.status == 201
    assert await count(hub, Customer) == 1


async def test_phone_formats_land_on_one_customer(client, auth, hub):
    for i, phone in enumerate(["+1 (415) 555-0100", "415.555.0100"]):
        response = await client.post("/api/v1/contacts", json={"external_id": f"p{i}", "phone": phone, "message": "hi"}, headers=auth)
        assert response.status == 201
    async with hub.sessions() as session:
        assert list(await session.scalars(select(ContactPoint.value))) == ["+14155550100"]
    assert await count(hub, Customer) == 1


async def test_search_finds_customer_by_any_written_form(client, auth):
    await client.post("/api/v1/contacts", json={"external_id": "s1", "phone": "+14155550100", "email": "carol@example.com", "name": "Carol Jones", "message": "hi"}, headers=auth)
    for query in ("phone=(415) 555-0100", "email=CAROL@example.com", "q=jones"):
        found = await (await client.get(f"/api/v1/customers?{query}", headers=auth)).json()
        assert [c["name"] for c in found["items"]] == ["Carol Jones"], query


async def test_bad_input_gets_4xx_and_writes_nothing(client, auth, hub):
    cases = [
        ({"json": {"external_id": "x", "message": "no address"}}, 400, "invalid_input"),
        ({"json": {"external_id": "x", "email": "a@b.example"}}, 400, "invalid_input"),
        ({"json": {"external_id": "x", "email": "not-an-address", "message": "hi"}}, 400, "invalid_input"),
        ({"json": {"external_id": "x", "phone": "12", "message": "hi"}}, 400, "invalid_input"),
        ({"json": {"external_id": "x", "email": "a@b.example", "message": "x" * 1_000_000}}, 413, "too_large"),
        ({"json": {"external_id": "x", "email": "a@b.example", "message": "hi", "type": "rant"}}, 400, "invalid_input"),
        ({"json": ["a list"]}, 400, "malformed_json"),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
        ({"data": b"email=a@b.example&message=hi", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"),
    ]
    for kwargs, status, code in cases:
        headers = {**auth, **kwargs.pop("headers", {})}
        response = await client.post("/api/v1/contacts", headers=headers, **kwargs)
        assert response.status == status, (kwargs, await response.text())
        assert (await response.json())["error"]["code"] == code
    for model in (Customer, Ticket, Interaction, ContactPoint, InboundRecord):
        assert await count(hub, model) == 0


async def test_field_errors_are_listed_by_field(client, auth):
    response = await client.post("/api/v1/contacts", json={"email": "nope", "phone": "12"}, headers=auth)
    error = (await response.json())["error"]
    assert set(error["fields"]) == {"email", "phone", "message"}


async def test_token_is_required_and_checked(client, hub):
    contact = {"external_id": "t", "email": "a@b.example", "message": "hi"}
    missing = await client.post("/api/v1/contacts", json=contact)
    wrong = await client.post("/api/v1/contacts", json=contact, headers={"Authorization": "Bearer cc_wrong"})
    assert (missing.status, wrong.status) == (401, 401)
    assert (await wrong.json())["error"]["code"] == "invalid_token"
    assert (await (await client.get("/api/v1/tickets")).json())["error"]["code"] == "missing_token"
    assert await count(hub, Interaction) == 0


async def test_intake_token_cannot_read_customers(client, hub):
    from contactcenter.web.auth import create_api_token

    async with hub.sessions() as session, session.begin():
        intake = await create_api_token(session, "crm", "intake")
    headers = {"Authorization": f"Bearer {intake}"}
    created = await client.post("/api/v1/contacts", json={"email": "a@b.example", "message": "hi"}, headers=headers)
    assert created.status == 201
    read = await client.get(f"/api/v1/customers/{(await created.json())['customer_id']}", headers=headers)
    assert read.status == 403


async def test_ticket_list_filters_and_unknown_ticket(client, auth):
    await client.post("/api/v1/contacts", json={"external_id": "l1", "email": "a@b.example", "message": "hi"}, headers=auth)
    listed = await (await client.get("/api/v1/tickets?status=new&queue=general", headers=auth)).json()
    assert len(listed["items"]) == 1
    assert (await (await client.get("/api/v1/tickets?status=closed", headers=auth)).json())["items"] == []
    assert (await client.get("/api/v1/tickets?status=bogus", headers=auth)).status == 400
    missing = await client.get("/api/v1/tickets/CC-999999", headers=auth)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok"}
