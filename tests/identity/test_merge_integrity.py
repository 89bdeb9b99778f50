"""A merge keeps a person whole: racing merges never split them, an unmerge gives back what it took.

Through the API a supervisor uses, on both databases.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Customer
from contactcenter.identity.merge import do_merge
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.polling import eventually


async def customer(client, auth, customer_id: int) -> dict:
    answer = await client.get(f"/api/v1/customers/{customer_id}", headers=auth)
    assert answer.status == 200
    return await answer.json()


async def test_an_unmerged_customer_keeps_their_crm_id(client, hub, auth):
    imported = (await ingest(hub, make_inbound(email="alice@example.com"))).customer_id
    texter = (await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", name=""))).customer_id
    async with hub.sessions() as session, session.begin():
        (await session.get_one(Customer, imported)).external_id = "CRM-1001"  # as the CRM import set it

    # The record from the CRM is merged into the SMS one by mistake...
    merge = await client.post(f"/api/v1/customers/{texter}/merge", json={"from_customer_id": imported}, headers=auth)
    assert merge.status == 201
    assert (await customer(client, auth, texter))["external_id"] == "CRM-1001"
    # ...and undone: the CRM id goes back to the customer it belongs to.
    undo = await client.post(f"/api/v1/merges/{(await merge.json())['id']}/undo", headers=auth)
    assert undo.status == 200
    restored, survivor = await customer(client, auth, imported), await customer(client, auth, texter)
    assert (restored["external_id"], restored["merged_into_id"]) == ("CRM-1001", None)
    assert survivor["external_id"] is None


async def test_two_merges_racing_never_split_a_customer(client, hub, auth, database_url):
    """Two supervisors merge the same pair in opposite directions at once: one
    merge wins, the other is refused, and the person's email and number end up
    on one live record (without row locks both went through, each record merged
    into the other, and neither address led to a live customer)."""
    email_side = (await ingest(hub, make_inbound(email="alice@example.com"))).customer_id
    phone_side = (await ingest(hub, make_inbound(email=None, phone="+14155550100", name=""))).customer_id

    async with hub.sessions() as session:
        transaction = await session.begin()
        await do_merge(session, email_side, phone_side, "first supervisor")
        # While the first merge is still being written, the second asks for the reverse.
        second = asyncio.create_task(
            client.post(f"/api/v1/customers/{phone_side}/merge", json={"from_customer_id": email_side}, headers=auth)
        )
        if database_url.startswith("postgresql"):
            # Let it get as far as it can: done, or waiting for the first merge's rows.
            await eventually(lambda: second.done() or _waiting_on_a_lock(hub), 10, "the second merge to wait or finish")
        # (On SQLite writers take turns at BEGIN IMMEDIATE: the second merge waits whole.)
        await transaction.commit()
    answer = await asyncio.wait_for(second, 30)
    assert answer.status == 409, await answer.text()
    assert (await answer.json())["error"]["code"] == "already_merged"

    survivor, merged = await customer(client, auth, email_side), await customer(client, auth, phone_side)
    assert survivor["merged_into_id"] is None and merged["merged_into_id"] == email_side
    assert sorted(p["value"] for p in survivor["contact_points"]) == ["+14155550100", "alice@example.com"]
    assert merged["contact_points"] == []


async def _waiting_on_a_lock(hub) -> bool:
    async with hub.engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        )
    return bool(waiting)
