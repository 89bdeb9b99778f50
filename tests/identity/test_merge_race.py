"""A contact identified while a merge of its customer is under way lands on the survivor."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from contactcenter.contact import ChannelKind
from contactcenter.identity.merge import do_merge
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound


async def test_contact_waits_for_a_merge_in_flight_and_follows_it(hub, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite writers take turns at BEGIN IMMEDIATE; the race needs PostgreSQL's row locks")
    survivor = (await ingest(hub, make_inbound(email="alice@example.com"))).customer_id
    merged = (await ingest(hub, make_inbound(email=None, phone="+14155550100", name=""))).customer_id

    async with hub.sessions() as session:
        transaction = await session.begin()
        await do_merge(session, survivor, merged, "test")
        # The merge holds both customers' rows; an SMS from the merged record's number arrives now.
        contact = make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", name="")
        arriving = asyncio.create_task(ingest(hub, contact))
        await _until_waiting_on_a_lock(hub)
        assert not arriving.done()
        await transaction.commit()
    result = await asyncio.wait_for(arriving, timeout=30)
    assert result.customer_id == survivor


async def _until_waiting_on_a_lock(hub, deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    async with hub.engine.connect() as connection:
        while loop.time() < give_up:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await connection.rollback()  # a fresh snapshot for the next look
            if waiting:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the contact never waited for the merge's locks")
