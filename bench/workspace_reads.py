"""Workspace read benchmark: search at 100,000 interactions, the ticket page at 2,000 for one customer.

    python bench/workspace_reads.py [--interactions 100000] [--history 2000] [--rounds 40] [--database URL]

Seeds a database (a SQLite file in a temporary directory by default; give a
PostgreSQL URL of an empty, migrated database to try that one) with customers,
tickets and interactions whose texts are drawn from a 3,000-word vocabulary,
one customer holding `--history` interactions, and one message holding a word
found nowhere else. Then, through real HTTP on loopback with a signed-in
agent, it alternates: search (the page behind the header's box) for the rare word, for two common words,
search for a phone number written with punctuation, and the ticket page of
the customer with the long history. Reported per kind: median and p95 wall
time, and CPU seconds per request of this process (client and server share it,
so CPU is an upper bound for the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from contactcenter.app import create_app  # noqa: E402
from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.db.models import Agent, ContactPoint, Customer, Interaction, Ticket, utcnow  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.settings import load_settings  # noqa: E402
from contactcenter.web.auth import hash_password  # noqa: E402

PASSWORD = "bench password 1"
RARE = "xylophonist"


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]


async def seed(hub: Hub, interactions: int, history: int, rng: random.Random) -> str:
    words = vocabulary(rng)
    customers = max(1, interactions // 20)
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        session.add(Agent(email="bench@example.com", name="Bench Agent", role="agent", password_hash=await hash_password(PASSWORD)))
        await session.execute(insert(Customer), [{"name": f"Customer {i}", "name_key": f"customer {i}"} for i in range(customers)])
        first = await session.scalar(select(Customer.id).order_by(Customer.id).limit(1))
        await session.execute(
            insert(ContactPoint),
            [{"customer_id": first + i, "kind": "phone", "value": f"+1415555{i:04d}", "evidence": "verified"} for i in range(min(customers, 9999))],
        )
        await session.execute(
            insert(Ticket),
            [{"customer_id": first + i, "subject": " ".join(rng.choices(words, k=4)), "channel": "email"} for i in range(customers)],
        )
        ticket0 = await session.scalar(select(Ticket.id).order_by(Ticket.id).limit(1))
    rows, done = [], 0
    long_history = first  # customer 0 holds `history` interactions on its one ticket
    for n in range(interactions):
        customer = long_history if n < history else first + rng.randrange(customers)
        body = " ".join(rng.choices(words, k=rng.randint(8, 40)))
        if n == interactions // 2:
            body += " " + RARE
        rows.append({
            "ticket_id": ticket0 + (customer - first), "customer_id": customer, "channel": "email", "direction": rng.choice(("inbound", "outbound")),
            "text": body, "created_at": now - timedelta(minutes=interactions - n),
        })
        if len(rows) == 5000 or n == interactions - 1:
            async with hub.sessions() as session, session.begin():
                await session.execute(insert(Interaction), rows)
            done += len(rows)
            rows = []
            print(f"\rseeded {done}/{interactions} interactions", end="", file=sys.stderr)
    print(file=sys.stderr)
    # What autovacuum does after a bulk load; without it PostgreSQL plans for empty tables.
    async with hub.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return f"CC-{ticket0:06d}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database", default="")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        settings = load_settings(environ={"CONTACTCENTER_HTTP_SECRET_KEY": "bench", "CONTACTCENTER_EMAIL_SMTP_PORT": "0"})
        hub = Hub.create(settings, url)
        await upgrade(hub.engine)
        started = time.perf_counter()
        reference = await seed(hub, args.interactions, args.history, random.Random(args.seed))
        print(f"seeding took {time.perf_counter() - started:.1f} s", file=sys.stderr)
        client = TestClient(TestServer(create_app(settings, hub, workers=False)))
        await client.start_server()
        try:
            login = await client.get("/login")
            token = (await login.text()).split('name="csrf_token" value="')[1].split('"')[0]
            await client.post("/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}, allow_redirects=False)
            kinds = {
                "search, rare word": f"/agent/search?q={RARE}",
                "search, phone as written": "/agent/search?q=(415)%20555-0042",
                "search, two common words": None,  # filled below from the vocabulary
                f"ticket page, {args.history} interactions": f"/agent/tickets/{reference}",
            }
            common = vocabulary(random.Random(args.seed))[:2]
            kinds["search, two common words"] = f"/agent/search?q={common[0]}%20{common[1][:3]}"
            timings: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
            for name, path in kinds.items():  # warm-up: caches and prepared statements
                response = await client.get(path)
                assert response.status == 200, (name, response.status, (await response.text())[:300])
            for _ in range(args.rounds):
                for name, path in kinds.items():  # alternating, so drift hits every kind alike
                    wall, cpu = time.perf_counter(), time.process_time()
                    response = await client.get(path)
                    await response.read()
                    timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            found = await (await client.get(f"/agent/search?q={RARE}")).text()
            assert found.count('<li data-reference="') == 1, "the rare word is in exactly one ticket"
        finally:
            await client.close()
            await hub.close()
    engine = url.partition(":")[0].partition("+")[0]
    print(f"workspace reads, {engine}, {args.interactions} interactions, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.rounds} rounds")
    for name, values in timings.items():
        walls = sorted(v[0] for v in values)
        cpu = statistics.mean(v[1] for v in values)
        print(f"  {name:32s} median {statistics.median(walls) * 1000:6.1f} ms  p95 {walls[int(len(walls) * 0.95) - 1] * 1000:6.1f} ms  cpu {cpu * 1000:6.1f} ms/request")


if __name__ == "__main__":
    asyncio.run(main())
