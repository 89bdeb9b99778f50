"""The identify step with hand-built contacts and records."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select

from contactcenter.contact import ChannelKind, Identity
from contactcenter.db.models import ContactPoint, Customer, MergeSuggestion, utcnow
from contactcenter.pipeline.context import IngestContext
from contactcenter.hub import Hub
from contactcenter.pipeline.identify import find_contact_points, identify_customer
from tests.conftest import _truncate as truncate
from tests.factories import make_inbound


async def identify(hub, contact) -> IngestContext:
    async with hub.sessions() as session, session.begin():
        ctx = IngestContext(hub=hub, session=session, contact=contact, now=utcnow())
        await identify_customer([ctx])
    return ctx


async def points(hub) -> list[tuple[int, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.scalars(select(ContactPoint).order_by(ContactPoint.id))
        return [(p.customer_id, p.kind, p.value, p.evidence) for p in rows]


async def test_new_identifiers_join_the_customer_as_claimed_unless_someone_holds_them(hub):
    alice = (await identify(hub, make_inbound(email="alice@example.com", evidence="verified"))).customer.id
    bob = (await identify(hub, make_inbound(email="bob@example.com", phone="+14155550101"))).customer.id
    ctx = await identify(hub, make_inbound(email="alice@example.com", phone="+14155550101"))
    assert ctx.customer.id == alice
    ctx = await identify(hub, make_inbound(email="alice@example.com", phone="+14155550199"))
    assert await points(hub) == [
        (alice, "email", "alice@example.com", "verified"),
        (bob, "email", "bob@example.com", "claimed"),
        (bob, "phone", "+14155550101", "claimed"),
        (alice, "phone", "+14155550199", "claimed"),
    ]
    async with hub.sessions() as session:
        suggestion = await session.scalar(select(MergeSuggestion))
    assert (suggestion.customer_a_id, suggestion.customer_b_id, suggestion.score) == (alice, bob, 1.0)


async def test_numbers_that_are_not_valid_never_match(hub):
    short_code = Identity(kind="phone", value="72345", evidence="verified", is_reply_address=True)
    contact = make_inbound(channel=ChannelKind.SMS, email=None, name="")
    first = await identify(hub, dataclasses.replace(contact, identities=(short_code,), provider_id="s1"))
    second = await identify(hub, dataclasses.replace(contact, identities=(short_code,), provider_id="s2"))
    assert first.customer.id != second.customer.id
    assert first.matched is None
    assert await points(hub) == []


async def test_a_merged_record_never_receives_a_contact(hub):
    """A contact point still on a merged record (a merge racing this contact) leads to the survivor."""
    async with hub.sessions() as session, session.begin():
        survivor, merged = Customer(name="Alice"), Customer(name="Alice too")
        session.add_all([survivor, merged])
        await session.flush()
        merged.merged_into_id = survivor.id
        session.add(ContactPoint(customer_id=merged.id, kind="email", value="old@example.com", evidence="imported"))
    ctx = await identify(hub, make_inbound(email="old@example.com", phone="+14155550100"))
    assert ctx.customer.id == survivor.id
    assert (ctx.matched.value, ctx.matched.evidence) == ("old@example.com", "claimed")
    assert (survivor.id, "phone", "+14155550100", "claimed") in await points(hub)


async def test_the_match_carries_the_contacts_own_evidence(hub):
    await identify(hub, make_inbound(email=None, phone="+14155550100", evidence="claimed"))
    sms = make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", name="")
    ctx = await identify(hub, sms)
    assert (ctx.matched.value, ctx.matched.evidence) == ("+14155550100", "verified")
    # The provider vouches for the number now: the record's point says so too.
    assert [p[3] for p in await points(hub)] == ["verified"]


@pytest.fixture
async def pg_hub(settings, pg_database):
    await truncate(pg_database)
    hub = Hub.create(settings, pg_database)
    yield hub
    await hub.close()


async def test_a_customer_identify_has_locked_can_still_be_referred_to(pg_hub):
    """identify locks customers FOR NO KEY UPDATE: a merge suggestion (or a ticket) that another
    writer adds for one of them does not wait. With FOR UPDATE it did, and two ingest writers
    suggesting merges of each other's customers deadlocked (docs/benchmarks.md, 2026-12-04)."""
    ann = (await identify(pg_hub, make_inbound(email="ann@example.com", name="Ann"))).customer.id
    bob = (await identify(pg_hub, make_inbound(email="bob@example.com", name="Bob"))).customer.id
    async with pg_hub.sessions() as holder, holder.begin():
        _, locked = await find_contact_points(holder, (Identity(kind="email", value="ann@example.com", evidence="claimed"),))
        assert list(locked) == [ann]
        async with pg_hub.sessions() as other, other.begin():
            other.add(MergeSuggestion(customer_a_id=ann, customer_b_id=bob, score=0.5, reasons=["alike"]))
            await asyncio.wait_for(other.flush(), 5)
