"""Follow-ups of resolved complaints ("did the fix hold?") and the complaints still open.

A follow-up is written when a complaint is resolved (actions.do_set_status)
and shows in the resolver's inbox from `[complaints] follow_up_days` later, as
long as the complaint stays resolved (reopened, it is ordinary work again).
The agent marks it done: the fix held, or it did not and the complaint reopens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import DONE_STATUSES, audit, do_set_status
from contactcenter.db.models import Agent, Customer, FollowUp, Queue, Ticket
from contactcenter.errors import InputError, NotFoundError
from contactcenter.events import Event

OUTCOMES = ("held", "reopened")
OPEN_STATUSES = ("new", "open", "pending")
BOARD_LIMIT = 50


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    id: int
    ticket: Ticket
    customer_name: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintRow:
    ticket: Ticket
    customer_name: str
    queue: str
    assignee: str
    age_seconds: float


def due_at(follow_up: FollowUp, follow_up_days: float) -> datetime:
    return follow_up.resolved_at + timedelta(days=follow_up_days)


async def due_follow_ups(session: AsyncSession, agent_id: int, now: datetime, follow_up_days: float) -> list[FollowUpRow]:
    """The agent's follow-ups that are due by `now`, oldest first."""
    rows = await session.execute(
        select(FollowUp, Ticket, Customer.name)
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(
            FollowUp.agent_id == agent_id,
            FollowUp.done_at.is_(None),
            FollowUp.resolved_at <= now - timedelta(days=follow_up_days),
            Ticket.status.in_(DONE_STATUSES),
        )
        .order_by(FollowUp.resolved_at, FollowUp.id)
    )
    return [FollowUpRow(f.id, t, name or "", due_at(f, follow_up_days)) for f, t, name in rows]


async def do_finish_follow_up(
    session: AsyncSession, follow_up_id: int, outcome: str, *, agent_id: int, actor: str, now: datetime
) -> list[Event]:
    """The agent checked with the customer: the fix held, or the complaint reopens (assigned to them)."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be one of {', '.join(OUTCOMES)}", fields={"outcome": "unknown"})
    follow_up = await session.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None or follow_up.agent_id != agent_id:
        raise NotFoundError("no such follow-up in your work")
    if follow_up.done_at is not None:
        return []
    follow_up.done_at, follow_up.outcome = now, outcome
    ticket = await session.get_one(Ticket, follow_up.ticket_id)
    audit(session, actor, "complaint.follow_up", ticket, outcome=outcome)
    events: list[Event] = []
    if outcome == "reopened":
        events = do_set_status(session, ticket, "open", actor=actor, now=now)
        ticket.reopened_count = (ticket.reopened_count or 0) + 1
        ticket.assignee_id = agent_id
    return events


async def open_complaints(session: AsyncSession, now: datetime) -> list[ComplaintRow]:
    """Complaints not yet resolved, oldest first: what a supervisor watches on the board."""
    rows = await session.execute(
        select(Ticket, Customer.name, Queue.name, Agent.name)
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Queue, Queue.id == Ticket.queue_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .where(Ticket.type == "complaint", Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(BOARD_LIMIT)
    )
    return [
        ComplaintRow(t, customer or "", queue or "", agent or "", (now - t.created_at).total_seconds())
        for t, customer, queue, agent in rows
    ]
