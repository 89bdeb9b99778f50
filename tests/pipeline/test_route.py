"""The route step with a hand-built context: queue, priority, type, SLA due times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from contactcenter.contact import ChannelKind, TicketType
from contactcenter.db.models import Customer, Queue, Ticket
from contactcenter.hub import Hub
from contactcenter.pipeline.context import IngestContext
from contactcenter.pipeline.route import QueueRow, route_ticket
from contactcenter.routing.rules import PRIORITIES
from tests.factories import make_inbound
from tests.routing_factories import PRIORITY_RULES, prepare_queues, routing_settings

NEW_YORK = """
[routing.queues.support_us]
skills = []
sla_policy = "us"
calendar = "new_york"

[[routing.rules]]
name = "US calls"
when = { channel = ["voice"], ivr = ["1"] }
then = { queue = "support_us" }

[[routing.rules]]
name = "outages are incidents"
when = { keywords = ["outage", "down"] }
then = { type = "incident", queue = "support_us" }

[sla.policies.us]
first_response_hours = { normal = 4, high = 2 }
resolution_hours = { normal = 16 }
at_risk_ratio = 0.75
breach_raise_priority = true
breach_move_to_queue = ""

# These tests are about queue policies; complaints keep their queue's here
# (test_complaints_run_on_their_own_policy_by_default has the default).
[complaints]
sla_policy = ""

[calendars.new_york]
timezone = "America/New_York"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
holidays = [%s]
""" + PRIORITY_RULES
FRIDAY_EVENING = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 18:30 in New York


@pytest.fixture
async def make_hub(tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    hubs = []

    async def make(holidays: str = "") -> Hub:
        hub = Hub.create(routing_settings(tmp_path, NEW_YORK % holidays), database_url)
        await prepare_queues(hub)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.close()


async def route(hub: Hub, contact, now: datetime = FRIDAY_EVENING, tier: str = "") -> tuple[Ticket, QueueRow]:
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Alice", tier=tier)
        session.add(customer)
        await session.flush()
        ticket = Ticket(customer_id=customer.id, channel=contact.channel, type=contact.ticket_type or "question", created_at=now)
        session.add(ticket)
        await session.flush()
        ctx = IngestContext(hub=hub, session=session, contact=contact, now=now, customer=customer, ticket=ticket, ticket_created=True)
        await route_ticket([ctx])
        assert ctx.queue is not None
        return ticket, ctx.queue


async def test_friday_evening_ticket_falls_due_monday_at_the_right_hour_in_the_queues_zone(make_hub):
    hub = await make_hub()
    ticket, queue = await route(hub, make_inbound(channel=ChannelKind.VOICE, metadata={"ivr_choice": "1"}))
    assert queue.name == "support_us"
    # 4 business hours from Friday 18:30 EST: Monday 09:00-13:00 EST, i.e. 18:00 UTC.
    assert ticket.first_response_due_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    # 16 business hours: Monday and Tuesday, due Tuesday 17:00 EST.
    assert ticket.resolution_due_at == datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


async def test_a_holiday_on_monday_moves_the_due_time_to_tuesday(make_hub):
    hub = await make_hub('"2026-11-23"')
    ticket, _ = await route(hub, make_inbound(channel=ChannelKind.VOICE, metadata={"ivr_choice": "1"}))
    assert ticket.first_response_due_at == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


async def test_rules_set_type_and_priority_and_the_target_follows_priority(make_hub):
    hub = await make_hub()
    ticket, queue = await route(hub, make_inbound(text="Your site is down again", ticket_type=TicketType.COMPLAINT))
    # The first rule naming a type wins; "complaints first" looks at the type
    # as it stands by then (incident), so the priority stays normal.
    assert (queue.name, ticket.type, ticket.priority) == ("support_us", "incident", PRIORITIES["normal"])

    complaint, _ = await route(hub, make_inbound(text="Rude staff", ticket_type=TicketType.COMPLAINT), tier="")
    assert complaint.priority == PRIORITIES["high"]
    # A complaint lands in general: its calendar is "always" with the standard policy (4 h for high).
    assert complaint.first_response_due_at == datetime(2026, 11, 21, 3, 30, tzinfo=UTC)


async def test_a_priority_without_a_target_gets_no_due_time(make_hub):
    hub = await make_hub()
    ticket, _ = await route(hub, make_inbound(channel=ChannelKind.VOICE, metadata={"ivr_choice": "1"}, ticket_type=TicketType.COMPLAINT))
    assert ticket.priority == PRIORITIES["high"]
    assert ticket.first_response_due_at is not None and ticket.resolution_due_at is None


async def test_complaints_run_on_their_own_policy_by_default(tmp_path, monkeypatch, database_url):
    monkeypatch.chdir(tmp_path)
    hub = Hub.create(routing_settings(tmp_path, (NEW_YORK % "").replace('sla_policy = ""', 'sla_policy = "complaint"')), database_url)
    try:
        await prepare_queues(hub)
        complaint, queue = await route(hub, make_inbound(text="Rude staff", ticket_type=TicketType.COMPLAINT))
        question, _ = await route(hub, make_inbound(text="Opening hours?"))
    finally:
        await hub.close()
    # general runs on the "always" calendar: the complaint policy's 2 h for high, not standard's 4 h.
    assert queue.name == "general" and complaint.priority == PRIORITIES["high"]
    assert complaint.first_response_due_at == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert complaint.resolution_due_at == datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
    assert question.first_response_due_at == datetime(2026, 11, 21, 7, 30, tzinfo=UTC)  # standard: 8 h for normal


async def test_an_integrators_tier_hint_counts_only_where_the_record_has_none(make_hub):
    hub = await make_hub()
    vip_hint = {"tier": "VIP"}
    hinted, _ = await route(hub, make_inbound(channel=ChannelKind.API, customer_hints=vip_hint))
    assert hinted.priority == PRIORITIES["urgent"]
    # The record's own tier wins over a hint, and only the token-guarded JSON intake may hint.
    recorded, _ = await route(hub, make_inbound(channel=ChannelKind.API, customer_hints=vip_hint), tier="standard")
    from_form, _ = await route(hub, make_inbound(channel=ChannelKind.WEB, customer_hints=vip_hint))
    assert (recorded.priority, from_form.priority) == (PRIORITIES["normal"], PRIORITIES["normal"])


class Abandoned(Exception):
    """Raised to roll a test's transaction back."""


async def test_a_queue_made_in_a_transaction_that_rolled_back_is_made_again(hub):
    # No queues synced: the route step makes "general" when it first needs it.
    with pytest.raises(Abandoned):
        async with hub.sessions() as session, session.begin():
            customer = Customer(name="Alice")
            session.add(customer)
            await session.flush()
            ticket = Ticket(customer_id=customer.id, channel="api", created_at=FRIDAY_EVENING)
            session.add(ticket)
            ctx = IngestContext(hub=hub, session=session, contact=make_inbound(), now=FRIDAY_EVENING, customer=customer, ticket=ticket, ticket_created=True)
            await route_ticket([ctx])
            raise Abandoned
    ticket, queue = await route(hub, make_inbound())
    async with hub.sessions() as session:
        row = await session.get(Queue, ticket.queue_id)
    assert row is not None and row.name == queue.name == "general"


async def test_the_queue_row_is_read_once_per_process(make_hub):
    hub = await make_hub()
    await route(hub, make_inbound())
    statements: list[str] = []
    event.listen(hub.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    ticket, queue = await route(hub, make_inbound())
    assert (ticket.queue_id, queue.name) == (queue.id, "general")
    assert not [s for s in statements if "FROM queues" in s]
