"""The report as tables: what the page shows and what each CSV holds, from one place.

The page and the CSV files render these same rows, and the API's JSON is
what they are built from, so the three cannot disagree.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from contactcenter.i18n import N_

# English in the CSV; the page translates them (N_ marks them for extraction).
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
Table = tuple[list[str], list[list[Any]]]


def report_tables(summary: dict[str, Any]) -> dict[str, Table]:
    opened = {row["date"]: row["count"] for row in summary["volume"]["by_day"]}
    resolved = {row["date"]: row["count"] for row in summary["resolved_by_day"]}
    backlog = {row["date"]: row["open"] for row in summary["backlog"]}
    csat = summary["csat"]
    return {
        "summary": (
            ["figure", "value"],
            [
                ["tickets", summary["volume"]["total"]],
                ["first_response_median_seconds", summary["first_response"]["median_seconds"]],
                ["first_response_p90_seconds", summary["first_response"]["p90_seconds"]],
                ["resolution_median_seconds", summary["resolution"]["median_seconds"]],
                ["resolution_p90_seconds", summary["resolution"]["p90_seconds"]],
                ["sla_met", summary["sla"]["met"]],
                ["sla_breached", summary["sla"]["breached"]],
                ["sla_compliance", summary["sla"]["compliance"]],
                ["complaints_opened", summary["complaints"]["opened"]],
                ["complaints_resolved", summary["complaints"]["resolved"]],
                ["complaints_reopened", summary["complaints"]["reopened"]],
                ["csat_responses", csat["responses"]],
                ["csat_average", csat["average"]],
            ],
        ),
        "channels": (["channel", "tickets"], [[c, n] for c, n in summary["volume"]["by_channel"].items()]),
        "days": (["date", "opened", "resolved", "backlog"], [[d, opened[d], resolved.get(d, 0), backlog.get(d)] for d in opened]),
        "heatmap": (["weekday"] + [f"{h:02d}" for h in range(24)], [[WEEKDAYS[w], *row] for w, row in enumerate(summary["volume"]["by_weekday_hour"])]),
        "agents": (
            ["agent_id", "agent", "handled", "tickets", "first_response_median_seconds", "first_response_p90_seconds", "calls", "average_handle_seconds"],
            [
                [a["agent_id"], a["name"], a["handled"], a["tickets"], a["first_response"]["median_seconds"], a["first_response"]["p90_seconds"], a["calls"], a["average_handle_seconds"]]
                for a in summary["agents"]
            ],
        ),
        "tiers": _group_table("tier", summary["tiers"]),
        "segments": _group_table("segment", summary["segments"]),
    }


def _group_table(key: str, groups: list[dict[str, Any]]) -> Table:
    header = [key, "tickets", "first_response_median_seconds", "first_response_p90_seconds", "resolution_median_seconds",
              "resolution_p90_seconds", "sla_met", "sla_breached", "sla_compliance", "average_customer_value"]
    rows = [
        [g[key], g["tickets"], g["first_response"]["median_seconds"], g["first_response"]["p90_seconds"], g["resolution"]["median_seconds"],
         g["resolution"]["p90_seconds"], g["sla"]["met"], g["sla"]["breached"], g["sla"]["compliance"], g["average_customer_value"]]
        for g in groups
    ]
    return header, rows


def cell(value: Any) -> str:
    """How a number is written in CSV and in the page's data-value: empty for none, no trailing .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_csv(table: Table) -> str:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(cell(v)) for v in row])
    return out.getvalue()


def _safe(text: str) -> str:
    """A name starting with = + - @ would run as a formula in a spreadsheet (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
