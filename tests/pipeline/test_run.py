"""The pipeline as a whole: one transaction per contact, nothing half-written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from contactcenter import pipeline
from contactcenter.contact import ChannelKind
from contactcenter.contact import InboundContact
from contactcenter.db.models import ContactPoint, Customer, InboundRecord, Interaction, OutboxMessage, Ticket
from contactcenter.pipeline import run
from contactcenter.pipeline.route import route_ticket
from contactcenter.pipeline.run import ContactKeptForReplay, ingest
from contactcenter.replay import replay_failed
from tests.factories import ALICE_EMAIL, make_inbound, settings_with


async def counts(hub) -> dict[str, int]:
    async with hub.sessions() as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (Customer, ContactPoint, Ticket, Interaction, OutboxMessage, InboundRecord)
        }


async def broken_route(batch) -> None:
    await route_ticket(batch)
    raise RuntimeError("routing exploded")


async def test_a_failing_step_leaves_nothing_behind_but_the_raw_contact(hub, monkeypatch):
    steps = tuple(broken_route if step is route_ticket else step for step in pipeline.INGEST_STEPS)
    monkeypatch.setattr(run, "INGEST_STEPS", steps)
    contact = make_inbound(text="My order never came.")

    with pytest.raises(ContactKeptForReplay):
        await ingest(hub, contact, raw=b'{"raw": "payload"}')

    assert await counts(hub) == {
        "Customer": 0, "ContactPoint": 0, "Ticket": 0, "Interaction": 0, "OutboxMessage": 0, "InboundRecord": 1,
    }
    async with hub.sessions() as session:
        record = await session.scalar(select(InboundRecord))
    assert record.status == "failed" and "routing exploded" in record.error
    assert record.raw == b'{"raw": "payload"}'
    assert InboundContact.from_json(record.contact) == contact

    # Once the fault is fixed, the kept contact is replayed into a normal ticket.
    monkeypatch.setattr(run, "INGEST_STEPS", pipeline.INGEST_STEPS)
    assert await replay_failed(hub) == (1, 0)
    after = await counts(hub)
    assert (after["Customer"], after["Ticket"], after["Interaction"]) == (1, 1, 1)


async def test_concurrent_deliveries_of_one_contact_store_one_interaction(hub):
    contact = make_inbound(provider_id="SM-same")
    results = await asyncio.gather(*(ingest(hub, contact) for _ in range(5)))
    assert len({r.interaction_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False] + [True] * 4
    assert (await counts(hub))["Interaction"] == 1


async def test_concurrent_contacts_from_one_new_address_make_one_customer(hub):
    results = await asyncio.gather(*(ingest(hub, make_inbound(provider_id=f"m{i}")) for i in range(4)))
    assert len({r.customer_id for r in results}) == 1
    assert (await counts(hub))["Customer"] == 1


async def test_window_threading_joins_open_ticket_of_same_channel(hub):
    first = await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", text="one"))
    second = await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", text="two"))
    assert second.ticket_id == first.ticket_id and not second.ticket_created


async def test_a_typed_address_never_joins_the_customers_open_ticket(hub):
    """Anyone can type a customer's address into the form: that opens a ticket of its own."""
    first = await ingest(hub, make_inbound(text="one"))
    second = await ingest(hub, make_inbound(text="two", thread_hints=(first.reference,)))
    assert second.customer_id == first.customer_id
    assert second.ticket_id != first.ticket_id and second.ticket_created


async def test_explicit_reference_from_owner_joins_but_from_stranger_does_not(hub):
    alice = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email=ALICE_EMAIL))
    follow_up = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email=ALICE_EMAIL, thread_hints=(alice.reference,)))
    stranger = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="mallory@example.net", thread_hints=(alice.reference,)))
    assert follow_up.ticket_id == alice.ticket_id
    assert stranger.ticket_id != alice.ticket_id


async def test_acknowledgement_is_queued_in_the_same_transaction(hub):
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    result = await ingest(hub, make_inbound())
    async with hub.sessions() as session:
        outbox = await session.scalar(select(OutboxMessage))
        ack = await session.get(Interaction, outbox.interaction_id)
    assert outbox.recipient == ALICE_EMAIL and outbox.status == "pending"
    assert ack.direction == "outbound" and ack.ticket_id == result.ticket_id
    assert result.reference in ack.text and result.reference in ack.subject
    # A follow-up on the same ticket is not acknowledged again.
    await ingest(hub, make_inbound(thread_hints=(result.reference,)))
    assert (await counts(hub))["OutboxMessage"] == 1


async def test_automated_contacts_are_never_acknowledged(hub):
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    await ingest(hub, make_inbound(is_automated=True))
    assert (await counts(hub))["OutboxMessage"] == 0
