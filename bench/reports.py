"""How fast the supervisor's report answers over a million interactions, on SQLite and PostgreSQL.

Usage (from the repository root):

    python bench/reports.py                          # both databases, 1,000,000 interactions
    python bench/reports.py --db sqlite --interactions 100000

It builds a fresh database per engine (a SQLite file under a temporary folder,
a scratch PostgreSQL database on 127.0.0.1:5432 that is dropped afterwards),
migrated to head, and loads a year of made-up traffic in bulk: 4 interactions
per ticket, 50 agents, 5 queues, customers with tiers and segments, calls
with talk times, reopened complaints. Tickets carry their business-time
figures as the hub keeps them (`reports/ticket_times.py`), with values drawn
at random: the bench measures the report's reads, not the arithmetic. The
report rows and cohorts (`reports/rows.py`) are made by the hub's own
`row_values` and loaded in bulk with the rest, and the marks set as the
worker would leave them. Then it times what a report request does: the
refresh of changed rows (`refresh_report_rows`, nothing to do here but look)
and `report_summary` (what GET /api/v1/reports/summary and the page run), for
several ranges, filters and a time zone, each 3 times, the engines
alternating round by round, and prints the median wall and CPU time of this
process (PostgreSQL's own CPU is in the server and not counted in CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine  # noqa: E402

from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.reports.rows import REQUEST_LIMIT, refresh_report_rows, row_values, segments_key  # noqa: E402
from contactcenter.reports.filters import parse_report_filter  # noqa: E402
from contactcenter.reports.summary import report_summary  # noqa: E402
from contactcenter.settings import load_settings  # noqa: E402

PG_SERVER = os.environ.get("CONTACTCENTER_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
CHANNELS = ("email", "sms", "voice", "web", "api")
TIERS = ("", "", "", "gold", "VIP")
SEGMENTS = ([], ["retail"], ["wholesale"], ["retail", "eu"])
PER_TICKET = 4
AGENTS = 50
ROUNDS = 3


def generate(interactions: int, today: date, seed: int = 7) -> dict[str, list[tuple]]:
    """Rows per table, as tuples in the column order of COLUMNS."""
    rng = random.Random(seed)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    tickets_n = interactions // PER_TICKET
    customers_n = max(1, tickets_n // 5)
    rows: dict[str, list[tuple]] = {k: [] for k in COLUMNS}
    rows["queues"] = [(i, name, "[]", "standard", "office", now) for i, name in enumerate(("general", "billing", "technical", "voice", "vip"), 1)]
    rows["agents"] = [
        (i, f"agent{i}@bench.example", f"Agent {i}", "", "agent", "{}", "{}", "available", now, True, now) for i in range(1, AGENTS + 1)
    ]
    for i in range(1, customers_n + 1):
        tier = rng.choice(TIERS)
        rows["customers"].append(
            (i, f"Customer {i}", "", tier, json.dumps(rng.choice(SEGMENTS)), round(rng.lognormvariate(6, 1.5), 2), "", "", since := now - timedelta(seconds=rng.randrange(365 * 86400)), since)
        )
    interaction_id = 0
    audit_id = 0
    for t in range(1, tickets_n + 1):
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        channel = rng.choice(CHANNELS)
        kind = "complaint" if rng.random() < 0.1 else rng.choice(("question", "request"))
        answered = created + timedelta(seconds=rng.randrange(60, 36000)) if rng.random() < 0.95 else None
        resolved = answered + timedelta(seconds=rng.randrange(600, 200000)) if answered and rng.random() < 0.85 else None
        if resolved and resolved > now:
            resolved = None
        first_due = created + timedelta(hours=8)
        resolution_due = created + timedelta(hours=48)
        late = (answered and answered > first_due) or (resolved and resolved > resolution_due)
        rows["tickets"].append(
            (t, rng.randrange(1, customers_n + 1), "Bench", kind, "resolved" if resolved else "open", 2, rng.randrange(1, 6),
             rng.randrange(1, AGENTS + 1), channel, "", created, created, created, first_due, resolution_due, answered, resolved,
             "breached" if late else "ok", rng.randrange(60, 30000) if answered else None, rng.randrange(600, 150000) if resolved else None)
        )
        for n in range(PER_TICKET):
            interaction_id += 1
            meta = {"call": {"talk_seconds": rng.randrange(30, 1800)}} if channel == "voice" and n == 0 else {}
            rows["interactions"].append(
                (interaction_id, t, rows["tickets"][-1][1], channel, "inbound" if n % 2 == 0 else "outbound", None, None, "", "hello",
                 "", "", "", "", json.dumps(meta), created + timedelta(minutes=n * 30))
            )
        if kind == "complaint" and resolved and rng.random() < 0.1:
            audit_id += 1
            rows["audit_events"].append((audit_id, resolved + timedelta(hours=2), "system", "ticket.status", "ticket", t, json.dumps({"from": "resolved", "to": "open"})))
    add_report_rows(rows)
    return rows


def add_report_rows(rows: dict[str, list[tuple]]) -> None:
    """The report rows and cohorts as the hub's refresh would make them (rows.row_values), and its marks."""
    customers = {r[0]: SimpleNamespace(**dict(zip(COLUMNS["customers"], r))) for r in rows["customers"]}
    for c in customers.values():
        c.segments = json.loads(c.segments)
    calls: dict[int, tuple[int, int]] = {}
    for r in rows["interactions"]:
        talk = json.loads(r[13]).get("call", {}).get("talk_seconds")
        if talk is not None:
            count, seconds = calls.get(r[1], (0, 0))
            calls[r[1]] = (count + 1, seconds + talk)
    cohorts: dict[tuple[int, str, str], int] = {}
    for r in rows["tickets"]:
        ticket = SimpleNamespace(**dict(zip(COLUMNS["tickets"], r)))
        customer = customers[ticket.customer_id]
        key = (ticket.assignee_id or 0, customer.tier, segments_key(customer.segments))
        cohort = cohorts.setdefault(key, len(cohorts) + 1)
        values = row_values(ticket, customer, None, cohort, calls.get(ticket.id, (0, 0)))  # type: ignore[arg-type]
        rows["report_rows"].append(tuple(values[c] for c in COLUMNS["report_rows"]))
    rows["report_cohorts"] = [(i, *key) for key, i in cohorts.items()]
    # As the worker leaves them after a complete pass: the time it began (the bench's "now").
    newest = max(max(r[11] for r in rows["tickets"]), max(c.updated_at for c in customers.values()))
    rows["report_marks"] = [("tickets", newest), ("customers", newest)]


COLUMNS = {
    "queues": ("id", "name", "skills", "sla_policy", "calendar", "created_at"),
    "agents": ("id", "email", "name", "password_hash", "role", "skills", "capacity", "presence", "presence_changed_at", "active", "created_at"),
    "customers": ("id", "name", "company", "tier", "segments", "lifetime_value", "notes", "name_key", "created_at", "updated_at"),
    "tickets": ("id", "customer_id", "subject", "type", "status", "priority", "queue_id", "assignee_id", "channel", "source_address",
                "created_at", "updated_at", "last_activity_at", "first_response_due_at", "resolution_due_at", "first_responded_at",
                "resolved_at", "sla_state", "first_response_seconds", "resolution_seconds"),
    "interactions": ("id", "ticket_id", "customer_id", "channel", "direction", "provider_id", "author_agent_id", "subject", "text", "html",
                     "matched_by", "match_evidence", "delivery_status", "meta", "created_at"),
    "audit_events": ("id", "at", "actor", "action", "subject_type", "subject_id", "details"),
    "report_cohorts": ("id", "agent_id", "tier", "segments"),
    "report_rows": ("ticket_id", "cohort_id", "created", "resolved", "created_quarter", "resolved_quarter", "queue_id", "channel", "type", "first_response_seconds",
                    "resolution_seconds", "sla_met", "sla_breached", "customer_value", "calls", "call_seconds", "ticket_updated_at",
                    "customer_updated_at"),
    "report_marks": ("name", "at"),
}
JSON_COLUMNS = {"skills", "capacity", "segments", "meta", "details"}


def load_sqlite(path: Path, rows: dict[str, list[tuple]]) -> None:
    def value(v: object) -> object:
        # As SQLAlchemy stores them on SQLite: naive UTC text.
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v

    connection = sqlite3.connect(path)
    for table, columns in COLUMNS.items():
        marks = ",".join("?" * len(columns))
        connection.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", ([value(v) for v in row] for row in rows[table]))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def load_postgres(dsn: str, rows: dict[str, list[tuple]]) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        for table, columns in COLUMNS.items():
            await connection.copy_records_to_table(table, records=rows[table], columns=list(columns))
        # What autovacuum does after a bulk load (PostgreSQL 13+ vacuums after inserts too): without
        # the visibility map an index-only scan visits the table for every row it reads.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


RANGES = {
    "last 30 days": {"days": 30},
    "last 90 days": {"days": 90},
    "whole year (365 days)": {"days": 365},
    "30 days, tier=VIP": {"days": 30, "tier": "VIP"},
    "90 days, channel=voice, segment=retail": {"days": 90, "channel": "voice", "segment": "retail"},
    "whole year, tz=America/New_York": {"days": 365, "tz": "America/New_York"},
}


async def time_reports(url: str, today: date) -> dict[str, tuple[float, float]]:
    """One round: each range once; (wall, CPU) seconds."""
    settings = load_settings(environ={})
    engine = create_async_engine(url)
    found = {}
    try:
        for name, spec in RANGES.items():
            query = {"from": (today - timedelta(days=spec["days"] - 1)).isoformat(), "to": today.isoformat()}
            query.update({k: v for k, v in spec.items() if k != "days"})
            wanted = parse_report_filter(query, datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12))
            wall, cpu = time.perf_counter(), time.process_time()
            async with AsyncSession(engine) as session, session.begin():  # what web/reports.py does per request
                await refresh_report_rows(session, settings, REQUEST_LIMIT)
            async with AsyncSession(engine) as session:
                summary = await report_summary(session, settings, wanted, async_sessionmaker(engine))
            found[name] = (time.perf_counter() - wall, time.process_time() - cpu, summary["volume"]["total"])
    finally:
        await engine.dispose()
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--interactions", type=int, default=1_000_000)
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    rows = generate(args.interactions, today)
    print(f"generated {len(rows['interactions']):,} interactions, {len(rows['tickets']):,} tickets, "
          f"{len(rows['customers']):,} customers in {time.perf_counter() - started:.1f} s")
    urls: dict[str, str] = {}
    scratch = tempfile.mkdtemp(prefix="cc-bench-reports-")
    pg_name = f"cc_bench_reports_{uuid.uuid4().hex[:8]}"
    try:
        if args.db in ("sqlite", "both"):
            path = Path(scratch) / "reports.db"
            urls["sqlite"] = f"sqlite+aiosqlite:///{path}"
            engine = create_async_engine(urls["sqlite"])
            await upgrade(engine)
            await engine.dispose()
            started = time.perf_counter()
            load_sqlite(path, rows)
            print(f"sqlite: loaded in {time.perf_counter() - started:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
        if args.db in ("postgresql", "both"):
            admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
            await admin.dispose()
            urls["postgresql"] = f"{PG_SERVER}/{pg_name}"
            engine = create_async_engine(urls["postgresql"])
            await upgrade(engine)
            await engine.dispose()
            started = time.perf_counter()
            await load_postgres(urls["postgresql"].replace("postgresql+asyncpg", "postgresql"), rows)
            print(f"postgresql: loaded in {time.perf_counter() - started:.1f} s")
        del rows
        results: dict[str, dict[str, list[tuple[float, float, int]]]] = {db: {} for db in urls}
        for _ in range(ROUNDS):
            for db, url in urls.items():  # alternating, so drift on a shared machine hits both alike
                for name, figures in (await time_reports(url, today)).items():
                    results[db].setdefault(name, []).append(figures)
        print(f"\nreport_summary over {args.interactions:,} interactions; median of {ROUNDS} runs "
              f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})")
        print(f"{'range':42} {'db':11} {'tickets':>8} {'wall ms':>8} {'CPU ms':>7} {'worst wall ms':>14}")
        for name in RANGES:
            for db in urls:
                runs = results[db][name]
                wall = statistics.median(r[0] for r in runs) * 1000
                cpu = statistics.median(r[1] for r in runs) * 1000
                worst = max(r[0] for r in runs) * 1000
                print(f"{name:42} {db:11} {runs[0][2]:>8,} {wall:>8.0f} {cpu:>7.0f} {worst:>14.0f}")
    finally:
        if "postgresql" in urls:
            admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            await admin.dispose()
        for leftover in Path(scratch).glob("*"):
            leftover.unlink()
        os.rmdir(scratch)


if __name__ == "__main__":
    asyncio.run(main())
