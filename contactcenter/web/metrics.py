"""`GET /metrics` (DESIGN.md §5): the hub's state in Prometheus' text format.

What an operator graphs and alerts on: the ingest backlog (contacts accepted
but not yet processed), what each process wrote, and the work waiting in the
database (pending and failed inbound records, the outbox, unassigned tickets).
Counters are per process, as Prometheus expects when it scrapes each process;
the database figures are the same from every process. It needs an admin token
(Prometheus sends it as `authorization: credentials`).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from contactcenter.db.models import InboundRecord, OutboxMessage, Ticket
from contactcenter.keys import HUB
from contactcenter.web.auth import require

OPEN_TICKET_STATUSES = ("new", "open", "pending")


def setup_metrics(app: web.Application) -> None:
    app.router.add_get("/metrics", handle_metrics)


async def handle_metrics(request: web.Request) -> web.Response:
    await require(request, "admin")
    hub = request.app[HUB]
    writer = hub.ingest_writer
    lines = [
        *_family("contactcenter_ingest_backlog", "gauge", "Contacts this process holds, accepted or waiting, not yet processed.",
                 [({}, writer.backlog() if writer else 0)]),
        *_family("contactcenter_ingest_processed_total", "counter", "Contacts this process ran through the pipeline.",
                 [({"channel": channel}, count) for channel, count in sorted((writer.processed if writer else {}).items())]),
        *_family("contactcenter_ingest_batches_total", "counter", "Transactions this process wrote contacts in.",
                 [({}, writer.batches if writer else 0)]),
    ]
    async with hub.reads() as session:
        inbound = await session.execute(select(InboundRecord.status, func.count()).group_by(InboundRecord.status))
        outbox = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        unassigned = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_TICKET_STATUSES), Ticket.assignee_id.is_(None))
        )
    lines += _family("contactcenter_inbound_records", "gauge", "Raw inbound records by status (pending: accepted, not yet processed).",
                     [({"status": status}, count) for status, count in inbound])
    lines += _family("contactcenter_outbox_messages", "gauge", "Outbound messages by status.",
                     [({"status": status}, count) for status, count in outbox])
    lines += _family("contactcenter_tickets_unassigned", "gauge", "Open tickets nobody is assigned to.", [({}, unassigned or 0)])
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


def _family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
        lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")
    return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
