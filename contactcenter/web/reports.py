"""Reports over HTTP: `GET /api/v1/reports/summary` (JSON or `&format=csv`) and
`GET /supervisor/reports` (the page, with charts and a CSV link per table)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.db.models import Agent, utcnow
from contactcenter.errors import InputError
from contactcenter.i18n import current_reader
from contactcenter.keys import HUB
from contactcenter.reports import charts
from contactcenter.reports.filters import CHANNELS, TYPES, ReportFilter, parse_report_filter
from contactcenter.reports.rows import REQUEST_LIMIT, refresh_all
from contactcenter.reports.summary import report_summary
from contactcenter.reports.tables import WEEKDAYS, cell, report_tables, to_csv
from contactcenter.web.auth import require
from contactcenter.web.sessions import private_page, require_person


def setup_reports(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/summary", handle_summary_api)
    app.router.add_get("/supervisor/reports", handle_report_page)


async def _summary(request: web.Request, zone: str) -> tuple[ReportFilter, dict[str, Any]]:
    """The figures in the viewer's zone (`?tz=` overrides it), after bringing the report rows up to
    what changed since the worker last ran (rows.py: a few rows, or at most REQUEST_LIMIT)."""
    wanted = parse_report_filter(dict(request.query), utcnow(), zone)
    hub = request.app[HUB]
    await refresh_all(hub, limit=REQUEST_LIMIT)
    async with hub.reads() as session:
        return wanted, await report_summary(session, hub.settings, wanted, hub.reads)


async def _zone_of(request: web.Request, agent_id: int | None) -> str:
    """A token held by an agent reads in that agent's zone; other tokens in UTC."""
    if agent_id is None:
        return "UTC"
    async with request.app[HUB].reads() as session:
        agent = await session.get(Agent, agent_id)
    return (agent.timezone if agent else "") or "UTC"


def _csv_response(request: web.Request, wanted: ReportFilter, summary: dict[str, Any]) -> web.Response:
    tables = report_tables(summary)
    name = request.query.get("table", "summary")
    if name not in tables:
        raise InputError(f"table must be one of {', '.join(tables)}", fields={"table": "unknown table"})
    filename = f"report-{name}-{wanted.first_day.isoformat()}-{wanted.last_day.isoformat()}.csv"
    return web.Response(
        text=to_csv(tables[name]),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def handle_summary_api(request: web.Request) -> web.Response:
    principal = await require(request, "supervisor")
    wanted, summary = await _summary(request, await _zone_of(request, principal.agent_id))
    if request.query.get("format") == "csv":
        return _csv_response(request, wanted, summary)
    return web.json_response(summary)


async def handle_report_page(request: web.Request) -> web.Response:
    person = await require_person(request, "supervisor")
    wanted, summary = await _summary(request, current_reader().timezone or "UTC")  # the signed-in agent's zone (sessions.py)
    if request.query.get("format") == "csv":
        return _csv_response(request, wanted, summary)
    days = [(row["date"], row["count"]) for row in summary["volume"]["by_day"]]
    heat = summary["volume"]["by_weekday_hour"]
    return private_page(
        request,
        person,
        "supervisor_report.html",
        report=summary,
        tables=report_tables(summary),
        wanted=wanted,
        query=wanted.query(),
        channels=CHANNELS,
        types=TYPES,
        cell=cell,
        weekdays=WEEKDAYS,
        volume_bars=charts.bars(days),
        backlog_line=charts.line([(row["date"], row["open"]) for row in summary["backlog"]]),
        channel_bars=charts.bars(list(summary["volume"]["by_channel"].items())),
        heat_top=max((v for row in heat for v in row), default=0),
        heat_shade=charts.heat_shade,
        chart=charts,
    )
