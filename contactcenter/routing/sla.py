"""SLA clocks: when a ticket's first answer and resolution fall due, and how it stands.

Two clocks per ticket, as in Zendesk's SLA policies: first response (stops at
the first agent reply) and resolution (stops when resolved). Targets come from
the queue's policy for the ticket's priority and count in the queue's business
calendar. While a ticket is pending (waiting on the customer) both clocks are
paused; when it reopens, the due times move on by the business time it spent
waiting. Everything here is arithmetic on one ticket; the timer that walks
over tickets and publishes events lives in `sla_timer.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from contactcenter.routing.calendars import BusinessCalendar, add_business_time, business_time_between, parse_calendar
from contactcenter.db.models import Queue, Ticket, utcnow
from contactcenter.routing.rules import PRIORITY_NAMES
from contactcenter.settings import Settings, SlaPolicy

OK, AT_RISK, BREACHED = "ok", "at_risk", "breached"
SEVERITY = {OK: 0, AT_RISK: 1, BREACHED: 2}
PAUSED_STATUS = "pending"


@dataclass(frozen=True, slots=True)
class QueueSla:
    """A queue's policy and calendar, looked up once and used for many tickets."""

    policy: SlaPolicy
    calendar: BusinessCalendar


@dataclass(frozen=True, slots=True)
class SlaStanding:
    state: str  # ok | at_risk | breached
    clock: str = ""  # the clock that decided it: first_response | resolution
    due_at: datetime | None = None


def queue_sla(settings: Settings, queue: Queue | None) -> QueueSla | None:
    """The queue's SLA terms, or None when it has no policy (no clocks run)."""
    if queue is None:
        return None
    return sla_terms(settings, queue.sla_policy, queue.calendar)


def ticket_policy(settings: Settings, queue_policy: str, ticket_type: str) -> str:
    """The SLA policy a ticket runs on: complaints have their own ([complaints] sla_policy), others their queue's."""
    if ticket_type == "complaint" and settings.complaints.sla_policy:
        return settings.complaints.sla_policy
    return queue_policy


def ticket_sla(settings: Settings, queue: Queue | None, ticket_type: str) -> QueueSla | None:
    """As queue_sla, for a ticket of `ticket_type` in that queue."""
    if queue is None:
        return None
    return sla_terms(settings, ticket_policy(settings, queue.sla_policy, ticket_type), queue.calendar)


def sla_terms(settings: Settings, policy_name: str, calendar_name: str) -> QueueSla | None:
    """The terms a queue's policy and calendar names stand for; None when there is no policy."""
    if not policy_name:
        return None
    policy = settings.sla.policies.get(policy_name)
    calendar = settings.calendars.get(calendar_name)
    if policy is None or calendar is None:
        return None
    return QueueSla(policy=policy, calendar=parse_calendar(calendar))


def target(hours_by_priority: dict[str, float], priority: int) -> timedelta | None:
    hours = hours_by_priority.get(PRIORITY_NAMES.get(priority, ""))
    return timedelta(hours=hours) if hours else None


def start_clocks(ticket: Ticket, terms: QueueSla | None, now: datetime) -> None:
    """Set both due times on a new ticket (none when its queue has no policy)."""
    ticket.first_response_due_at = ticket.resolution_due_at = None
    if terms is None:
        return
    first = target(terms.policy.first_response_hours, ticket.priority)
    resolution = target(terms.policy.resolution_hours, ticket.priority)
    if first:
        ticket.first_response_due_at = add_business_time(terms.calendar, now, first)
    if resolution:
        ticket.resolution_due_at = add_business_time(terms.calendar, now, resolution)


def running_clocks(ticket: Ticket) -> list[tuple[str, datetime, str]]:
    """(clock, due time, policy key of its targets) for the clocks still running."""
    clocks = []
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        clocks.append(("first_response", ticket.first_response_due_at, "first_response_hours"))
    if ticket.resolved_at is None and ticket.resolution_due_at is not None:
        clocks.append(("resolution", ticket.resolution_due_at, "resolution_hours"))
    return clocks


def standing(ticket: Ticket, terms: QueueSla, now: datetime) -> SlaStanding:
    """How the ticket stands now: breached past a due time, at risk once the
    policy's share of the target has gone by, else ok. The worst clock decides."""
    worst = SlaStanding(OK)
    for clock, due, key in running_clocks(ticket):
        if now >= due:
            found = SlaStanding(BREACHED, clock, due)
        else:
            goal = target(getattr(terms.policy, key), ticket.priority) or business_time_between(
                terms.calendar, ticket.created_at, due
            )
            left = business_time_between(terms.calendar, now, due)
            found = SlaStanding(AT_RISK if left <= goal * (1 - terms.policy.at_risk_ratio) else OK, clock, due)
        if SEVERITY[found.state] > SEVERITY[worst.state]:
            worst = found
    return worst


def settle_pause(ticket: Ticket, terms: QueueSla | None) -> bool:
    """After a pending spell ended, move the running clocks' due times on by it."""
    if ticket.sla_paused_at is None or ticket.sla_resumed_at is None:
        return False
    if terms is not None:
        paused = business_time_between(terms.calendar, ticket.sla_paused_at, ticket.sla_resumed_at)
        if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
            ticket.first_response_due_at = add_business_time(terms.calendar, ticket.first_response_due_at, paused)
        if ticket.resolved_at is None and ticket.resolution_due_at is not None:
            ticket.resolution_due_at = add_business_time(terms.calendar, ticket.resolution_due_at, paused)
    ticket.sla_paused_at = ticket.sla_resumed_at = None
    return True


@event.listens_for(Ticket.status, "set")
def _note_pause(ticket: Ticket, value: Any, old: Any, _initiator: Any) -> None:
    """Record the moment a ticket starts or stops waiting on the customer.

    Whatever code changes the status (an agent's reply, the customer writing
    back), the exact moments are kept; the SLA timer, which knows the
    calendars, turns them into moved due times (`settle_pause`).
    """
    if value == old:
        return
    if value == PAUSED_STATUS:
        if ticket.sla_paused_at is None:
            ticket.sla_paused_at = utcnow()
        else:
            # Paused again before the timer settled the last spell: the short
            # open moment in between counts as paused too.
            ticket.sla_resumed_at = None
    elif old == PAUSED_STATUS and ticket.sla_paused_at is not None and ticket.sla_resumed_at is None:
        ticket.sla_resumed_at = utcnow()
