"""How long four assigners take to place the contention scenario's tickets.

Usage (from the repository root):

    python bench/assignment.py                 # SQLite, then PostgreSQL, 3 rounds each
    python bench/assignment.py --db sqlite --rounds 5

`tests/test_assignment_concurrency.py` proves that four assigners racing over
1 000 tickets and 50 agents never assign a ticket twice nor overfill an agent;
how long that takes is a figure, measured here on the same scenario (built by
the test's own `_populate`, seed 6). Each round is a fresh database; the
engines run in this process, so the process CPU time is printed beside the
wall time (on PostgreSQL the server's CPU is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.routing.assignment import assign_waiting  # noqa: E402
from tests.routing_factories import prepare_queues, routing_settings  # noqa: E402
from tests.test_assignment_concurrency import ASSIGNERS, _populate  # noqa: E402

PG_SERVER = os.environ.get("CONTACTCENTER_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def _pg(statement: str) -> None:
    admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(statement))
    await admin.dispose()


async def one_round(db: str, workdir: Path) -> tuple[float, float, int]:
    """(wall seconds, process CPU seconds, tickets placed) for one fresh database."""
    name = f"cc_bench_assign_{uuid.uuid4().hex[:8]}"
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / (name + '.db')}"
    else:
        await _pg(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    try:
        engine = create_async_engine(url)
        await upgrade(engine)
        await engine.dispose()
        settings = routing_settings(workdir)
        hub = Hub.create(settings, url)
        await prepare_queues(hub)
        await _populate(hub, random.Random(6))
        await hub.close()
        assigners = [Hub.create(settings, url) for _ in range(ASSIGNERS)]
        wall, cpu = time.monotonic(), time.process_time()
        try:
            placed = await asyncio.gather(*(assign_waiting(h, batch=10) for h in assigners))
        finally:
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            for h in assigners:
                await h.close()
        return wall, cpu, sum(placed)
    finally:
        if db == "postgresql":
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cc-assign-") as workdir:
        for db in options.db:
            rounds = [await one_round(db, Path(workdir)) for _ in range(options.rounds)]
            walls, cpus = [r[0] for r in rounds], [r[1] for r in rounds]
            print(
                f"{db:<10} {ASSIGNERS} assigners placed {rounds[0][2]} tickets: wall median {statistics.median(walls):.2f} s"
                f" (max {max(walls):.2f}), process CPU median {statistics.median(cpus):.2f} s, {options.rounds} rounds"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", nargs="*", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
