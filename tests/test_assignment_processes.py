"""Two real `contactcenter serve` processes on one PostgreSQL, both assigning."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest
from sqlalchemy import func, select

from contactcenter.routing.assignment import agent_loads
from contactcenter.db.models import Agent, AuditEvent, Ticket
from tests.hubprocess import HubProcess
from tests.polling import eventually
from tests.routing_factories import make_agent, make_ticket, routing_hub  # noqa: F401 - fixture

QUEUES = {
    "general": {"skills": [], "sla_policy": "standard", "calendar": "always"},
    "billing": {"skills": ["billing"], "sla_policy": "standard", "calendar": "always"},
    "technical": {"skills": ["technical"], "sla_policy": "standard", "calendar": "always"},
}


async def test_two_serving_hubs_share_the_work_without_overlap(routing_hub, database_url, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("row locks between processes are PostgreSQL's part; SQLite has one writer at a time")
    hub = routing_hub
    async with hub.sessions() as session, session.begin():
        for i in range(10):
            await make_agent(session, skills={"billing": 1} if i % 2 else {"technical": 1}, capacity={"email": 10, "sms": 4})
        for i in range(80):
            await make_ticket(session, ("general", "billing", "technical")[i % 3], channel="email" if i % 4 else "sms", age_minutes=i)
    sections = {"routing": {"assign_interval_seconds": 0.2, "queues": QUEUES}, "tickets": {"auto_acknowledge": False}}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    hubs = [HubProcess(tmp_path / name, database_url, sections) for name in ("one", "two")]
    try:
        await asyncio.gather(*(h.start() for h in hubs))

        async def all_assigned() -> bool:
            return await assigned_count(hub) == 80

        with contextlib.suppress(AssertionError):  # the count is asserted below, with the hubs' logs
            await eventually(all_assigned, 20, "80 tickets assigned", interval=0.05)
    finally:
        for h in hubs:
            await h.stop()
    assigned = await assigned_count(hub)
    async with hub.sessions() as session:
        audits = Counter(await session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "ticket.assigned")))
        per_ticket = Counter(await session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "ticket.assigned")))
        agents = list(await session.scalars(select(Agent)))
        loads = await agent_loads(session, [a.id for a in agents])
    assert assigned == 80, hubs[0].log() + hubs[1].log()
    assert set(per_ticket.values()) == {1} and len(per_ticket) == 80
    assert audits == {"system": 80}
    for agent in agents:
        load = loads.get(agent.id, {})
        assert load.get("email", 0) <= 10 and load.get("sms", 0) <= 4


async def assigned_count(hub) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_not(None)))
