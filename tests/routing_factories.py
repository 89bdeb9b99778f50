"""Building blocks for routing tests: agents, waiting tickets, a routing config."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, Customer, Queue, Ticket, utcnow
from contactcenter.pipeline.route import sync_queues
from contactcenter.hub import Hub
from contactcenter.settings import Settings, load_settings

_n = itertools.count(1)

# Three queues: anyone may take general work; billing and technical need skills.
ROUTING_TOML = """
[http]
secret_key = "test-secret"
[tickets]
auto_acknowledge = false
[routing.queues.general]
skills = []
sla_policy = "standard"
calendar = "always"
[routing.queues.billing]
skills = ["billing"]
sla_policy = "standard"
calendar = "always"
[routing.queues.technical]
skills = ["technical"]
sla_policy = "standard"
calendar = "always"
"""

# The documented default's priority rules, for configs that replace the rule list.
PRIORITY_RULES = """
[[routing.rules]]
name = "complaints first"
when = { type = ["complaint"] }
then = { priority = "high" }

[[routing.rules]]
name = "VIP customers first"
when = { tier = ["VIP"] }
then = { priority = "urgent" }
"""


def routing_settings(tmp_path: Path, extra: str = "") -> Settings:
    """Settings from a real TOML file, so the start-up checks run on it."""
    path = tmp_path / "routing.toml"
    path.write_text(ROUTING_TOML + extra)
    # Any free port for the SMTP receiver: test runs may go on side by side.
    return load_settings(path, environ={"CONTACTCENTER_EMAIL_SMTP_PORT": "0"})


async def make_agent(
    session: AsyncSession,
    *,
    skills: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
    presence: str = "available",
    role: str = "agent",
    name: str = "",
    phone: str | None = None,
) -> Agent:
    n = next(_n)
    agent = Agent(
        email=f"agent{n}@example.com",
        phone=phone if phone is not None else f"+1206555{n % 10000:04d}",  # reachable for calls
        name=name or f"Agent {n}",
        role=role,
        skills=skills or {},
        capacity=capacity if capacity is not None else {"email": 2, "sms": 1, "voice": 1, "web": 2, "api": 2},
        presence=presence,
    )
    session.add(agent)
    await session.flush()
    return agent


async def queue_id(session: AsyncSession, name: str) -> int:
    return await session.scalar(select(Queue.id).where(Queue.name == name))


async def make_ticket(
    session: AsyncSession,
    queue: str = "general",
    *,
    channel: str = "email",
    priority: int = 2,
    age_minutes: float = 0,
    customer: Customer | None = None,
    tier: str = "",
    ticket_type: str = "question",
    now: datetime | None = None,
) -> Ticket:
    if customer is None:
        customer = Customer(name=f"Customer {next(_n)}", tier=tier)
        session.add(customer)
        await session.flush()
    created = (now or utcnow()) - timedelta(minutes=age_minutes)
    ticket = Ticket(
        customer_id=customer.id,
        subject="Help",
        type=ticket_type,
        channel=channel,
        priority=priority,
        queue_id=await queue_id(session, queue),
        created_at=created,
        last_activity_at=created,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def prepare_queues(hub) -> None:
    async with hub.sessions() as session, session.begin():
        await sync_queues(session, hub.settings)


@asynccontextmanager
async def hub_with_queues(tmp_path: Path, database_url: str, extra: str = "") -> AsyncIterator[Hub]:
    """A hub on `database_url` with the three queues above (and `extra` TOML) written to it."""
    hub = Hub.create(routing_settings(tmp_path, extra), database_url)
    await prepare_queues(hub)
    try:
        yield hub
    finally:
        await hub.close()


@pytest.fixture
async def routing_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> AsyncIterator[Hub]:
    """A hub on a fresh database with the three queues above written to it."""
    monkeypatch.chdir(tmp_path)
    async with hub_with_queues(tmp_path, database_url) as hub:
        yield hub
