"""The assigner: waiting tickets to available agents, each ticket to one agent only.

Borrowing Twilio TaskRouter's model: an agent (a "worker") has skills and a
capacity per channel (a "task channel": say 1 call, 3 SMS conversations, 6
emails at once); a ticket waits in its queue until an available agent with the
queue's skills and free capacity on the ticket's channel takes it. The highest
priority goes first, then the longest waiting; the agent who last served the
customer is preferred when free, then the most skilled (the highest sum of
levels in the queue's skills), then the least loaded, then the longest idle.

Several hub processes may assign at once on one PostgreSQL. Each round locks
the tickets it will place with `FOR UPDATE SKIP LOCKED` (no two rounds hold one
ticket) and locks the agent rows it will load the same way (no two rounds fill
one agent's capacity), counting each agent's load only after its lock is held.
Nobody waits on a lock, so rounds cannot deadlock; a round that found work
held by another simply runs again. On SQLite, `BEGIN IMMEDIATE` serialises
rounds. An agent going offline hands back the work they had not started.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db.models import Agent, Interaction, Queue, Ticket, utcnow
from contactcenter.errors import ConflictError
from contactcenter.events import Event, run_periodically
from contactcenter.hub import Hub
from contactcenter.settings import Settings
from contactcenter.voice.reach import is_reachable

log = logging.getLogger(__name__)

# Statuses in which a ticket waits for an agent or counts against one's capacity
# (pending work waits on the customer and takes no room, as in Zendesk).
WORKING_STATUSES = ("new", "open")
CLOSED_STATUSES = ("resolved", "closed")
BATCH_SIZE = 20
# Events after which there may be work to place or room to place it.
TRIGGERS = frozenset(
    {"ticket.created", "ticket.released", "ticket.transferred", "agent.presence", "agent.call", "interaction.created", "sla.breached"}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class AgentSlot:
    """One agent as a round sees them: skills, room per channel, work in hand."""

    id: int
    skills: dict[str, int]
    capacity: dict[str, int]
    load: dict[str, int] = field(default_factory=dict)
    last_assigned_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.load.values())

    def has_room(self, channel: str) -> bool:
        return self.load.get(channel, 0) < self.capacity.get(channel, 0)

    def has_skills(self, required: list[str]) -> bool:
        return has_skills(self.skills, required)


@dataclass(frozen=True, slots=True)
class RoundResult:
    assigned: list[tuple[int, int]]  # (ticket id, agent id)
    contended: bool  # work or agents were held by another round: try again


def effective_capacity(agent: Agent, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """The agent's own capacity over the configured defaults; none for voice
    while on a call or wrapping one up, or when no phone can reach them."""
    capacity = {**settings.routing.default_capacity, **{k: int(v) for k, v in (agent.capacity or {}).items()}}
    if not takes_calls_now(agent, now or utcnow()):
        capacity["voice"] = 0
    return capacity


def takes_calls_now(agent: Agent, now: datetime) -> bool:
    """Not on a call, not wrapping one up, and reachable (`voice.reach`)."""
    if agent.on_call_since is not None or (agent.wrap_up_until is not None and agent.wrap_up_until > now):
        return False
    return is_reachable(agent, now)


def choose_agent(channel: str, required: list[str], slots: list[AgentSlot], previous: int | None) -> AgentSlot | None:
    """Pure choice among agents: the customer's previous agent when free, else the
    most skilled in `required`, then the least loaded on the channel, then the
    least loaded overall, then the longest idle.

    Continuity comes before skill: the customer's own agent knows the case,
    which a higher level elsewhere does not make up for."""
    eligible = [s for s in slots if s.has_skills(required) and s.has_room(channel)]
    for slot in eligible:
        if slot.id == previous:
            return slot
    if not eligible:
        return None
    return min(
        eligible,
        key=lambda s: (
            -skill_level(s.skills, required),
            s.load.get(channel, 0) / s.capacity[channel],
            s.total,
            s.last_assigned_at or _EPOCH,
            s.id,
        ),
    )


async def assign_round(hub: Hub, batch: int = BATCH_SIZE) -> RoundResult:
    """Place up to `batch` waiting tickets in one transaction; publish after commit.

    The round first looks, without a write lock, whether anything could be
    placed: the assigner wakes on every new ticket and interaction, and on
    SQLite an empty round taking the write lock each time would make the
    ingest writer wait for nothing.
    """
    async with hub.reads() as session:
        if not await _has_placeable_work(session, hub.settings):
            return RoundResult([], False)
    events: list[Event] = []
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        result = await _assign_in(session, hub.settings, batch, now, events)
    hub.bus.publish_all(events)
    return result


@dataclass
class _Candidates:
    """What a round sees before locking: queues, available agents, and the waiting tickets they could take."""

    queues: dict[int, Queue]
    slots: list[AgentSlot]
    waiting: Select[Ticket]


async def _candidates(session: AsyncSession, settings: Settings) -> _Candidates | None:
    """None when no available agent has room for any queue's work."""
    queues = {q.id: q for q in await session.scalars(select(Queue))}
    agents = list(await session.scalars(_available_agents()))
    slots = await _slots(session, settings, agents)
    channels = _channels_with_room(slots)
    placeable = [
        and_(Ticket.queue_id == queue.id, Ticket.channel == channel)
        for queue in queues.values()
        for channel in channels
        if any(s.has_skills(queue.skills) and s.has_room(channel) for s in slots)
    ]
    if not placeable:
        return None
    return _Candidates(queues, slots, _waiting().where(or_(*placeable)))


async def _has_placeable_work(session: AsyncSession, settings: Settings) -> bool:
    candidates = await _candidates(session, settings)
    return candidates is not None and bool(await session.scalar(select(exists(candidates.waiting.subquery().select()))))


async def _assign_in(session: AsyncSession, settings: Settings, batch: int, now: datetime, events: list[Event]) -> RoundResult:
    candidates = await _candidates(session, settings)
    if candidates is None:
        return RoundResult([], False)
    queues, slots, waiting = candidates.queues, candidates.slots, candidates.waiting
    tickets = list(
        await session.scalars(
            waiting.order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id).limit(batch).with_for_update(skip_locked=True)
        )
    )
    if not tickets:
        # Nothing free to lock: either nothing waits, or another round holds it.
        held = await session.scalar(select(func.count()).select_from(waiting.subquery()))
        return RoundResult([], bool(held))

    # Every locked ticket has a queue (`_waiting` asks for one).
    required = {t.id: list(queues[t.queue_id].skills) for t in tickets if t.queue_id is not None}
    wanted = {s.id for s in slots if any(s.has_skills(skills) for skills in required.values())}
    locked = list(
        await session.scalars(
            _available_agents()
            .where(Agent.id.in_(wanted))
            .order_by(Agent.id)
            .with_for_update(skip_locked=True)
            # Read the rows again under the lock, not the copies loaded above.
            .execution_options(populate_existing=True)
        )
    )
    # Loads counted again now the agent rows are ours: nobody else can add to them.
    fresh = {s.id: s for s in await _slots(session, settings, locked)}
    # Agents held elsewhere, or loads that changed since the first look (which
    # chose the tickets), mean another round may leave work this one can place.
    before = {s.id: s.load for s in slots}
    contended = len(locked) < len(wanted) or any(before.get(i) != s.load for i, s in fresh.items())
    previous = await previous_agents(session, tickets)
    assigned = []
    for ticket in tickets:
        slot = choose_agent(ticket.channel, required[ticket.id], list(fresh.values()), previous.get(ticket.id))
        if slot is None:
            continue
        slot.load[ticket.channel] = slot.load.get(ticket.channel, 0) + 1
        slot.last_assigned_at = now
        events.extend(_assign(session, ticket, slot.id, now, actor="system", reason="routing"))
        assigned.append((ticket.id, slot.id))
    for agent in locked:
        if fresh[agent.id].last_assigned_at == now:
            agent.last_assigned_at = now
    return RoundResult(assigned, contended)


def _channels_with_room(slots: list[AgentSlot]) -> set[str]:
    return {channel for s in slots for channel, count in s.capacity.items() if count > 0}


def _available_agents() -> Select[Agent]:
    return select(Agent).where(Agent.active.is_(True), Agent.presence == "available")


def _waiting() -> Select[Ticket]:
    return select(Ticket).where(
        Ticket.status.in_(WORKING_STATUSES), Ticket.assignee_id.is_(None), Ticket.queue_id.is_not(None)
    )


async def _slots(session: AsyncSession, settings: Settings, agents: list[Agent]) -> list[AgentSlot]:
    loads = await agent_loads(session, [a.id for a in agents])
    return [
        AgentSlot(
            id=a.id,
            skills=dict(a.skills or {}),
            capacity=effective_capacity(a, settings),
            load=loads.get(a.id, {}),
            last_assigned_at=a.last_assigned_at,
        )
        for a in agents
    ]


async def agent_loads(session: AsyncSession, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    """agent id -> channel -> tickets in hand (new or open)."""
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    if agent_ids:
        rows = await session.execute(
            select(Ticket.assignee_id, Ticket.channel, func.count())
            .where(Ticket.assignee_id.in_(agent_ids), Ticket.status.in_(WORKING_STATUSES))
            .group_by(Ticket.assignee_id, Ticket.channel)
        )
        for agent_id, channel, count in rows:
            if agent_id is not None:  # always, given the filter; said for the type checker
                loads[agent_id][channel] = count
    return loads


async def previous_agents(session: AsyncSession, tickets: list[Ticket]) -> dict[int, int]:
    """ticket id -> the agent who last served its customer: the last to answer
    them, else the assignee of their latest other ticket."""
    customers = {t.customer_id for t in tickets}
    last_reply = (
        select(Interaction.customer_id, func.max(Interaction.id).label("id"))
        .where(Interaction.customer_id.in_(customers), Interaction.direction == "outbound", Interaction.author_agent_id.is_not(None))
        .group_by(Interaction.customer_id)
        .subquery()
    )
    by_customer = dict(
        (await session.execute(select(Interaction.customer_id, Interaction.author_agent_id).join(last_reply, Interaction.id == last_reply.c.id))).all()
    )
    found = {}
    for ticket in tickets:
        agent_id = by_customer.get(ticket.customer_id)
        if agent_id is None:
            agent_id = await session.scalar(
                select(Ticket.assignee_id)
                .where(Ticket.customer_id == ticket.customer_id, Ticket.id != ticket.id, Ticket.assignee_id.is_not(None))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        if agent_id is not None:
            found[ticket.id] = agent_id
    return found


def _assign(session: AsyncSession, ticket: Ticket, agent_id: int, now: datetime, *, actor: str, reason: str) -> list[Event]:
    ticket.assignee_id = agent_id
    ticket.assigned_at = now
    status = {}
    if ticket.status == "new":
        ticket.status = "open"
        status = {"status": {"from": "new", "to": "open"}}
    audit(session, actor, "ticket.assigned", ticket, agent_id=agent_id, queue_id=ticket.queue_id, reason=reason, **status)
    return [Event("ticket.assigned", {"ticket_id": ticket.id, "agent_id": agent_id, "queue_id": ticket.queue_id})]


async def assign_waiting(hub: Hub, batch: int = BATCH_SIZE) -> int:
    """Assign until nothing more can be placed; returns how many were placed."""
    total = 0
    while True:
        result = await assign_round(hub, batch)
        total += len(result.assigned)
        if result.assigned:
            continue
        if not result.contended:
            return total
        # Another process holds the work or the agents; let it finish first.
        await asyncio.sleep(random.uniform(0.005, 0.05))


async def release_unstarted(session: AsyncSession, agent: Agent, actor: str) -> list[Event]:
    """Hand back to the queue the agent's work with no reply from them since it was assigned."""
    replied = exists().where(
        Interaction.ticket_id == Ticket.id,
        Interaction.direction == "outbound",
        Interaction.author_agent_id == agent.id,
        Interaction.created_at >= Ticket.assigned_at,
    )
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.assignee_id == agent.id, Ticket.status.in_(WORKING_STATUSES), ~replied)
            .with_for_update()
        )
    )
    events = []
    for ticket in tickets:
        ticket.assignee_id = None
        ticket.assigned_at = None
        audit(session, actor, "ticket.released", ticket, agent_id=agent.id, reason="agent went offline")
        events.append(Event("ticket.released", {"ticket_id": ticket.id, "agent_id": agent.id, "queue_id": ticket.queue_id}))
    return events


async def do_transfer(
    session: AsyncSession, ticket: Ticket, *, queue: Queue | None, agent: Agent | None, actor: str, reason: str = "transfer"
) -> list[Event]:
    """Move a ticket to another queue (back in line there) and/or to a named agent.

    A person's choice of agent overrides capacity and presence, as a direct
    transfer does in TaskRouter; the assigner itself never exceeds capacity.
    """
    if ticket.status in CLOSED_STATUSES:
        raise ConflictError(f"ticket {ticket.reference} is {ticket.status}; reopen it first", code="ticket_closed")
    if agent is not None and not agent.active:
        raise ConflictError(f"agent {agent.id} is deactivated", code="agent_inactive")
    now = utcnow()
    before = {"queue_id": ticket.queue_id, "agent_id": ticket.assignee_id}
    if queue is not None:
        ticket.queue_id = queue.id
    if agent is None:
        ticket.assignee_id = ticket.assigned_at = None
    after = {"queue_id": ticket.queue_id, "agent_id": agent.id if agent else None}
    audit(session, actor, "ticket.transferred", ticket, reason=reason, **{"from": before, "to": after})
    events = [Event("ticket.transferred", {"ticket_id": ticket.id, **after})]
    if agent is not None:
        agent.last_assigned_at = now
        events += _assign(session, ticket, agent.id, now, actor=actor, reason=reason)
    return events


def has_skills(skills: dict[str, int], required: list[str]) -> bool:
    """Every required skill at a level above 0 (levels are 1..5; 0 means "not any more")."""
    return all(_level(skills.get(skill)) > 0 for skill in required)


def skill_level(skills: dict[str, int], required: list[str]) -> float:
    """How well an agent fits a queue: the sum of their levels in its skills."""
    return sum(_level(skills.get(skill)) for skill in required)


def _level(value: object) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class Assigner:
    """Runs inside `contactcenter serve`: assigns when work or room appears, and
    sweeps every `assign_interval_seconds` for what other processes changed."""

    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(
            self.hub.bus, self.assign, every=self.hub.settings.routing.assign_interval_seconds, wake_on=TRIGGERS, name="assigner"
        )

    async def assign(self) -> None:
        placed = await assign_waiting(self.hub)
        if placed:
            log.info("assigner: placed %d tickets", placed)
