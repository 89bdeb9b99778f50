"""Contacts written in batches, and contacts accepted before they are processed."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from contactcenter import pipeline
from contactcenter.app import create_app
from contactcenter.db.models import InboundRecord, Interaction, Ticket
from contactcenter.errors import TemporaryError
from contactcenter.pipeline import run
from contactcenter.pipeline.log import log_interaction
from contactcenter.pipeline.run import ContactKeptForReplay, accept, ingest, writer_of
from contactcenter.web.auth import create_api_token
from tests.factories import make_inbound, settings_with
from tests.polling import processed


async def interactions(hub) -> list[str]:
    async with hub.sessions() as session:
        return sorted(await session.scalars(select(Interaction.provider_id)))


async def test_a_burst_shares_transactions_and_a_bad_contact_fails_alone(hub, monkeypatch):
    async def log_unless_poisoned(batch) -> None:
        if any(ctx.contact.provider_id == "poison" for ctx in batch):
            raise RuntimeError("a bug that only this contact meets")
        await log_interaction(batch)

    steps = tuple(log_unless_poisoned if step is log_interaction else step for step in pipeline.INGEST_STEPS)
    monkeypatch.setattr(run, "INGEST_STEPS", steps)
    names = [f"c{i}" for i in range(6)] + ["poison"] + [f"d{i}" for i in range(6)]
    contacts = [make_inbound(provider_id=name, email=f"{name}@example.com") for name in names]

    outcomes = await asyncio.gather(*(ingest(hub, c) for c in contacts), return_exceptions=True)

    failed = [name for name, outcome in zip(names, outcomes) if isinstance(outcome, ContactKeptForReplay)]
    assert failed == ["poison"]
    assert await interactions(hub) == sorted(set(names) - {"poison"})
    assert writer_of(hub).batches < len(names)  # the burst shared transactions
    async with hub.sessions() as session:
        kept = list(await session.scalars(select(InboundRecord)))
    assert [(r.provider_id, r.status) for r in kept] == [("poison", "failed")]


async def test_an_accepted_contact_is_stored_then_processed_and_its_record_removed(hub):
    await accept(hub, make_inbound(provider_id="SM1"), raw=b"Body=hi")
    await processed(hub)
    assert await interactions(hub) == ["SM1"]
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundRecord)) == 0


async def test_contacts_accepted_before_a_crash_are_processed_at_start(aiohttp_client, hub):
    # What `kill -9` between the provider's answer and the pipeline leaves behind.
    contact = make_inbound(provider_id="SM-left", subject="Left behind")
    async with hub.sessions() as session, session.begin():
        session.add(InboundRecord(channel=contact.channel, provider_id="SM-left", contact=contact.to_json(), status="pending"))

    await aiohttp_client(create_app(hub.settings, hub))  # serve, with its workers
    await processed(hub)

    async with hub.sessions() as session:
        assert list(await session.scalars(select(Ticket.subject))) == ["Left behind"]
        assert await session.scalar(select(func.count()).select_from(InboundRecord)) == 0


async def test_a_full_backlog_makes_providers_retry(hub):
    hub.settings = settings_with(hub.settings, ingest={"max_backlog": 2})
    writer = writer_of(hub)
    loop = asyncio.get_running_loop()
    for provider_id in ("SM1", "SM2"):  # accepted, and the writer has not had a turn yet
        writer.store(run._Waiting(make_inbound(provider_id=provider_id), None, loop.create_future()))

    with pytest.raises(TemporaryError):
        await accept(hub, make_inbound(provider_id="SM3"))

    await processed(hub)
    assert await interactions(hub) == ["SM1", "SM2"]


async def test_metrics_need_an_admin_and_show_the_backlog(aiohttp_client, hub):
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    async with hub.sessions() as session, session.begin():
        agent = await create_api_token(session, "agent", "agent")
        admin = await create_api_token(session, "ops", "admin")
    await ingest(hub, make_inbound())

    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {agent}"})).status == 403
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    text = await response.text()
    assert response.status == 200 and response.content_type == "text/plain"
    assert "contactcenter_ingest_backlog 0" in text
    assert 'contactcenter_ingest_processed_total{channel="api"} 1' in text
    assert "contactcenter_tickets_unassigned 1" in text


async def test_reading_never_waits_for_a_writer(hub):
    """Pages and API reads use `hub.reads`: on SQLite they take no lock, so a long
    ingest batch holding the write lock does not hold them up."""
    await ingest(hub, make_inbound(provider_id="first"))
    async with hub.sessions() as writer, writer.begin():
        writer.add(Ticket(customer_id=1, subject="being written", channel="api"))
        await writer.flush()  # the writer now holds the database's write lock
        async with hub.reads() as reader:
            subjects = list(await asyncio.wait_for(reader.scalars(select(Ticket.subject)), 5))
    assert subjects == ["Help"]  # the committed ticket only


def waiting(provider_id: str, email: str) -> run._Waiting:
    return run._Waiting(make_inbound(provider_id=provider_id, email=email), None, None)


def test_a_writer_leaves_the_senders_another_writer_holds_and_keeps_each_senders_order():
    queue = deque([waiting("1", "ann@example.com"), waiting("2", "bob@example.com"), waiting("3", "cy@example.com"),
                   waiting("4", "ann@example.com"), waiting("5", "bob@example.com")])
    busy = {"email:ann@example.com"}  # another writer is writing Ann's earlier mail
    batch = run._take(queue, 32, 2**20, busy)
    assert [item.contact.provider_id for item in batch] == ["2", "3", "5"]
    assert [item.contact.provider_id for item in queue] == ["1", "4"]  # Ann's, in order, for when hers is written
    assert [item.contact.provider_id for item in run._take(queue, 32, 2**20, set())] == ["1", "4"]


@pytest.mark.parametrize("race", ["unique", "deadlock"])
async def test_a_batch_that_loses_a_race_runs_again_whole(hub, monkeypatch, race):
    """Another process wrote the same new sender first, or locked in the other order: a rerun settles it,
    and splitting the batch into single contacts had cost a transaction per contact."""
    lost = []

    async def log_losing_once(batch) -> None:
        if len(batch) > 1 and not lost:
            lost.append(len(batch))
            orig = type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})()
            raise IntegrityError("INSERT", {}, Exception("duplicate key")) if race == "unique" else DBAPIError("INSERT", {}, orig)
        await log_interaction(batch)

    monkeypatch.setattr(run, "INGEST_STEPS", tuple(log_losing_once if s is log_interaction else s for s in pipeline.INGEST_STEPS))
    writer = writer_of(hub)
    names = [f"c{i}" for i in range(8)]
    for name in names:  # queued before the writer has a turn: one batch
        writer.process(run._Waiting(make_inbound(provider_id=name, email=f"{name}@example.com"), None, None))
    await processed(hub)
    assert lost == [8]
    assert await interactions(hub) == names
    assert writer.batches == 1
