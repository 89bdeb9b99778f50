"""A batch ends exactly as the same contacts processed one at a time.

Each case runs twice on two fresh databases of the same kind: contact by
contact on one, all in one batch on the other; then every table is compared
(ids of customers and tickets included, timestamps and generated message ids
left out). The cases are the contacts of one batch that touch each other
(pipeline/rounds.py).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import DateTime, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.contact import ChannelKind, InboundContact
from contactcenter.db.models import Base, ContactPoint, Customer
from contactcenter.hub import Hub
from contactcenter.pipeline import run
from contactcenter.pipeline.run import ingest, writer_of
from tests.conftest import PG_SERVER
from tests.factories import make_inbound, settings_with

# Columns whose values depend on when or in which order rows were written, not on the outcome.
UNSTABLE = {"id", "interaction_id", "payload", "event_id", "body", "error", "raw", "contact"}
KEEP_IDS = {"customers", "tickets", "queues"}


def sms(phone: str, text: str, **extra) -> InboundContact:
    return make_inbound(channel=ChannelKind.SMS, email=None, phone=phone, evidence="verified", name="", subject="", text=text, **extra)


def mail(email: str, subject: str, *, name: str = "Alice Example", hints: tuple[str, ...] = (), **extra) -> InboundContact:
    return make_inbound(channel=ChannelKind.EMAIL, email=email, name=name, subject=subject, thread_hints=hints, **extra)


def same_new_sender_twice() -> list[InboundContact]:
    return [sms("+14155550111", "hi"), sms("+14155550112", "other"), sms("+14155550111", "again")]


def reply_to_a_ticket_opened_in_the_batch() -> list[InboundContact]:
    return [
        mail("alice@example.com", "Order 1"),
        mail("alice@example.com", "Re: Order 1", hints=("CC-000001",)),
        # A stranger quoting the reference opens a ticket of their own.
        mail("mallory@example.net", "Re: Order 1", name="Mallory", hints=("CC-000001",)),
    ]


def stop_then_message() -> list[InboundContact]:
    return [
        sms("+14155550122", "STOP", metadata={"sms_consent": "opt_out"}),
        sms("+14155550122", "one more thing"),
        sms("+14155550123", "hello"),
    ]


def two_numbers_of_one_customer() -> list[InboundContact]:
    return [sms("+14155550131", "from my mobile"), sms("+14155550132", "from my desk phone")]


def a_retry_in_the_batch() -> list[InboundContact]:
    first = sms("+14155550141", "hi", provider_id="SM-retry")
    return [first, sms("+14155550142", "x"), first]


def look_alikes_at_one_domain() -> list[InboundContact]:
    return [mail("jane@acme.test", "A", name="Jane Doe"), mail("j.doe@acme.test", "B", name="Jane Doe")]


def acknowledgement_limit() -> list[InboundContact]:
    return [mail("carol@example.net", "One", name="Carol"), mail("carol@example.net", "Two", name="Carol")]


SINGLE_CASES = (
    same_new_sender_twice,
    reply_to_a_ticket_opened_in_the_batch,
    stop_then_message,
    two_numbers_of_one_customer,
    a_retry_in_the_batch,
    look_alikes_at_one_domain,
    acknowledgement_limit,
)


def everything_at_once() -> list[InboundContact]:
    # Tickets of later cases get other ids, so the one case with a reference goes first.
    return [contact for case in SINGLE_CASES for contact in case()]


CASES: dict[str, Callable[[], list[InboundContact]]] = {case.__name__: case for case in (*SINGLE_CASES, everything_at_once)}


async def given(hub: Hub) -> None:
    """What every case starts from: a customer known by two numbers."""
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Two Phones", name_key="phones two")
        session.add(customer)
        await session.flush()
        for phone in ("+14155550131", "+14155550132"):
            session.add(ContactPoint(customer_id=customer.id, kind="phone", value=phone, evidence="verified", group_key=phone[:8]))


def _is_time(column) -> bool:  # noqa: ANN001
    return isinstance(getattr(column.type, "impl", column.type), DateTime)


async def snapshot(hub: Hub) -> dict[str, list[tuple]]:
    tables = {}
    async with hub.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                c for c in table.columns
                if not _is_time(c) and (c.name not in UNSTABLE or (c.name == "id" and table.name in KEEP_IDS))
            ]
            rows = []
            for row in await session.execute(select(*columns)):
                values = dict(zip([c.name for c in columns], row))
                if table.name == "interactions" and values.get("direction") == "outbound":
                    values.pop("provider_id")  # a Message-ID made up when it was queued
                rows.append(tuple(sorted((k, repr(v)) for k, v in values.items())))
            tables[table.name] = sorted(rows)
    return tables


@pytest.fixture
async def twin_url(database_url: str, tmp_path: Path):
    """A second fresh database like `database_url`'s."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "twin.db"
        shutil.copy(make_url(database_url).database, path)  # still empty: nothing ran yet
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"cc_twin_{uuid.uuid4().hex[:8]}"
    template = make_url(database_url).database
    admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_SERVER}/{name}"
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_batch_ends_as_one_contact_at_a_time(case, settings, database_url, twin_url, monkeypatch):
    settings = settings_with(settings, tickets={"auto_acknowledge": True, "acknowledgements_per_hour": 1})
    monkeypatch.setattr(run, "BATCH_SECONDS", 60.0)  # one batch however slow the machine is
    one_by_one, batched = Hub.create(settings, database_url), Hub.create(settings, twin_url)
    try:
        await given(one_by_one)
        await given(batched)
        contacts = CASES[case]()
        for contact in contacts:
            await ingest(one_by_one, contact)

        writer = writer_of(batched)
        before = writer.batches
        await asyncio.gather(*(ingest(batched, contact) for contact in contacts))
        assert writer.batches - before == 1  # all of them in one transaction

        expected, got = await snapshot(one_by_one), await snapshot(batched)
        differences = {
            name: {"one at a time only": sorted(set(rows) - set(got[name])), "batch only": sorted(set(got[name]) - set(rows))}
            for name, rows in expected.items()
            if rows != got[name]
        }
        assert differences == {}
    finally:
        await one_by_one.close()
        await batched.close()
