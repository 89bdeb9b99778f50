"""Several hub processes assigning at once: never one ticket twice, never over capacity.

Each assigner gets its own engine and connection pool, as a separate hub
process would, so the only thing keeping them apart is the database's row
locks (PostgreSQL) or its write lock (SQLite).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select

from contactcenter.routing.assignment import WORKING_STATUSES, agent_loads, assign_waiting, effective_capacity, has_skills
from contactcenter.db.models import Agent, AuditEvent, Customer, Queue, Ticket, utcnow
from contactcenter.hub import Hub
from tests.routing_factories import routing_hub  # noqa: F401 - fixture

TICKETS = 1000
AGENTS = 50
ASSIGNERS = 4
CHANNELS = ("email", "sms", "voice", "web")
SKILL_SETS = ({}, {"billing": 3}, {"technical": 4}, {"billing": 2, "technical": 5})


async def _populate(hub: Hub, rng: random.Random) -> None:
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        queues = {q.name: q.id for q in await session.scalars(select(Queue))}
        # A queue whose skill nobody has: its tickets are not assignable.
        vault = Queue(name="vault", skills=["vault"])
        session.add(vault)
        await session.flush()
        queues["vault"] = vault.id
        agents = []
        for i in range(AGENTS):
            agents.append(
                {
                    "email": f"a{i}@example.com",
                    "name": f"Agent {i}",
                    "role": "agent",
                    "phone": f"+1206555{i:04d}",
                    "skills": SKILL_SETS[i % len(SKILL_SETS)],
                    "capacity": {"email": rng.randint(0, 25), "sms": rng.randint(0, 8), "voice": rng.randint(0, 1), "web": rng.randint(0, 15)},
                    # A few are not taking work at all.
                    "presence": "away" if i % 10 == 9 else "available",
                    "presence_changed_at": now,
                    "active": True,
                    "created_at": now,
                }
            )
        await session.execute(insert(Agent), agents)
        customer_ids = list(
            await session.scalars(
                insert(Customer).returning(Customer.id),
                [{"name": f"C{i}", "tier": "", "segments": [], "lifetime_value": 0.0, "notes": "", "company": "", "created_at": now, "updated_at": now} for i in range(TICKETS)],
            )
        )
        names = ["general"] * 5 + ["billing"] * 3 + ["technical"] * 3 + ["vault"]
        tickets = []
        for i, customer_id in enumerate(customer_ids):
            created = now - timedelta(seconds=rng.randint(0, 86400))
            tickets.append(
                {
                    "customer_id": customer_id,
                    "subject": f"T{i}",
                    "type": "question",
                    "status": "new",
                    "priority": rng.choice((1, 2, 2, 2, 3, 4)),
                    "queue_id": queues[rng.choice(names)],
                    "channel": rng.choice(CHANNELS),
                    "source_address": "",
                    "created_at": created,
                    "updated_at": created,
                    "last_activity_at": created,
                    "sla_state": "ok",
                }
            )
        await session.execute(insert(Ticket), tickets)


async def test_four_assigners_never_assign_twice_nor_overfill(routing_hub, database_url):
    hub = routing_hub
    await _populate(hub, random.Random(6))
    assigners = [Hub.create(hub.settings, database_url) for _ in range(ASSIGNERS)]
    try:
        placed = await asyncio.gather(*(assign_waiting(h, batch=10) for h in assigners))
    finally:
        for h in assigners:
            await h.close()

    async with hub.sessions() as session:
        assigned = list(await session.scalars(select(Ticket).where(Ticket.assignee_id.is_not(None))))
        audits = Counter(await session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "ticket.assigned")))
        agents = list(await session.scalars(select(Agent)))
        loads = await agent_loads(session, [a.id for a in agents])
        queues = {q.id: q for q in await session.scalars(select(Queue))}
        waiting = list(
            await session.scalars(select(Ticket).where(Ticket.assignee_id.is_(None), Ticket.status.in_(WORKING_STATUSES)))
        )
        total = await session.scalar(select(func.count()).select_from(Ticket))

    print(
        f"\n{database_url.split(':')[0]}: {total} tickets, {len(agents)} agents, {ASSIGNERS} assigners: "
        f"{len(assigned)} assigned (per assigner {placed}), {len(waiting)} left waiting"
    )
    # No ticket assigned twice: every placement is one ticket, recorded once.
    assert sum(placed) == len(assigned) == len(audits)
    assert set(audits.values()) == {1}
    # No capacity exceeded, no work to an agent who was not available.
    by_id = {a.id: a for a in agents}
    for agent_id, load in loads.items():
        agent = by_id[agent_id]
        assert agent.presence == "available"
        capacity = effective_capacity(agent, hub.settings)
        assert all(count <= capacity.get(channel, 0) for channel, count in load.items()), (agent_id, load, capacity)
    for ticket in assigned:
        assert has_skills(by_id[ticket.assignee_id].skills, queues[ticket.queue_id].skills)
    # Every assignable ticket assigned: what still waits has no agent with the
    # skills and room on its channel.
    for ticket in waiting:
        for agent in agents:
            if agent.presence != "available" or not has_skills(agent.skills, queues[ticket.queue_id].skills):
                continue
            room = effective_capacity(agent, hub.settings).get(ticket.channel, 0) - loads.get(agent.id, {}).get(ticket.channel, 0)
            assert room <= 0, f"ticket {ticket.id} ({ticket.channel}, {queues[ticket.queue_id].name}) could go to agent {agent.id}"
    assert any(queues[t.queue_id].name == "vault" for t in waiting)
    assert len(assigned) > 300  # the scenario really exercises contention
