"""The assigner on a real database (SQLite and PostgreSQL): who gets what, and when."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from contactcenter.actions import do_reply
from contactcenter.routing.assignment import agent_loads, assign_waiting
from contactcenter.contact import TicketType
from contactcenter.db.models import AuditEvent, ContactPoint, Customer, Interaction, Ticket
from contactcenter.pipeline.run import ingest
from contactcenter.routing.presence import do_call_started, do_call_ended, do_set_presence
from contactcenter.routing.rules import PRIORITIES
from tests.factories import ALICE_EMAIL, make_inbound
from tests.routing_factories import make_agent, make_ticket, routing_hub  # noqa: F401 - fixture


async def assignee_of(hub, ticket_id: int) -> int | None:
    async with hub.sessions() as session:
        return await session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id))


async def test_vip_complaint_overtakes_older_normal_tickets(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"api": 1})
        older = [(await make_ticket(session, channel="api", age_minutes=age)).id for age in (30, 20, 10)]
        vip = Customer(name="Alice Example", tier="VIP")
        session.add(vip)
        await session.flush()
        session.add(ContactPoint(customer_id=vip.id, kind="email", value=ALICE_EMAIL, evidence="verified"))

    result = await ingest(hub, make_inbound(ticket_type=TicketType.COMPLAINT, text="You charged me twice!"))

    async with hub.sessions() as session:
        complaint = await session.get_one(Ticket, result.ticket_id)
    assert complaint.priority == PRIORITIES["urgent"]  # both rules applied: complaint high, VIP urgent
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, result.ticket_id) == agent.id
    assert [await assignee_of(hub, t) for t in older] == [None, None, None]


async def test_oldest_goes_first_among_equals(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"email": 1})
        newer = await make_ticket(session, age_minutes=5)
        oldest = await make_ticket(session, age_minutes=50)
    await assign_waiting(hub)
    assert (await assignee_of(hub, oldest.id), await assignee_of(hub, newer.id)) == (agent.id, None)


async def test_agent_without_the_skill_never_gets_the_ticket(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        await make_agent(session, skills={"technical": 5})
        await make_agent(session, skills={"billing": 0, "technical": 3})  # level 0: skill withdrawn
        ticket = await make_ticket(session, "billing")
    assert await assign_waiting(hub) == 0
    assert await assignee_of(hub, ticket.id) is None

    async with hub.sessions() as session, session.begin():
        billing = await make_agent(session, skills={"billing": 2})
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, ticket.id) == billing.id


async def test_capacity_limits_hold_per_channel(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"email": 2, "sms": 1, "voice": 0})
        emails = [await make_ticket(session, channel="email", age_minutes=10 - i) for i in range(4)]
        for i in range(3):
            await make_ticket(session, channel="sms", age_minutes=5 - i)
        await make_ticket(session, channel="voice")
    assert await assign_waiting(hub) == 3
    async with hub.sessions() as session:
        assert (await agent_loads(session, [agent.id]))[agent.id] == {"email": 2, "sms": 1}

    # Work waiting on the customer takes no room: the next email goes out.
    async with hub.sessions() as session, session.begin():
        (await session.get_one(Ticket, emails[0].id)).status = "pending"
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, emails[2].id) == agent.id
    async with hub.sessions() as session:
        assert (await agent_loads(session, [agent.id]))[agent.id] == {"email": 2, "sms": 1}


async def test_previous_agent_gets_the_follow_up_when_free(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        idle = await make_agent(session, name="Idle", capacity={"email": 3})
        served = await make_agent(session, name="Served before", capacity={"email": 2})
        first = await make_ticket(session, age_minutes=60 * 24)
        first.status, first.assignee_id = "resolved", served.id
        session.add(
            Interaction(ticket_id=first.id, customer_id=first.customer_id, channel="email", direction="outbound", author_agent_id=served.id, text="Done!")
        )
        customer = await session.get_one(Customer, first.customer_id)
        busy_with = await make_ticket(session)
        busy_with.assignee_id, busy_with.status = served.id, "open"  # more loaded than `idle`
        follow_up = await make_ticket(session, customer=customer)
    await assign_waiting(hub)
    assert await assignee_of(hub, follow_up.id) == served.id

    # When that agent has no room, the follow-up goes to someone else.
    async with hub.sessions() as session, session.begin():
        second = await make_ticket(session, customer=customer)
    await assign_waiting(hub)
    assert await assignee_of(hub, second.id) == idle.id


async def test_least_loaded_agent_gets_new_work(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        loaded = await make_agent(session, capacity={"email": 5})
        light = await make_agent(session, capacity={"email": 5})
        for _ in range(2):
            t = await make_ticket(session)
            t.assignee_id, t.status = loaded.id, "open"
        ticket = await make_ticket(session)
    await assign_waiting(hub)
    assert await assignee_of(hub, ticket.id) == light.id


async def test_going_offline_releases_unstarted_work(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        leaving = await make_agent(session, capacity={"email": 2})
        started = await make_ticket(session, age_minutes=2)
        unstarted = await make_ticket(session, age_minutes=1)
        session.add(ContactPoint(customer_id=started.customer_id, kind="email", value="carol@example.com", evidence="verified"))
    assert await assign_waiting(hub) == 2
    async with hub.sessions() as session, session.begin():
        ticket = await session.get_one(Ticket, started.id)
        await do_reply(session, hub.settings, ticket, "Looking into it.", author_agent_id=leaving.id)
        _, events = await do_set_presence(session, leaving.id, "offline", actor=f"agent:{leaving.id}")
        released = [e.data["ticket_id"] for e in events if e.kind == "ticket.released"]
    assert released == [unstarted.id]
    assert (await assignee_of(hub, started.id), await assignee_of(hub, unstarted.id)) == (leaving.id, None)

    async with hub.sessions() as session, session.begin():
        other = await make_agent(session)
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, unstarted.id) == other.id
    async with hub.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == unstarted.id).order_by(AuditEvent.id)))
    assert actions == ["ticket.assigned", "ticket.released", "ticket.assigned"]


async def test_a_call_in_progress_makes_the_agent_busy_for_voice_only(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        agent = await make_agent(session, capacity={"voice": 1, "email": 1})
        await do_call_started(session, agent.id, call_id="CA123")
        call = await make_ticket(session, channel="voice")
        mail = await make_ticket(session, channel="email")
    assert await assign_waiting(hub) == 1
    assert (await assignee_of(hub, call.id), await assignee_of(hub, mail.id)) == (None, agent.id)
    async with hub.sessions() as session, session.begin():
        await do_call_ended(session, agent.id, call_id="CA123")
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, call.id) == agent.id


async def test_away_and_busy_agents_get_no_new_work(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        await make_agent(session, presence="away")
        await make_agent(session, presence="busy")
        await make_agent(session, presence="offline")
        await make_ticket(session)
    assert await assign_waiting(hub) == 0
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_not(None))) == 0


def test_among_equally_loaded_agents_the_longest_idle_is_chosen():
    from datetime import UTC, datetime

    from contactcenter.routing.assignment import AgentSlot, choose_agent

    recent = AgentSlot(1, {}, {"email": 3}, {"email": 1}, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    idle = AgentSlot(2, {}, {"email": 3}, {"email": 1}, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    never = AgentSlot(3, {}, {"email": 3}, {"email": 1, "sms": 1}, None)  # idle longest, but more in hand
    assert choose_agent("email", [], [recent, idle, never], previous=None) is idle
    assert choose_agent("email", [], [recent, idle, never], previous=1) is recent
    assert choose_agent("sms", [], [recent, idle, never], previous=None) is None


async def test_the_higher_skill_level_wins_before_load_and_idle_time(routing_hub):
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        # The novice is idle and empty-handed; the expert already holds one ticket.
        novice = await make_agent(session, skills={"billing": 1}, capacity={"email": 3})
        expert = await make_agent(session, skills={"billing": 4}, capacity={"email": 3})
        held = await make_ticket(session, "billing", age_minutes=60)
        held.assignee_id, held.status = expert.id, "open"
        ticket = await make_ticket(session, "billing")
    assert await assign_waiting(hub) == 1
    assert await assignee_of(hub, ticket.id) == expert.id
    async with hub.sessions() as session:
        assert (await agent_loads(session, [novice.id]))[novice.id] == {}


def test_skill_levels_rank_agents_and_ties_fall_back_to_load():
    from contactcenter.routing.assignment import AgentSlot, choose_agent

    low = AgentSlot(1, {"billing": 2, "refunds": 1}, {"email": 3}, {})
    high = AgentSlot(2, {"billing": 3, "refunds": 2}, {"email": 3}, {"email": 2})
    same_but_busier = AgentSlot(3, {"billing": 3, "refunds": 2}, {"email": 3}, {"email": 2, "sms": 1})
    assert choose_agent("email", ["billing", "refunds"], [low, high, same_but_busier], previous=None) is high
    assert choose_agent("email", [], [low, high], previous=None) is low  # no skills asked: load decides
    assert choose_agent("email", ["billing"], [low, high], previous=1) is low  # the customer's own agent first


async def test_a_round_with_nothing_to_place_does_not_wait_for_the_write_lock(routing_hub):
    """On SQLite the assigner wakes on every new ticket; while the ingest writer
    holds the write lock, a round with no agent free must not queue behind it."""
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        await make_ticket(session, channel="api")  # waiting, and nobody available to take it
    async with hub.sessions() as writer, writer.begin():
        await writer.execute(select(func.count()).select_from(Ticket))  # BEGIN IMMEDIATE on SQLite: the lock is held
        async with asyncio.timeout(5):  # far below the busy timeout a lock wait would take
            assert await assign_waiting(hub) == 0
