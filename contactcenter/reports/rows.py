"""The report rows: one narrow row per ticket with what reports count, kept in step with the tickets.

Why: a report over a year (a quarter of a million tickets, a million
interactions) read straight from the tickets cost seven range scans of wide
rows joined to their customers, 3-4 µs of SQLite CPU per ticket per scan:
36 s for the year. A per-day roll-up does not help figures that are per
ticket (exact medians and p90 need every value) and filters on six
dimensions. So each ticket gets one narrow row (`ReportRow`: epoch seconds,
business seconds, SLA flags, the customer's value, calls) whose indexes each
cover one report query, and a cohort (`ReportCohort`: agent x tier x
segments) that lets SQLite read them already grouped (summary.py).

How they follow the tickets: every ticket's `updated_at` moves on any change
(the ORM's onupdate, Core updates too), and a customer's moves when its
tier, segments or value change. `refresh_report_rows` rebuilds the rows of
tickets and customers whose updated_at differs from the one the row was made
from, looking back from a mark (`ReportMark`) less a margin, so a transaction
that committed late is still seen. A call's talk time lands on the call, not
the ticket, so flushing a voice interaction touches its ticket's updated_at
(`_calls_touch_their_tickets`). The report worker runs it at the SLA
timer's pace, and every report runs it first for what changed since, so a
report is never older than its request (beyond `REQUEST_LIMIT` changed
tickets, e.g. the backfill after upgrading, the worker catches up).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, attributes

from contactcenter.db.models import Customer, Interaction, Queue, ReportCohort, ReportMark, ReportRow, Ticket, utcnow
from contactcenter.reports.ticket_times import business_seconds, queue_calendars
from contactcenter.routing.calendars import BusinessCalendar
from contactcenter.settings import Settings

BATCH_SIZE = 1000
REQUEST_LIMIT = 2000  # changed tickets a report refreshes itself before reading
MARGIN = timedelta(minutes=5)  # longer than any transaction that stamps updated_at and commits later
SEPARATOR = "\n"
QUARTER = 900  # seconds: time zones are whole quarter hours from UTC, so local days and hours are whole quarters


def segments_key(segments: Any) -> str:
    """A customer's segments as the cohort holds them: sorted, each between newlines, "" for none."""
    names = sorted({str(s) for s in segments or [] if str(s)})
    return SEPARATOR + SEPARATOR.join(names) + SEPARATOR if names else ""


def segments_of(key: str) -> list[str]:
    return [s for s in key.split(SEPARATOR) if s]


def epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def talk_seconds(meta: dict[str, Any] | None) -> int | None:
    """A call's talk time as voice/connect.py records it (`talk_seconds`), or a provider's `duration_seconds`."""
    call = (meta or {}).get("call") or {}
    value = call.get("talk_seconds", call.get("duration_seconds"))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class SlaFlags:
    met: int
    breached: int


def sla_flags(*, first_due: datetime | None, resolution_due: datetime | None, responded: datetime | None,
              resolved: datetime | None, state: str) -> SlaFlags:
    """Breached: the timer said so, or an answer or resolution came after its due time; met: resolved in time."""
    if first_due is None and resolution_due is None:
        return SlaFlags(0, 0)
    late = state == "breached" or bool(first_due and responded and responded > first_due) or bool(resolution_due and resolved and resolved > resolution_due)
    return SlaFlags(int(not late and resolved is not None), int(late))


def row_values(ticket: Ticket, customer: Customer, calendar: BusinessCalendar | None, cohort_id: int, calls: tuple[int, int]) -> dict[str, Any]:
    """The report row of one ticket (also what bench/reports.py loads in bulk)."""
    first = ticket.first_response_seconds
    if first is None:
        first = business_seconds(calendar, ticket.created_at, ticket.first_responded_at)
    resolution = ticket.resolution_seconds
    if resolution is None:
        resolution = business_seconds(calendar, ticket.created_at, ticket.resolved_at)
    flags = sla_flags(first_due=ticket.first_response_due_at, resolution_due=ticket.resolution_due_at, responded=ticket.first_responded_at,
                      resolved=ticket.resolved_at, state=ticket.sla_state)
    return {
        "ticket_id": ticket.id,
        "cohort_id": cohort_id,
        "created": epoch(ticket.created_at),
        "resolved": epoch(ticket.resolved_at),
        "created_quarter": epoch(ticket.created_at) // QUARTER,  # type: ignore[operator]
        "resolved_quarter": None if ticket.resolved_at is None else epoch(ticket.resolved_at) // QUARTER,  # type: ignore[operator]
        "queue_id": ticket.queue_id or 0,
        "channel": ticket.channel,
        "type": ticket.type,
        "first_response_seconds": first,
        "resolution_seconds": resolution,
        "sla_met": flags.met,
        "sla_breached": flags.breached,
        "customer_value": float(customer.lifetime_value or 0),
        "calls": calls[0],
        "call_seconds": calls[1],
        "ticket_updated_at": ticket.updated_at,
        "customer_updated_at": customer.updated_at,
    }


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def cohort_ids(session: AsyncSession, wanted: set[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
    """(agent id or 0, tier, segments key) -> cohort id, adding the new ones (racing refreshers agree through the unique key)."""
    found = {(c.agent_id, c.tier, c.segments): c.id for c in await session.scalars(select(ReportCohort))}
    missing = wanted - set(found)
    if missing:
        insert = _insert(session)
        await session.execute(insert(ReportCohort).values([{"agent_id": a, "tier": t, "segments": s} for a, t, s in sorted(missing)]).on_conflict_do_nothing())
        found = {(c.agent_id, c.tier, c.segments): c.id for c in await session.scalars(select(ReportCohort))}
    return found


async def rebuild_rows(session: AsyncSession, settings: Settings, ticket_ids: list[int]) -> int:
    """Make (or make again) the rows of these tickets from the tickets, their customers and their calls."""
    if not ticket_ids:
        return 0
    pairs = (await session.execute(select(Ticket, Customer).join(Customer, Customer.id == Ticket.customer_id).where(Ticket.id.in_(ticket_ids)))).all()
    calls: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for ticket_id, meta in await session.execute(
        select(Interaction.ticket_id, Interaction.meta).where(Interaction.ticket_id.in_(ticket_ids), Interaction.channel == "voice")
    ):
        if (talk := talk_seconds(meta)) is not None:
            calls[ticket_id][0] += 1
            calls[ticket_id][1] += talk
    calendars = queue_calendars(settings, list(await session.scalars(select(Queue))))
    keys = {ticket.id: (ticket.assignee_id or 0, customer.tier or "", segments_key(customer.segments)) for ticket, customer in pairs}
    cohorts = await cohort_ids(session, set(keys.values()))
    values = [
        row_values(ticket, customer, calendars.get(ticket.queue_id or 0), cohorts[keys[ticket.id]], (calls[ticket.id][0], calls[ticket.id][1]))
        for ticket, customer in pairs
    ]
    if values:
        insert = _insert(session)(ReportRow)
        changing = {name: insert.excluded[name] for name in values[0] if name != "ticket_id"}
        await session.execute(insert.values(values).on_conflict_do_update(index_elements=["ticket_id"], set_=changing))
    return len(values)


async def _set_mark(session: AsyncSession, name: str, at: datetime | None) -> None:
    if at is None:
        return
    insert = _insert(session)(ReportMark).values(name=name, at=at)
    await session.execute(insert.on_conflict_do_update(index_elements=["name"], set_={"at": insert.excluded.at}, where=ReportMark.at < insert.excluded.at))


async def refresh_report_rows(session: AsyncSession, settings: Settings, limit: int = BATCH_SIZE) -> int:
    """Rebuild up to `limit` rows of tickets (and of customers' tickets) changed since their row was made;
    returns how many were rebuilt (fewer than `limit`: nothing more to do)."""
    began = utcnow()
    marks = dict((await session.execute(select(ReportMark.name, ReportMark.at))).all())
    changed = (
        select(Ticket.id, Ticket.updated_at)
        .outerjoin(ReportRow, ReportRow.ticket_id == Ticket.id)
        .where(or_(ReportRow.ticket_id.is_(None), ReportRow.ticket_updated_at != Ticket.updated_at))
        .order_by(Ticket.updated_at, Ticket.id)
        .limit(limit)
    )
    if "tickets" in marks:
        changed = changed.where(Ticket.updated_at >= marks["tickets"] - MARGIN)
    tickets = (await session.execute(changed)).all()
    done = await rebuild_rows(session, settings, [t for t, _ in tickets])
    if len(tickets) >= limit:
        # Cut short: everything up to the last one seen is done.
        await _set_mark(session, "tickets", max(at for _, at in tickets))
        return done
    # All seen: anything stamped before `began` less the margin has committed and was read, so the
    # next look starts there (the mark follows the clock, not only the changes, or one burst of
    # changes would be read again at every refresh until the next change).
    await _set_mark(session, "tickets", began)
    since = marks.get("customers")
    if since is None:
        # First run: every row is being made from today's customers; follow changes from here on.
        await _set_mark(session, "customers", began)
        return done
    # The customers changed since the mark first (their updated_at index), then their tickets' rows:
    # a join the planner could start from the rows would read them all.
    changed_customers = dict((await session.execute(select(Customer.id, Customer.updated_at).where(Customer.updated_at >= since - MARGIN))).all())
    room = limit - done
    customers: list[int] = []
    ids = sorted(changed_customers)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        pairs = await session.execute(
            select(ReportRow.ticket_id, Ticket.customer_id, ReportRow.customer_updated_at)
            .join(ReportRow, ReportRow.ticket_id == Ticket.id)
            .where(Ticket.customer_id.in_(chunk))
        )
        customers += [ticket_id for ticket_id, customer_id, made_from in pairs if made_from != changed_customers[customer_id]]
    customers = customers[:room]
    done += await rebuild_rows(session, settings, customers)
    if len(customers) < room:
        await _set_mark(session, "customers", began)
    return done


async def refresh_all(hub: Any, limit: int | None = None) -> int:
    """Refresh in batches, a transaction each, until nothing has changed (or `limit` rows were rebuilt)."""
    total = 0
    while limit is None or total < limit:
        batch = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - total)
        async with hub.sessions() as session, session.begin():
            done = await refresh_report_rows(session, hub.settings, batch)
        total += done
        if done < batch:
            break
    return total


@event.listens_for(Session, "before_flush")
def _calls_touch_their_tickets(session: Session, _context: Any, _instances: Any) -> None:
    """A call's talk time is written on the call (voice/calls.py merge_call_facts), not on its ticket:
    stamp the ticket's updated_at in the same flush, so its report row is rebuilt."""
    touched: set[Any] = set()
    for item in list(session.new) + list(session.dirty):
        if not isinstance(item, Interaction) or item.channel != "voice":
            continue
        if item in session.new:
            touched.add(item.ticket_id)
            continue
        if attributes.get_history(item, "meta").has_changes():
            touched.add(item.ticket_id)
        moved = attributes.get_history(item, "ticket_id")
        if moved.has_changes():  # a merge moved the call: both tickets' calls changed
            touched.update((item.ticket_id, *(moved.deleted or ())))
    touched = {t for t in touched if isinstance(t, int)}
    if touched:
        session.info.setdefault("report_touched_tickets", set()).update(touched)


@event.listens_for(Session, "after_flush")
def _stamp_touched_tickets(session: Session, _context: Any) -> None:
    touched = session.info.pop("report_touched_tickets", None)
    if touched:
        session.connection().execute(update(Ticket).where(Ticket.id.in_(sorted(touched))).values(updated_at=utcnow()))
