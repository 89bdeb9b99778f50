"""Live chat at scale: 1,000 widgets open on one hub process, and the time a message takes through it.

Usage (from the repository root):

    python bench/chat.py                          # 1000 connections, 500 messages, SQLite
    python bench/chat.py --connections 200 --messages 100 --database postgresql+asyncpg://...

Every connection says hello like a widget (its own visitor and email). Then
messages go one at a time from connections chosen at random; a message's
round trip is from sending the frame to the `ack` coming back. The first
message of a chat is acknowledged once the pipeline has stored it (its own
customer, ticket and interaction: the ack carries the ticket); a later one
once it is stored raw (accept, record, process), so the figures are given for
both kinds as well as for all messages.
The widgets are aiohttp WebSocket clients in the same process, so the
resident memory per connection counts both ends of each socket; CPU time is
the process's (the hub and the clients), beside the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from contactcenter.app import create_app  # noqa: E402
from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.settings import load_settings  # noqa: E402
from tests.factories import settings_with  # noqa: E402
from tests.web.workspace_helpers import add_agent  # noqa: E402

ORIGIN = "http://shop.bench"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def open_widget(client: TestClient, number: int) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/chat/ws", headers={"Origin": ORIGIN})
    await ws.send_json({"type": "hello", "name": f"Visitor {number}", "email": f"visitor{number}@bench.example"})
    welcome = await ws.receive_json()
    assert welcome["type"] == "welcome", welcome
    return ws


async def round_trip(ws: aiohttp.ClientWebSocketResponse, client_id: str) -> tuple[float, str]:
    started = time.perf_counter()
    await ws.send_json({"type": "message", "client_id": client_id, "text": f"Where is my order? ({client_id})"})
    ack = await ws.receive_json()
    assert ack["type"] == "ack" and ack["client_id"] == client_id, ack
    return time.perf_counter() - started, ack["token"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--database", default="")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        settings = load_settings(environ={"CONTACTCENTER_HTTP_SECRET_KEY": "bench", "CONTACTCENTER_EMAIL_SMTP_PORT": "0"})
        settings = settings_with(settings, chat={"allowed_origins": [ORIGIN]}, tickets={"auto_acknowledge": False})
        # The chat queue open round the clock: a run at night measures chats, not offline tickets.
        settings = dataclasses.replace(settings, calendars={**settings.calendars, "office": settings.calendars["always"]})
        hub = Hub.create(settings, url)
        await upgrade(hub.engine)
        await add_agent(hub, presence="available", capacity={"chat": 1_000_000})
        app = create_app(settings, hub, workers=False)
        client = TestClient(TestServer(app), connector=aiohttp.TCPConnector(limit=0))
        await client.start_server()
        widgets = []
        try:
            before = rss_kib()
            widgets = [await open_widget(client, n) for n in range(args.connections)]
            per_connection = (rss_kib() - before) / args.connections
            print(f"{args.connections} connections open; resident memory {per_connection:.1f} KiB per connection (both ends)")

            wall, cpu, load = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
            trips, first, later, talked = [], [], [], set()
            for number in range(args.messages):
                chosen = rng.randrange(len(widgets))
                trip, _ = await round_trip(widgets[chosen], f"m{number}")
                trips.append(trip * 1000)
                (later if chosen in talked else first).append(trip * 1000)
                talked.add(chosen)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
            print(
                f"message -> ack: p50 {statistics.median(trips):.1f} ms, "
                f"p99 {percentile(trips, 0.99):.1f} ms over {len(trips)} messages; {wall:.1f} s wall, {cpu:.1f} s CPU; "
                f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after"
            )
            for label, values in (("first message of a chat (waits for its ticket)", first), ("later messages (stored raw)", later)):
                if values:
                    print(f"  {label}: p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms over {len(values)}")

        finally:
            for ws in widgets:
                await ws.close()
            await client.close()
            await hub.close()


if __name__ == "__main__":
    asyncio.run(main())
