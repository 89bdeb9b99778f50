"""The report's figures for a date range, from the report rows (rows.py) in a handful of index scans.

Every figure counts tickets opened in the range (volume, first response,
resolution, SLA, complaints opened, calls and their handle time), except
what is dated by its own event: resolutions and "handled" by the day a
ticket was resolved, reopened complaints by the day they were reopened.
Days and hours are the viewer's (filters.py); times are business seconds of
the ticket's queue. Medians and p90 are exact: each cohort's values come
back joined in one string (`aggregate_strings`), sorted once per cohort,
and every agent, tier, segment and the whole are sorted from those sorted
runs (timsort merges runs, it does not sort again from scratch).

Why it is fast (docs/benchmarks.md, "Reports over 1,000,000 interactions"):
each query reads one covering index of the narrow report rows, and the
per-cohort queries say `cohort_id IN (every cohort wanted)` on an index led
by cohort_id, so SQLite meets the rows already grouped and sorts nothing;
PostgreSQL does the same or hashes. The agent, tier and segment filters
only shorten that list of cohorts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, false, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.db.models import Agent, AuditEvent, Queue, ReportCohort, ReportRow
from contactcenter.reports.figures import compliance, parse_numbers, percentile, spread
from contactcenter.reports.filters import CHANNELS, ReportFilter
from contactcenter.reports.rows import QUARTER, segments_of
from contactcenter.settings import Settings

CLOSED = ("resolved", "closed")
EPOCH = date(1970, 1, 1)
R = ReportRow


@dataclass
class Group:
    """Tickets of one cohort, agent, tier or segment: counts and their times (kept sorted)."""

    tickets: int = 0
    first_response: list[int] = field(default_factory=list)
    resolution: list[int] = field(default_factory=list)
    met: int = 0
    breached: int = 0
    value: float = 0.0  # customers' lifetime value summed over the tickets
    complaints: int = 0
    calls: int = 0
    call_seconds: int = 0

    def add(self, other: Group, resolution: bool = True) -> None:
        self.tickets += other.tickets
        self.first_response += other.first_response
        if resolution:
            self.resolution += other.resolution
        self.met += other.met
        self.breached += other.breached
        self.value += other.value
        self.complaints += other.complaints
        self.calls += other.calls
        self.call_seconds += other.call_seconds

    def settle(self) -> Group:
        """Sort the joined values: sorted runs from each cohort, so this is a merge."""
        self.first_response.sort()
        self.resolution.sort()
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "first_response": spread(self.first_response, ordered=True),
            "resolution": spread(self.resolution, ordered=True),
            "sla": {"met": self.met, "breached": self.breached, "compliance": compliance(self.met, self.breached)},
            "average_customer_value": round(self.value / self.tickets, 2) if self.tickets else None,
        }


@dataclass(frozen=True, slots=True)
class Cohort:
    id: int
    agent_id: int | None
    tier: str
    segments: tuple[str, ...]


async def report_summary(
    session: AsyncSession, settings: Settings, wanted: ReportFilter, sessions: async_sessionmaker[AsyncSession] | None = None
) -> dict[str, Any]:
    """The figures of DESIGN.md §6's `GET /api/v1/reports/summary`, plus the page's tables.

    The caller refreshes the report rows first (rows.refresh_all); this only reads. With
    `sessions`, the independent scans run at once on three connections of their own: the
    database works on one while this process parses another's values (SQLite's module lets go
    of the GIL while a query runs, PostgreSQL runs each in its own server process)."""
    queues = list(await session.scalars(select(Queue)))
    cohorts = {c.id: c for c in await _cohorts(session, wanted)}
    # The cohort list goes to every query when agent, tier or segment narrow it; without those
    # filters only to the queries grouped by cohort (there it makes SQLite read in cohort order).
    in_cohorts = R.cohort_id.in_(sorted(cohorts)) if cohorts else false()
    conditions = _conditions(wanted, queues)
    grouped = [in_cohorts, *conditions]
    if wanted.agent_id is not None or wanted.tier or wanted.segment:
        conditions = grouped
    start, end = int(wanted.start.timestamp()), int(wanted.end.timestamp())
    offsets = wanted.offsets()

    async def lane(*steps: Any) -> list[Any]:
        async def run(on: AsyncSession) -> list[Any]:
            return [await step(on) for step in steps]

        if sessions is None:
            return await run(session)
        async with sessions() as own:
            return await run(own)

    lanes = [
        lane(lambda on: _cohort_groups(on, start, end, grouped)),
        lane(lambda on: _volume(on, start, end, conditions, offsets, wanted), lambda on: _open_at_start(on, start, conditions)),
        lane(lambda on: _resolved(on, start, end, conditions, offsets), lambda on: _handled(on, start, end, grouped),
             lambda on: _reopened_complaints(on, wanted, conditions)),
    ]
    if sessions is None:
        found = [await each for each in lanes]
    else:
        found = list(await asyncio.gather(*lanes))
    [by_cohort], [volume, open_at_start], [resolved, handled_rows, reopened] = found
    # Each cohort's values are sorted; a group's list is its cohorts' lists end to end, sorted
    # again (a merge of sorted runs). The whole is merged from the tiers: a few long runs.
    everyone = Group()
    agents: dict[int | None, Group] = defaultdict(Group)
    tiers: dict[str, Group] = defaultdict(Group)
    segments: dict[str, Group] = defaultdict(Group)
    for cohort_id, group in by_cohort.items():
        cohort = cohorts[cohort_id]
        agents[cohort.agent_id].add(group, resolution=False)  # the agents' table shows first response only
        tiers[cohort.tier].add(group)
        for segment in cohort.segments:
            segments[segment].add(group)
    for group in (*agents.values(), *tiers.values(), *segments.values()):
        group.settle()
    for group in tiers.values():
        everyone.add(group)
    everyone.settle()

    handled: dict[int, int] = defaultdict(int)
    for cohort_id, count in handled_rows:
        if (agent_id := cohorts[cohort_id].agent_id) is not None:
            handled[agent_id] += count
    backlog = _backlog(open_at_start, volume["by_day"], resolved["by_day"])
    complaints = {"opened": everyone.complaints, "resolved": resolved["complaints"], "reopened": reopened}
    names = dict((await session.execute(select(Agent.id, Agent.name))).all())
    shown = {a for a, g in agents.items() if a is not None and (g.tickets or g.calls)} | set(handled)
    per_agent = []
    for agent_id in sorted(shown, key=lambda a: (names.get(a, ""), a)):
        mine = agents.get(agent_id) or Group()
        per_agent.append({
            "agent_id": agent_id,
            "name": names.get(agent_id, ""),
            "handled": handled.get(agent_id, 0),
            "tickets": mine.tickets,
            "first_response": spread(mine.first_response, ordered=True),
            "calls": mine.calls,
            "average_handle_seconds": round(mine.call_seconds / mine.calls, 1) if mine.calls else None,
        })
    return {
        "from": wanted.first_day.isoformat(),
        "to": wanted.last_day.isoformat(),
        "timezone": wanted.zone,
        "filters": wanted.query(),
        "volume": volume,
        "first_response": {"median_seconds": percentile(everyone.first_response, 0.5, True), "p90_seconds": percentile(everyone.first_response, 0.9, True),
                           "count": len(everyone.first_response)},
        "resolution": {"median_seconds": percentile(everyone.resolution, 0.5, True), "p90_seconds": percentile(everyone.resolution, 0.9, True),
                       "count": len(everyone.resolution)},
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
    return [{key: name, **group.to_json()} for name, group in rows if group.tickets]


async def _cohorts(session: AsyncSession, wanted: ReportFilter) -> list[Cohort]:
    """The cohorts the agent, tier and segment filters let through (all of them without those filters)."""
    found = []
    for row in await session.scalars(select(ReportCohort)):
        cohort = Cohort(row.id, row.agent_id or None, row.tier, tuple(segments_of(row.segments)))
        if wanted.agent_id is not None and cohort.agent_id != wanted.agent_id:
            continue
        if wanted.tier and cohort.tier != wanted.tier:
            continue
        if wanted.segment and wanted.segment not in cohort.segments:
            continue
        found.append(cohort)
    return found


def _conditions(wanted: ReportFilter, queues: list[Queue]) -> list[Any]:
    found: list[Any] = []
    if wanted.queue:
        ids = [q.id for q in queues if q.name == wanted.queue or str(q.id) == wanted.queue]
        found.append(R.queue_id.in_(ids) if ids else false())
    if wanted.channel:
        found.append(R.channel == wanted.channel)
    if wanted.type:
        found.append(R.type == wanted.type)
    return found


def _number(value: int) -> Any:
    """One of our integers written into the SQL, so PostgreSQL sees a GROUP BY expression as the selected one."""
    return literal_column(str(int(value)))


def _local_quarter(quarter: Any, offsets: list[tuple[int, int]]) -> Any:
    """A UTC quarter-hour number moved into the viewer's zone (offsets are whole quarters)."""
    if len(offsets) == 1:
        return quarter + _number(offsets[0][1] // QUARTER)
    whens = [(quarter < _number(-(-until // QUARTER)), _number(offset // QUARTER)) for (_, offset), (until, _) in zip(offsets, offsets[1:])]
    return (quarter + case(*whens, else_=_number(offsets[-1][1] // QUARTER))).self_group()


def _div(expression: Any, unit: int) -> Any:
    """Integer division on both databases (SQLAlchemy's `//` adds a bound parameter, which PostgreSQL's GROUP BY would not match)."""
    return expression.op("/", precedence=8)(_number(unit))


def _mod(expression: Any, unit: int) -> Any:
    return expression.op("%", precedence=8)(_number(unit))


async def _cohort_groups(session: AsyncSession, start: int, end: int, conditions: list[Any]) -> dict[int, Group]:
    """Per cohort: counts, sums and every time value, joined into one string per cohort and
    sorted here. (PostgreSQL's sorted `array_agg` instead saved client CPU but not wall time.)"""
    rows = await session.execute(
        select(
            R.cohort_id,
            func.count(),
            func.aggregate_strings(cast(R.first_response_seconds, String), ","),
            func.aggregate_strings(cast(R.resolution_seconds, String), ","),
            func.sum(R.sla_met),
            func.sum(R.sla_breached),
            func.sum(R.customer_value),
            func.sum(case((R.type == "complaint", 1), else_=0)),
            func.sum(R.calls),
            func.sum(R.call_seconds),
        )
        .where(R.created >= start, R.created < end, *conditions)
        .group_by(R.cohort_id)
    )
    return {
        cohort_id: Group(count, sorted(parse_numbers(firsts)), sorted(parse_numbers(resolutions)), int(met or 0), int(breached or 0),
                         float(value or 0), int(complaints or 0), int(calls or 0), int(call_seconds or 0))
        for cohort_id, count, firsts, resolutions, met, breached, value, complaints, calls, call_seconds in rows
    }


async def _volume(session: AsyncSession, start: int, end: int, conditions: list[Any], offsets: list[tuple[int, int]], wanted: ReportFilter) -> dict[str, Any]:
    """Tickets opened per local day (with their channels) and per weekday x hour.

    The inner query groups by UTC quarter hour, in the order of the index it reads
    (no sort); the two outer groupings then see at most 35,136 quarters, not the tickets."""
    quarters = (
        select(R.created_quarter.label("q"), func.count().label("n"))
        .where(R.created_quarter >= start // QUARTER, R.created_quarter < end // QUARTER, *conditions)
        .group_by(R.created_quarter)
        .cte("quarters")
    )
    local = _local_quarter(quarters.c.q, offsets)
    day = _div(local, 96)
    slot = (_mod(_div(local, 96) + _number(3), 7).op("*", precedence=8)(_number(24)) + _div(_mod(local, 96), 4))  # Monday 00h = 0 (1970-01-01 was a Thursday)
    by_days = select(literal_column("0"), day, func.sum(quarters.c.n)).group_by(day)
    by_slots = select(literal_column("1"), slot, func.sum(quarters.c.n)).group_by(slot)
    by_day: dict[date, int] = defaultdict(int)
    heat = [[0] * 24 for _ in range(7)]  # weekday (Monday first) x hour, in the viewer's zone
    for kind, key, count in await session.execute(union_all(by_days, by_slots)):
        if int(kind) == 0:
            by_day[EPOCH + timedelta(days=int(key))] += int(count)
        else:
            heat[int(key) // 24][int(key) % 24] += int(count)
    # Per channel: `channel IN (every channel)` on the index led by channel, read in its order
    # (PostgreSQL's GROUPING SETS over quarter and channel in one scan measured slower than two).
    by_channel = dict(
        (await session.execute(
            select(R.channel, func.count())
            .where(R.channel.in_(CHANNELS), R.created_quarter >= start // QUARTER, R.created_quarter < end // QUARTER, *conditions)
            .group_by(R.channel)
        )).all()
    )
    return {
        "total": sum(by_day.values()),
        "by_channel": {channel: int(count) for channel, count in sorted(by_channel.items())},
        "by_day": [{"date": d.isoformat(), "count": by_day.get(d, 0)} for d in wanted.days],
        "by_weekday_hour": heat,
    }


async def _resolved(session: AsyncSession, start: int, end: int, conditions: list[Any], offsets: list[tuple[int, int]]) -> dict[str, Any]:
    """Tickets (and complaints) resolved per local day: grouped by quarter in index order first, as `_volume`."""
    quarters = (
        select(R.resolved_quarter.label("q"), func.count().label("n"), func.sum(case((R.type == "complaint", 1), else_=0)).label("complaints"))
        .where(R.resolved_quarter >= start // QUARTER, R.resolved_quarter < end // QUARTER, *conditions)
        .group_by(R.resolved_quarter)
        .subquery()
    )
    day = _div(_local_quarter(quarters.c.q, offsets), 96)
    by_day: dict[date, int] = {}
    complaints = 0
    for local_day, count, complaint_count in await session.execute(select(day, func.sum(quarters.c.n), func.sum(quarters.c.complaints)).group_by(day)):
        by_day[EPOCH + timedelta(days=int(local_day))] = int(count)
        complaints += int(complaint_count or 0)
    return {"by_day": by_day, "complaints": complaints}


async def _handled(session: AsyncSession, start: int, end: int, conditions: list[Any]) -> list[tuple[int, int]]:
    """Tickets resolved in the range per cohort (an agent's "handled")."""
    rows = await session.execute(
        select(R.cohort_id, func.count())
        .where(R.resolved_quarter >= start // QUARTER, R.resolved_quarter < end // QUARTER, *conditions)
        .group_by(R.cohort_id)
    )
    return [(cohort_id, count) for cohort_id, count in rows]


async def _open_at_start(session: AsyncSession, start: int, conditions: list[Any]) -> int:
    """Unresolved when the range began = opened before it minus resolved before it (a ticket is
    resolved after it is opened): two counts over an index each, not a scan of all opened before."""
    opened_before = await session.scalar(select(func.count()).select_from(R).where(R.created_quarter < start // QUARTER, *conditions))
    resolved_before = await session.scalar(select(func.count()).select_from(R).where(R.resolved_quarter < start // QUARTER, *conditions))
    return int(opened_before or 0) - int(resolved_before or 0)


def _backlog(open_at_start: int, opened_by_day: list[dict[str, Any]], resolved_by_day: dict[date, int]) -> list[dict[str, Any]]:
    """Unresolved tickets at the end of each day: those open when the range began, plus opened, minus resolved."""
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
            .join(R, R.ticket_id == AuditEvent.subject_id)
            .where(moved, R.type == "complaint", *conditions)
        )
        or 0
    )
