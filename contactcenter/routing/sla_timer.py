"""The SLA timer: marks tickets at risk and breached, and applies the breach policy.

Runs inside `contactcenter serve` every `[sla] check_seconds`. Each pass first
settles pending spells that ended (moving due times on), then looks at every
ticket with a running clock. A ticket turning at risk publishes `sla.at_risk`;
one turning breached gets its policy applied once (priority raised, moved to
another queue) with an audit event, and publishes `sla.breached`. Tickets are
locked with SKIP LOCKED, so several hub processes never apply a policy twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.routing.assignment import WORKING_STATUSES, do_transfer
from contactcenter.db.models import Queue, Ticket, utcnow
from contactcenter.events import Event, run_periodically
from contactcenter.hub import Hub
from contactcenter.pipeline.route import get_or_create_queue
from contactcenter.routing.rules import PRIORITY_NAMES, raised
from contactcenter.settings import Settings
from contactcenter.webhooks.enqueue import enqueue_webhook_events
from contactcenter.routing.sla import AT_RISK, BREACHED, OK, PAUSED_STATUS, QueueSla, SlaStanding, queue_sla, settle_pause, standing, ticket_sla

log = logging.getLogger(__name__)

BATCH_SIZE = 200


async def check_sla(hub: Hub, now: datetime | None = None) -> list[Event]:
    """One pass over all tickets with running clocks; returns the events it published."""
    now = now or utcnow()
    published: list[Event] = []
    after = 0
    while True:
        events: list[Event] = []
        async with hub.sessions() as session, session.begin():
            last = await _check_batch(session, hub.settings, now, after, events)
            await enqueue_webhook_events(session, events)
        hub.bus.publish_all(events)
        published += events
        if last is None:
            return published
        after = last


async def _check_batch(session: AsyncSession, settings: Settings, now: datetime, after: int, events: list[Event]) -> int | None:
    running = Ticket.status.in_(WORKING_STATUSES) & (Ticket.sla_state != BREACHED) & (
        Ticket.first_response_due_at.is_not(None) | Ticket.resolution_due_at.is_not(None)
    )
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.id > after, or_(running, Ticket.sla_resumed_at.is_not(None)))
            .order_by(Ticket.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
    )
    if not tickets:
        return None
    queues = {q.id: q for q in await session.scalars(select(Queue))}
    terms = {queue_id: queue_sla(settings, queue) for queue_id, queue in queues.items()}
    complaint_terms = {queue_id: ticket_sla(settings, queue, "complaint") for queue_id, queue in queues.items()}
    for ticket in tickets:
        ticket_terms = (complaint_terms if ticket.type == "complaint" else terms).get(ticket.queue_id or 0)
        settle_pause(ticket, ticket_terms)
        if ticket_terms is None or ticket.status == PAUSED_STATUS or ticket.status not in WORKING_STATUSES:
            continue
        if ticket.sla_state == BREACHED:
            continue
        found = standing(ticket, ticket_terms, now)
        if found.state == BREACHED:
            events += await _breach(session, settings, ticket, ticket_terms, found)
        elif found.state == AT_RISK and ticket.sla_state == OK:
            ticket.sla_state = AT_RISK
            audit(session, "system", "sla.at_risk", ticket, clock=found.clock, due_at=found.due_at.isoformat() if found.due_at else None)
            events.append(Event("sla.at_risk", _event_data(ticket, found)))
        elif found.state == OK and ticket.sla_state == AT_RISK:
            ticket.sla_state = OK  # the clock at risk stopped (say, the first answer went out)
    return tickets[-1].id


async def _breach(session: AsyncSession, settings: Settings, ticket: Ticket, terms: QueueSla, found: SlaStanding) -> list[Event]:
    """Mark the ticket breached and do what the policy says, once."""
    policy = terms.policy
    ticket.sla_state = BREACHED
    changes: dict[str, object] = {}
    events: list[Event] = []
    if policy.breach_raise_priority and raised(ticket.priority) != ticket.priority:
        changes["priority"] = {"from": PRIORITY_NAMES[ticket.priority], "to": PRIORITY_NAMES[raised(ticket.priority)]}
        ticket.priority = raised(ticket.priority)
    if policy.breach_move_to_queue:
        queue = await get_or_create_queue(session, policy.breach_move_to_queue, settings)
        if queue.id != ticket.queue_id:
            changes["queue"] = {"from": ticket.queue_id, "to": queue.id}
            events += await do_transfer(session, ticket, queue=queue, agent=None, actor="system", reason="sla breached")
    audit(session, "system", "sla.breached", ticket, clock=found.clock, due_at=found.due_at.isoformat() if found.due_at else None, changes=changes)
    log.info("ticket %s: %s SLA breached; %s", ticket.reference, found.clock, changes or "no policy change")
    return [Event("sla.breached", {**_event_data(ticket, found), "changes": changes}), *events]


def _event_data(ticket: Ticket, found: SlaStanding) -> dict[str, object]:
    return {
        "ticket_id": ticket.id,
        "clock": found.clock,
        "due_at": found.due_at.isoformat() if found.due_at else None,
        "priority": ticket.priority,
        "queue_id": ticket.queue_id,
    }


class SlaTimer:
    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(self.hub.bus, lambda: check_sla(self.hub), every=self.hub.settings.sla.check_seconds, name="sla timer")
