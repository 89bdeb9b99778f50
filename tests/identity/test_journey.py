"""Issue 5's acceptance journey: one person by email, SMS and web form; merge; unmerge.

The SMS contact is built as the Twilio channel builds one (channel sms, the
sender's number verified by the provider) and goes through the real pipeline.
"""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import AuditEvent, Customer
from contactcenter.pipeline.run import ingest
from contactcenter.web.auth import create_api_token
from tests.factories import ALICE_EMAIL, ALICE_PHONE, make_inbound


def sms(text: str = "Is my order on its way?"):
    return make_inbound(channel=ChannelKind.SMS, email=None, phone=ALICE_PHONE, evidence="verified", name="", subject="", text=text)


async def role_token(hub, role: str) -> dict[str, str]:
    async with hub.sessions() as session, session.begin():
        token = await create_api_token(session, role, role)
    return {"Authorization": f"Bearer {token}"}


async def get(client, path, auth):
    response = await client.get(path, headers=auth)
    assert response.status == 200, await response.text()
    return await response.json()


async def timeline(client, customer_id, auth) -> list[str]:
    body = await get(client, f"/api/v1/customers/{customer_id}/interactions", auth)
    return [i["text"] for i in body["items"]]


async def test_email_sms_web_then_merge_and_unmerge(client, hub, auth):
    mail = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, evidence="verified", text="Mail from Alice"))
    text = await ingest(hub, sms("SMS from Alice's phone"))
    alice, texter = mail.customer_id, text.customer_id
    assert alice != texter  # nothing yet says they are one person

    web = await ingest(hub, make_inbound(channel=ChannelKind.WEB, phone=ALICE_PHONE, text="Form with both"))
    assert web.customer_id == alice  # the reply address (the form's email) decides
    ticket = await get(client, f"/api/v1/tickets/{web.reference}", auth)
    assert ticket["customer_id"] == alice
    assert ticket["interactions"][0]["matched_by"] == ALICE_EMAIL
    assert ticket["interactions"][0]["match_is_claimed"] is True

    suggestions = (await get(client, "/api/v1/merge-suggestions", auth))["items"]
    assert len(suggestions) == 1
    suggestion = suggestions[0]
    assert {suggestion["customer_a_id"], suggestion["customer_b_id"]} == {alice, texter}
    assert suggestion["reasons"] == ["one web contact carried identifiers of both"]
    assert suggestion["score"] == 1.0
    # The phone stays with the customer who texted from it: never moved silently.
    texter_record = await get(client, f"/api/v1/customers/{texter}", auth)
    assert [(p["value"], p["evidence"]) for p in texter_record["contact_points"]] == [(ALICE_PHONE, "verified")]

    agent = await role_token(hub, "agent")
    refused = await client.post(f"/api/v1/customers/{alice}/merge", json={"from_customer_id": texter}, headers=agent)
    assert refused.status == 403
    supervisor = await role_token(hub, "supervisor")
    response = await client.post(f"/api/v1/customers/{alice}/merge", json={"from_customer_id": texter}, headers=supervisor)
    assert response.status == 201, await response.text()
    merge = await response.json()
    assert merge["moved"]["tickets"] == [text.ticket_id] and merge["moved"]["interactions"] == [text.interaction_id]
    assert await get(client, f"/api/v1/merges/{merge['id']}", agent) == merge

    assert await timeline(client, alice, auth) == ["Mail from Alice", "SMS from Alice's phone", "Form with both"]
    tickets = await get(client, f"/api/v1/tickets?customer_id={alice}", auth)
    assert {t["id"] for t in tickets["items"]} == {mail.ticket_id, text.ticket_id, web.ticket_id}
    assert (await get(client, "/api/v1/merge-suggestions", auth))["items"] == []
    merged = await get(client, f"/api/v1/customers/{texter}", auth)
    assert merged["merged_into_id"] == alice and merged["contact_points"] == []

    again = await ingest(hub, sms("Another SMS"))
    assert again.customer_id == alice
    assert again.ticket_id == text.ticket_id  # the SMS conversation continues where it was

    response = await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=supervisor)
    assert response.status == 200, await response.text()
    assert await timeline(client, alice, auth) == ["Mail from Alice", "Form with both"]
    assert await timeline(client, texter, auth) == ["SMS from Alice's phone", "Another SMS"]
    restored = await get(client, f"/api/v1/customers/{texter}", auth)
    assert restored["merged_into_id"] is None
    assert [p["value"] for p in restored["contact_points"]] == [ALICE_PHONE]
    assert [p["value"] for p in (await get(client, f"/api/v1/customers/{alice}", auth))["contact_points"]] == [ALICE_EMAIL]
    assert [s["id"] for s in (await get(client, "/api/v1/merge-suggestions", auth))["items"]] == [suggestion["id"]]
    assert (await ingest(hub, sms("After the undo"))).customer_id == texter

    twice = await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=supervisor)
    assert twice.status == 409 and (await twice.json())["error"]["code"] == "already_undone"
    async with hub.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "customer").order_by(AuditEvent.id)))
    assert actions == ["customer.merged", "customer.merged_into", "customer.unmerged", "customer.restored"]


async def test_merge_refuses_bad_requests(client, hub, auth):
    a = (await ingest(hub, make_inbound(email="a@example.com"))).customer_id
    b = (await ingest(hub, make_inbound(email="b@example.com"))).customer_id
    cases = [
        (f"/api/v1/customers/{a}/merge", {"from_customer_id": a}, 400),
        (f"/api/v1/customers/{a}/merge", {"from_customer_id": "b"}, 400),
        (f"/api/v1/customers/{a}/merge", {}, 400),
        (f"/api/v1/customers/{a}/merge", {"from_customer_id": 999}, 404),
        ("/api/v1/customers/999/merge", {"from_customer_id": a}, 404),
        ("/api/v1/merges/999/undo", None, 404),
    ]
    for path, body, status in cases:
        response = await client.post(path, json=body, headers=auth)
        assert response.status == status, (path, body, await response.text())
        assert (await response.json())["error"]["code"]
    assert (await client.post(f"/api/v1/customers/{a}/merge", json={"from_customer_id": b}, headers=auth)).status == 201
    # A merged record can neither absorb nor be absorbed again.
    for path, body in ((f"/api/v1/customers/{b}/merge", {"from_customer_id": a}), (f"/api/v1/customers/{a}/merge", {"from_customer_id": b})):
        response = await client.post(path, json=body, headers=auth)
        assert response.status == 409 and (await response.json())["error"]["code"] == "already_merged"
    assert (await ingest(hub, make_inbound(email="b@example.com"))).customer_id == a
    edit = await client.patch(f"/api/v1/customers/{b}", json={"tier": "A"}, headers=auth)
    assert edit.status == 409 and (await edit.json())["error"]["code"] == "merged"


async def test_merge_fills_the_survivors_gaps_and_unmerge_takes_back_only_those(client, hub, auth):
    survivor = (await ingest(hub, make_inbound(email="s@example.com", name=""))).customer_id
    merged = (await ingest(hub, make_inbound(email="m@example.com", name="Maria Gomez"))).customer_id
    for customer_id, body in ((survivor, {"segments": ["retail"]}), (merged, {"tier": "vip", "segments": ["emea"], "company": "Acme"})):
        assert (await client.patch(f"/api/v1/customers/{customer_id}", json=body, headers=auth)).status == 200
    merge = await (await client.post(f"/api/v1/customers/{survivor}/merge", json={"from_customer_id": merged}, headers=auth)).json()
    record = await get(client, f"/api/v1/customers/{survivor}", auth)
    assert (record["name"], record["tier"], record["company"], record["segments"]) == ("Maria Gomez", "VIP", "Acme", ["retail", "emea"])
    # A person changes the company after the merge: the undo leaves that alone.
    assert (await client.patch(f"/api/v1/customers/{survivor}", json={"company": "Acme Europe"}, headers=auth)).status == 200
    assert (await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=auth)).status == 200
    record = await get(client, f"/api/v1/customers/{survivor}", auth)
    assert (record["name"], record["tier"], record["company"], record["segments"]) == ("", "", "Acme Europe", ["retail"])
    async with hub.sessions() as session:
        assert (await session.get(Customer, survivor)).name_key == ""
