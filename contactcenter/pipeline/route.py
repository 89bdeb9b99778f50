"""Step: give a new ticket its queue, priority, type and SLA due times.

The routing rules (`contactcenter.routing.rules`) decide from the channel, the
address the contact came in through, the caller's menu choice, keywords, and
the customer's tier and segments. The queue's SLA policy then sets when the
first answer and the resolution fall due, in the queue's business hours.
Follow-ups keep the queue, priority and assignee their ticket already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from contactcenter.db.models import Customer, Queue
from contactcenter.pipeline.context import IngestContext
from contactcenter.routing.rules import RoutingFacts, choose_route
from contactcenter.settings import Settings
from contactcenter.routing.sla import sla_terms, start_clocks, ticket_policy

# The key voice puts the caller's menu choice under in InboundContact.metadata.
IVR_CHOICE = "ivr_choice"
# session.info key: names of the queues the session inserted (get_or_create_queue).
CREATED_QUEUES = "created_queues"


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A queue's row as plain values: safe to keep beyond the session that read it."""

    id: int
    name: str
    sla_policy: str
    calendar: str


# Per database (engine), for the life of the process: queue name -> its row.
# Queues are never deleted and their terms are written only at start-up
# (sync_queues), so a row, once read, saves a read for every later new ticket.
_queue_rows: WeakKeyDictionary[AsyncEngine, dict[str, QueueRow]] = WeakKeyDictionary()


async def route_ticket(batch: list[IngestContext]) -> None:
    """Contact by contact: the rules decide from each one's own facts."""
    for ctx in batch:
        await route_one(ctx)


async def route_one(ctx: IngestContext) -> None:
    assert ctx.ticket is not None and ctx.customer is not None
    if not ctx.ticket_created:
        return
    settings = ctx.hub.settings
    decision = choose_route(settings, routing_facts(ctx))
    ctx.queue = await find_queue_row(ctx, decision.queue)
    ctx.rules_fired = decision.rules
    ctx.ticket.queue_id = ctx.queue.id
    ctx.ticket.priority = decision.priority
    ctx.ticket.type = decision.type
    policy = ticket_policy(settings, ctx.queue.sla_policy, ctx.ticket.type)
    start_clocks(ctx.ticket, sla_terms(settings, policy, ctx.queue.calendar), ctx.now)


async def find_queue_row(ctx: IngestContext, name: str) -> QueueRow:
    """The queue named `name` (made when missing), read once per process.

    A queue this session inserted is not kept: its transaction may yet roll back.
    """
    known = _queue_rows.setdefault(ctx.hub.engine, {})
    row = known.get(name)
    if row is None:
        queue = await get_or_create_queue(ctx.session, name, ctx.hub.settings)
        row = QueueRow(id=queue.id, name=queue.name, sla_policy=queue.sla_policy, calendar=queue.calendar)
        if name not in ctx.session.info.get(CREATED_QUEUES, ()):
            known[name] = row
    return row


def routing_facts(ctx: IngestContext) -> RoutingFacts:
    contact, customer = ctx.contact, ctx.customer
    assert customer is not None and ctx.ticket is not None
    return RoutingFacts(
        channel=contact.channel,
        address=contact.source_address,
        ivr=str(contact.metadata.get(IVR_CHOICE, "")),
        text=f"{contact.subject}\n{contact.text}",
        tier=customer_tier(customer, contact.channel, contact.customer_hints),
        segments=tuple(str(s) for s in (customer.segments or ())),
        type=ctx.ticket.type,
    )


def customer_tier(customer: Customer, channel: str, hints: dict) -> str:
    """The record's tier; an integrator's hint (JSON intake, behind a token) only fills a gap."""
    if customer.tier:
        return customer.tier
    hinted = hints.get("tier") if channel == "api" else None
    return hinted if isinstance(hinted, str) else ""


async def get_or_create_queue(session: AsyncSession, name: str, settings: Settings | None = None) -> Queue:
    """The queue row by name. Configured queues are written at start-up; a queue
    named only elsewhere (say a mailbox address) is made here, with its
    configured terms when there are any."""
    queue = await session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        queue = Queue(name=name)
        configured = settings.routing.queues.get(name) if settings else None
        if configured is not None:
            queue.skills, queue.sla_policy, queue.calendar = list(configured.skills), configured.sla_policy, configured.calendar
        session.add(queue)
        await session.flush()
        session.info.setdefault(CREATED_QUEUES, set()).add(name)
    return queue


async def sync_queues(session: AsyncSession, settings: Settings) -> None:
    """Write the configured queues' skills, policy and calendar to their rows.

    Run at start-up; queues no longer configured keep their rows, since tickets
    still point at them.
    """
    existing = {q.name: q for q in await session.scalars(select(Queue))}
    for name, configured in settings.routing.queues.items():
        queue = existing.get(name)
        if queue is None:
            queue = Queue(name=name)
            session.add(queue)
        queue.skills, queue.sla_policy, queue.calendar = list(configured.skills), configured.sla_policy, configured.calendar
