"""Splitting a batch into rounds, and steps run on a hand-built round."""

from __future__ import annotations

import json

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import ContactPoint, Customer, Interaction, WebhookDelivery, WebhookSubscription, utcnow
from contactcenter.pipeline.context import IngestContext
from contactcenter.pipeline.dedupe import dedupe
from contactcenter.pipeline.identify import identify_customer
from contactcenter.pipeline.rounds import split_rounds
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound, settings_with


def sms(phone: str, **extra):
    return make_inbound(channel=ChannelKind.SMS, email=None, phone=phone, evidence="verified", name="", **extra)


async def rounds_of(hub, contacts) -> list[list[int]]:
    """The rounds as positions in `contacts`."""
    async with hub.sessions() as session:
        contexts = [IngestContext(hub=hub, session=session, contact=c, now=utcnow()) for c in contacts]
        rounds = await split_rounds(session, contexts)
    return [[contexts.index(ctx) for ctx in round_] for round_ in rounds]


async def test_contacts_that_share_nothing_are_one_round(hub):
    contacts = [sms("+14155550201"), sms("+14155550202"), make_inbound(email="x@example.com")]
    assert await rounds_of(hub, contacts) == [[0, 1, 2]]


async def test_a_shared_sender_or_provider_id_starts_a_new_round(hub):
    first = sms("+14155550211", provider_id="SM1")
    contacts = [first, sms("+14155550212"), sms("+14155550211"), first, sms("+14155550213")]
    assert await rounds_of(hub, contacts) == [[0, 1], [2], [3, 4]]


async def test_two_numbers_of_one_customer_are_in_two_rounds(hub):
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Two Phones", name_key="phones two")
        session.add(customer)
        await session.flush()
        for phone in ("+14155550221", "+14155550222"):
            session.add(ContactPoint(customer_id=customer.id, kind="phone", value=phone, evidence="verified", group_key="p:+1415555"))
    assert await rounds_of(hub, [sms("+14155550221"), sms("+14155550222")]) == [[0], [1]]


async def test_a_reference_to_a_ticket_not_yet_made_waits_for_everything_before_it(hub):
    await ingest(hub, make_inbound(email="old@example.com"))  # ticket 1 exists; 2 may be made by this batch
    contacts = [
        make_inbound(email="a@example.com"),
        make_inbound(email="b@example.com", thread_hints=("CC-000001",)),  # an existing ticket: no wait
        make_inbound(email="c@example.com", thread_hints=("CC-000002",)),
        make_inbound(email="d@example.com"),
    ]
    assert await rounds_of(hub, contacts) == [[0, 1], [2, 3]]


async def test_steps_run_on_a_hand_built_round(hub):
    await ingest(hub, sms("+14155550231", provider_id="SM-old"))
    contacts = [sms("+14155550231", provider_id="SM-old"), sms("+14155550232"), sms("+14155550233")]
    async with hub.sessions() as session, session.begin():
        batch = [IngestContext(hub=hub, session=session, contact=c, now=utcnow()) for c in contacts]
        await dedupe(batch)
        assert [ctx.duplicate_of is not None for ctx in batch] == [True, False, False]
        await identify_customer(batch[1:])
        assert [ctx.customer_created for ctx in batch[1:]] == [True, True]
        assert batch[1].customer.id != batch[2].customer.id
    async with hub.sessions() as session:
        assert sorted(await session.scalars(select(ContactPoint.value))) == ["+14155550231", "+14155550232", "+14155550233"]


async def test_an_acknowledgement_reaches_webhook_subscribers_once(hub):
    hub.settings = settings_with(hub.settings, tickets={"auto_acknowledge": True})
    async with hub.sessions() as session, session.begin():
        session.add(WebhookSubscription(url="http://127.0.0.1:9/hook", events=["interaction.created"], secret="s"))
    await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="z@example.com"))
    async with hub.sessions() as session:
        bodies = [json.loads(body) for body in await session.scalars(select(WebhookDelivery.body))]
        outbound = await session.scalar(select(Interaction.id).where(Interaction.direction == "outbound"))
    # The mail's interaction and its acknowledgement's, each once.
    assert sorted(b["data"]["interaction_id"] for b in bodies) == sorted({b["data"]["interaction_id"] for b in bodies})
    assert len(bodies) == 2 and outbound in {b["data"]["interaction_id"] for b in bodies}
