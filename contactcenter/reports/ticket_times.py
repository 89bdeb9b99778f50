"""Each ticket's first response and resolution time in its queue's business time, kept on the ticket.

Business time needs the queue's calendar, which a report over a million
interactions cannot walk ticket by ticket, so each ticket carries its own
figures (`first_response_seconds`, `resolution_seconds`). The hook is small:
whenever `first_responded_at` or `resolved_at` changes, the figure is cleared
(a reopened ticket's resolution time is no longer true); `fill_ticket_times`
computes the cleared ones, run by the SLA timer's cadence and for any a
report meets before then (`business_seconds` for one ticket).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Queue, Ticket
from contactcenter.events import run_periodically
from contactcenter.hub import Hub
from contactcenter.routing.calendars import BusinessCalendar, business_time_between, parse_calendar
from contactcenter.settings import Settings

BATCH_SIZE = 500


@event.listens_for(Ticket.first_responded_at, "set")
def _first_response_changed(ticket: Ticket, value: Any, old: Any, _initiator: Any) -> None:
    if value != old:
        ticket.first_response_seconds = None


@event.listens_for(Ticket.resolved_at, "set")
def _resolution_changed(ticket: Ticket, value: Any, old: Any, _initiator: Any) -> None:
    if value != old:
        ticket.resolution_seconds = None


def queue_calendars(settings: Settings, queues: list[Queue]) -> dict[int, BusinessCalendar | None]:
    """queue id -> its business calendar; None (wall-clock time) for a queue without one."""
    found: dict[int, BusinessCalendar | None] = {}
    for queue in queues:
        config = settings.calendars.get(queue.calendar)
        found[queue.id] = parse_calendar(config) if config else None
    return found


def business_seconds(calendar: BusinessCalendar | None, start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    if calendar is None:
        return max(0, round((end - start).total_seconds()))
    return max(0, round(business_time_between(calendar, start, end).total_seconds()))


MISSING = or_(
    Ticket.first_responded_at.is_not(None) & Ticket.first_response_seconds.is_(None),
    Ticket.resolved_at.is_not(None) & Ticket.resolution_seconds.is_(None),
)


async def fill_ticket_times(session: AsyncSession, settings: Settings, limit: int = BATCH_SIZE) -> int:
    """Compute up to `limit` missing figures in the caller's transaction; returns how many tickets."""
    calendars = queue_calendars(settings, list(await session.scalars(select(Queue))))
    tickets = list(await session.scalars(select(Ticket).where(MISSING).order_by(Ticket.id).limit(limit).with_for_update(skip_locked=True)))
    for ticket in tickets:
        calendar = calendars.get(ticket.queue_id or 0)
        if ticket.first_response_seconds is None:
            ticket.first_response_seconds = business_seconds(calendar, ticket.created_at, ticket.first_responded_at)
        if ticket.resolution_seconds is None:
            ticket.resolution_seconds = business_seconds(calendar, ticket.created_at, ticket.resolved_at)
    return len(tickets)


async def fill_all(hub: Hub) -> int:
    """Fill every missing figure, a batch per transaction; returns how many tickets."""
    total = 0
    while True:
        async with hub.sessions() as session, session.begin():
            done = await fill_ticket_times(session, hub.settings)
        total += done
        if done < BATCH_SIZE:
            return total


async def fill_and_refresh(hub: Hub) -> int:
    """Kept times first, then the report rows of what changed (rows.py), a batch per transaction."""
    from contactcenter.reports.rows import refresh_all

    return await fill_all(hub) + await refresh_all(hub)


class TicketTimesWorker:
    """Runs inside `contactcenter serve` at the SLA timer's pace ([sla] check_seconds): the tickets'
    kept business times and the report rows."""

    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(self.hub.bus, lambda: fill_and_refresh(self.hub), every=self.hub.settings.sla.check_seconds, name="report times")
