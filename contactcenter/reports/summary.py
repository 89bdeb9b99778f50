"""The report's figures for a date range, from a handful of grouped queries.

Every figure counts tickets opened in the range (volume, first response,
resolution, SLA, complaints opened), except what is dated by its own event:
resolutions and "handled" by the day a ticket was resolved, reopened
complaints by the day they were reopened, calls by the day they came in.
Times are business seconds of the ticket's queue (`ticket_times.py`); the
values come back from the database joined into one string per group
(`aggregate_strings`), so a range of a quarter of a million tickets is one
row per agent and tier, not a quarter of a million rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Integer, String, and_, case, cast, false, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, AuditEvent, Customer, Interaction, Queue, Ticket
from contactcenter.reports.figures import compliance, parse_numbers, percentile, spread
from contactcenter.reports.filters import ReportFilter
from contactcenter.reports.ticket_times import MISSING, business_seconds, queue_calendars
from contactcenter.settings import Settings

CLOSED = ("resolved", "closed")
# `+ 0` keeps the planner from driving the join through every customer and
# their tickets' customer index (SQLite's choice with only sqlite_stat1): the
# tickets of the range come first, by their created_at index, then each
# customer by primary key.
BY_CUSTOMER = Customer.id == Ticket.customer_id + 0


@dataclass
class Group:
    """Tickets of one agent, tier or segment: counts and their times."""

    tickets: int = 0
    first_response: list[int] = field(default_factory=list)
    resolution: list[int] = field(default_factory=list)
    met: int = 0
    breached: int = 0
    value: float = 0.0  # customers' lifetime value summed over the tickets

    def add(self, other: Group) -> None:
        self.tickets += other.tickets
        self.first_response += other.first_response
        self.resolution += other.resolution
        self.met += other.met
        self.breached += other.breached
        self.value += other.value

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "first_response": spread(self.first_response),
            "resolution": spread(self.resolution),
            "sla": {"met": self.met, "breached": self.breached, "compliance": compliance(self.met, self.breached)},
            "average_customer_value": round(self.value / self.tickets, 2) if self.tickets else None,
        }


async def report_summary(session: AsyncSession, settings: Settings, wanted: ReportFilter) -> dict[str, Any]:
    """The figures of DESIGN.md §6's `GET /api/v1/reports/summary`, plus the page's tables."""
    dialect = session.get_bind().dialect.name
    queues = list(await session.scalars(select(Queue)))
    conditions = _conditions(wanted, queues, dialect)
    opened = and_(Ticket.created_at >= wanted.start, Ticket.created_at < wanted.end, *conditions)

    volume = await _volume(session, opened, dialect, wanted)
    by_agent_tier = await _groups(session, opened, (Ticket.assignee_id, Customer.tier))
    segments = await _segment_groups(session, opened, dialect)
    await _add_missing_times(session, settings, queues, opened, by_agent_tier, segments)
    everyone = Group()
    agents: dict[int | None, Group] = defaultdict(Group)
    tiers: dict[str, Group] = defaultdict(Group)
    for (agent_id, tier), group in by_agent_tier.items():
        everyone.add(group)
        agents[agent_id].add(group)
        tiers[tier or ""].add(group)

    resolved = await _resolved(session, wanted, conditions, dialect)
    backlog = await _backlog(session, wanted, conditions, volume["by_day"], resolved["by_day"])
    complaints = {
        "opened": await _count(session, opened, Ticket.type == "complaint"),
        "resolved": resolved["complaints"],
        "reopened": await _reopened_complaints(session, wanted, conditions),
    }
    calls = await _calls(session, wanted, conditions)
    names = dict((await session.execute(select(Agent.id, Agent.name))).all())
    per_agent = [
        {
            "agent_id": agent_id,
            "name": names.get(agent_id, ""),
            "handled": resolved["by_agent"].get(agent_id, 0),
            "tickets": agents[agent_id].tickets if agent_id in agents else 0,
            "first_response": spread(agents[agent_id].first_response if agent_id in agents else []),
            "calls": calls.get(agent_id, (0, None))[0],
            "average_handle_seconds": calls.get(agent_id, (0, None))[1],
        }
        for agent_id in sorted({a for a in agents if a is not None} | set(resolved["by_agent"]) | set(calls), key=lambda a: names.get(a, ""))
    ]
    return {
        "from": wanted.first_day.isoformat(),
        "to": wanted.last_day.isoformat(),
        "filters": wanted.query(),
        "volume": volume,
        "first_response": {"median_seconds": percentile(everyone.first_response, 0.5), "p90_seconds": percentile(everyone.first_response, 0.9), "count": len(everyone.first_response)},
        "resolution": {"median_seconds": percentile(everyone.resolution, 0.5), "p90_seconds": percentile(everyone.resolution, 0.9), "count": len(everyone.resolution)},
        "sla": {"met": everyone.met, "breached": everyone.breached, "compliance": compliance(everyone.met, everyone.breached)},
        "complaints": complaints,
        "csat": csat_figures(),
        "backlog": backlog,
        "resolved_by_day": [{"date": d.isoformat(), "count": resolved["by_day"].get(d, 0)} for d in wanted.days],
        "agents": per_agent,
        "tiers": _ranked(tiers, "tier"),
        "segments": _ranked(segments, "segment"),
    }


def csat_figures() -> dict[str, Any]:
    """Satisfaction: empty until surveys exist (their own issue), in DESIGN.md §6's shape.

    When the surveys land, this is the one place to fill: responses, average
    rating and the count per rating 1..5 for the tickets in the range."""
    return {"responses": 0, "average": None, "distribution": {str(n): 0 for n in range(1, 6)}}


def _ranked(groups: dict[Any, Group], key: str) -> list[dict[str, Any]]:
    """Most valuable customers first (average lifetime value), then the most tickets."""
    rows = sorted(groups.items(), key=lambda item: (-(item[1].value / item[1].tickets if item[1].tickets else 0), -item[1].tickets, str(item[0])))
    return [{key: name, **group.to_json()} for name, group in rows]


def _conditions(wanted: ReportFilter, queues: list[Queue], dialect: str) -> list[Any]:
    found: list[Any] = []
    if wanted.queue:
        ids = [q.id for q in queues if q.name == wanted.queue or str(q.id) == wanted.queue]
        found.append(Ticket.queue_id.in_(ids) if ids else false())
    if wanted.channel:
        found.append(Ticket.channel == wanted.channel)
    if wanted.agent_id is not None:
        found.append(Ticket.assignee_id == wanted.agent_id)
    if wanted.type:
        found.append(Ticket.type == wanted.type)
    if wanted.tier:
        found.append(Ticket.customer_id.in_(select(Customer.id).where(Customer.tier == wanted.tier)))
    if wanted.segment:
        found.append(Ticket.customer_id.in_(select(Customer.id).where(_has_segment(wanted.segment, dialect))))
    return found


def _has_segment(segment: str, dialect: str) -> Any:
    if dialect == "postgresql":
        return type_coerce(Customer.segments, JSONB).contains([segment])
    each = func.json_each(Customer.segments).table_valued("value")
    return select(each.c.value).where(each.c.value == segment).exists()


def _day_and_hour(column: Any, dialect: str) -> tuple[Any, Any]:
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        return cast(utc, Date), cast(func.extract("hour", utc), Integer)
    # SQLite keeps naive UTC text, "YYYY-MM-DD HH:MM:SS…": cutting it is the cheapest way.
    return func.substr(column, 1, 10), cast(func.substr(column, 12, 2), Integer)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def _volume(session: AsyncSession, opened: Any, dialect: str, wanted: ReportFilter) -> dict[str, Any]:
    day, hour = _day_and_hour(Ticket.created_at, dialect)
    rows = await session.execute(select(day, hour, Ticket.channel, func.count()).where(opened).group_by(day, hour, Ticket.channel))
    by_channel: dict[str, int] = defaultdict(int)
    by_day: dict[date, int] = defaultdict(int)
    heat = [[0] * 24 for _ in range(7)]  # weekday (Monday first) x hour, UTC
    for raw_day, raw_hour, channel, count in rows:
        when = _as_date(raw_day)
        by_channel[channel] += count
        by_day[when] += count
        heat[when.weekday()][int(raw_hour)] += count
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_day": [{"date": d.isoformat(), "count": by_day.get(d, 0)} for d in wanted.days],
        "by_weekday_hour": heat,
    }


def _sla_sums() -> tuple[Any, Any]:
    has_sla = or_(Ticket.first_response_due_at.is_not(None), Ticket.resolution_due_at.is_not(None))
    late = or_(
        Ticket.sla_state == "breached",
        and_(Ticket.first_response_due_at.is_not(None), Ticket.first_responded_at > Ticket.first_response_due_at),
        and_(Ticket.resolution_due_at.is_not(None), Ticket.resolved_at > Ticket.resolution_due_at),
    )
    met = func.sum(case((and_(has_sla, ~late, Ticket.resolved_at.is_not(None)), 1), else_=0))
    breached = func.sum(case((and_(has_sla, late), 1), else_=0))
    return met, breached


def _measures() -> list[Any]:
    """Per group: tickets, their kept times joined into strings, SLA met and breached, customers' value."""
    met, breached = _sla_sums()
    return [
        func.count(),
        func.aggregate_strings(cast(Ticket.first_response_seconds, String), ","),
        func.aggregate_strings(cast(Ticket.resolution_seconds, String), ","),
        met,
        breached,
        func.sum(Customer.lifetime_value),
    ]


async def _groups(session: AsyncSession, opened: Any, keys: tuple[Any, ...]) -> dict[tuple[Any, ...], Group]:
    rows = await session.execute(
        select(*keys, *_measures())
        .join(Customer, BY_CUSTOMER)
        .where(opened)
        .group_by(*keys)
    )
    return {tuple(row[: len(keys)]): _group(*row[len(keys):]) for row in rows}


def _group(count: int, firsts: str | None, resolutions: str | None, met: int | None, breached: int | None, value: float | None) -> Group:
    return Group(count, parse_numbers(firsts), parse_numbers(resolutions), int(met or 0), int(breached or 0), float(value or 0))


async def _segment_groups(session: AsyncSession, opened: Any, dialect: str) -> dict[str, Group]:
    if dialect == "postgresql":
        segment = func.jsonb_array_elements_text(Customer.segments).table_valued("value").alias("segment")
    else:
        segment = func.json_each(Customer.segments).table_valued("value").alias("segment")
    rows = await session.execute(
        select(segment.c.value, *_measures())
        .select_from(Ticket)
        .join(Customer, BY_CUSTOMER)
        .join(segment, segment.c.value.is_not(None))
        .where(opened)
        .group_by(segment.c.value)
    )
    return {str(row[0]): _group(*row[1:]) for row in rows}


async def _add_missing_times(
    session: AsyncSession, settings: Settings, queues: list[Queue], opened: Any, groups: dict[tuple[Any, ...], Group], segments: dict[str, Group]
) -> None:
    """Times not yet kept on their tickets (changed since the last fill): computed here, read-only."""
    rows = (
        await session.execute(
            select(Ticket.assignee_id, Customer.tier, Customer.segments, Ticket.queue_id, Ticket.created_at, Ticket.first_responded_at,
                   Ticket.resolved_at, Ticket.first_response_seconds, Ticket.resolution_seconds)
            .join(Customer, BY_CUSTOMER)
            .where(opened, MISSING)
        )
    ).all()
    if not rows:
        return
    calendars = queue_calendars(settings, queues)
    for agent_id, tier, tags, queue_id, created, responded, resolved, first_kept, resolution_kept in rows:
        calendar = calendars.get(queue_id or 0)
        targets = [groups.setdefault((agent_id, tier), Group())] + [segments.setdefault(str(s), Group()) for s in tags or []]
        for group in targets:
            if first_kept is None and (value := business_seconds(calendar, created, responded)) is not None:
                group.first_response.append(value)
            if resolution_kept is None and (value := business_seconds(calendar, created, resolved)) is not None:
                group.resolution.append(value)


async def _count(session: AsyncSession, opened: Any, *more: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ticket).where(opened, *more)) or 0)


async def _resolved(session: AsyncSession, wanted: ReportFilter, conditions: list[Any], dialect: str) -> dict[str, Any]:
    day, _ = _day_and_hour(Ticket.resolved_at, dialect)
    rows = await session.execute(
        select(day, Ticket.assignee_id, func.count(), func.sum(case((Ticket.type == "complaint", 1), else_=0)))
        .where(Ticket.resolved_at >= wanted.start, Ticket.resolved_at < wanted.end, *conditions)
        .group_by(day, Ticket.assignee_id)
    )
    by_day: dict[date, int] = defaultdict(int)
    by_agent: dict[int, int] = defaultdict(int)
    complaints = 0
    for raw_day, agent_id, count, complaint_count in rows:
        by_day[_as_date(raw_day)] += count
        if agent_id is not None:
            by_agent[agent_id] += count
        complaints += int(complaint_count or 0)
    return {"by_day": by_day, "by_agent": dict(by_agent), "complaints": complaints}


async def _backlog(session: AsyncSession, wanted: ReportFilter, conditions: list[Any], opened_by_day: list[dict[str, Any]], resolved_by_day: dict[date, int]) -> list[dict[str, Any]]:
    """Unresolved tickets at the end of each day: those open when the range began, plus opened, minus resolved."""
    open_at_start = int(
        await session.scalar(
            select(func.count()).select_from(Ticket).where(
                Ticket.created_at < wanted.start, or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= wanted.start), *conditions
            )
        )
        or 0
    )
    level, points = open_at_start, []
    for row in opened_by_day:
        day = date.fromisoformat(row["date"])
        level += row["count"] - resolved_by_day.get(day, 0)
        points.append({"date": row["date"], "open": level})
    return points


async def _reopened_complaints(session: AsyncSession, wanted: ReportFilter, conditions: list[Any]) -> int:
    """Complaints moved from resolved or closed back to work, by the day it happened."""
    moved = and_(
        AuditEvent.action == "ticket.status",
        AuditEvent.subject_type == "ticket",
        AuditEvent.at >= wanted.start,
        AuditEvent.at < wanted.end,
        AuditEvent.details["from"].as_string().in_(CLOSED),
        AuditEvent.details["to"].as_string().not_in(CLOSED),
    )
    return int(
        await session.scalar(
            select(func.count(func.distinct(AuditEvent.subject_id)))
            .select_from(AuditEvent)
            .join(Ticket, Ticket.id == AuditEvent.subject_id)
            .where(moved, Ticket.type == "complaint", *conditions)
        )
        or 0
    )


async def _calls(session: AsyncSession, wanted: ReportFilter, conditions: list[Any]) -> dict[int, tuple[int, float | None]]:
    """agent id -> (calls, average handle seconds) for the calls of their tickets in the range."""
    duration = Interaction.meta["call"]["duration_seconds"].as_float()
    rows = await session.execute(
        select(Ticket.assignee_id, func.count(), func.avg(cast(duration, Float)))
        .join(Ticket, Ticket.id == Interaction.ticket_id)
        .where(
            Interaction.channel == "voice",
            Interaction.created_at >= wanted.start,
            Interaction.created_at < wanted.end,
            Ticket.assignee_id.is_not(None),
            duration.is_not(None),
            *conditions,
        )
        .group_by(Ticket.assignee_id)
    )
    return {agent_id: (count, round(float(avg), 1) if avg is not None else None) for agent_id, count, avg in rows}


