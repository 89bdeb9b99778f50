"""CPU the hub spends per intake request outside the ingest pipeline.

Usage (from the repository root):

    python bench/http_cost.py                        # sms voice web api, 5 rounds of 200 contacts each
    python bench/http_cost.py --channels api --rounds 10

The hub runs in this process's main thread (SQLite file, no background
workers, the settings `bench/run.py` gives its hubs); a client in another
thread sends contacts one at a time over loopback, as `bench/run.py` does, and
reads the main thread's CPU clock around each one. The channels' calls to
`ingest()` and `accept()` are timed on the same clock, so the difference is
what a request costs on top of ingest. SMS goes through `accept()`: it answers
once the message is stored and the pipeline runs right after, so here the
call also waits for that processing (the answer comes later than in service,
but the CPU counted is the same) and "in ingest" is storing plus processing.
What a request costs on top: HTTP parsing, middlewares, the signature check,
authentication, parsing, templates, queries after ingest and the answer.
SQL statements and connection checkouts outside ingest are counted too: they
do not depend on what else the machine is doing.
Only the hub's thread is counted; the database driver's thread is not. A web
contact is the visit: GET the form, then POST it. Figures are medians over
the rounds, as other work on the machine makes single rounds noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench.run import ACCOUNT_SID, OUR_NUMBER, TWILIO_TOKEN, Driver, Hub as Target  # noqa: E402
from bench.traffic import Traffic  # noqa: E402
from contactcenter.channels import twilio_sms, twilio_voice  # noqa: E402
from contactcenter.channels import web as web_channel  # noqa: E402
from contactcenter.app import create_app  # noqa: E402
from contactcenter.contact import InboundContact  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.pipeline.context import IngestResult  # noqa: E402
from contactcenter.pipeline.run import accept, ingest  # noqa: E402
from contactcenter.settings import Settings, load_settings  # noqa: E402
from contactcenter.web.auth import create_api_token  # noqa: E402
from tests.factories import settings_with  # noqa: E402
from tests.hubprocess import free_port  # noqa: E402

CHANNELS = ("sms", "voice", "web", "api")


def hub_settings(workdir: Path, port: int) -> Settings:
    """What `bench/run.py` configures for its hubs."""
    return settings_with(
        load_settings(environ={}),
        database={"url": f"sqlite+aiosqlite:///{workdir / 'bench.db'}"},
        http={"port": port, "public_url": f"http://127.0.0.1:{port}", "secret_key": "bench-secret"},
        web={"rate_limit_per_minute": 10_000_000},
        twilio={"auth_token": TWILIO_TOKEN, "account_sid": ACCOUNT_SID, "phone_number": OUR_NUMBER},
        email={"smtp_port": 0},  # any free port: the SMTP receiver is not measured
    )


class IngestMeter:
    """CPU seconds and database use of the hub inside ingest(), wrapped around the channels' calls.

    A handler awaits ingest() and nothing else runs on the hub's loop while
    the client sends one contact at a time, so the thread's CPU clock across
    that await is ingest's own cost (its database work on aiosqlite's thread
    is not counted on either side), and the SQL statements and connection
    checkouts meanwhile are ingest's. SQLAlchemy's events count those.
    """

    def __init__(self) -> None:
        self.inside = False
        self.spent = 0.0
        self.statements: Counter[bool] = Counter()  # by "inside ingest"
        self.checkouts: Counter[bool] = Counter()

    def install(self) -> None:
        for module in (twilio_sms, twilio_voice, web_channel):
            module.ingest = self.timed  # type: ignore[attr-defined]
        twilio_sms.accept = self.timed_accept  # type: ignore[attr-defined]

    def watch(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._count_statement)
        event.listen(engine.sync_engine, "checkout", self._count_checkout)

    def reset(self) -> None:
        self.spent = 0.0
        self.statements.clear()
        self.checkouts.clear()

    async def timed(self, hub: Hub, contact: InboundContact, *, raw: bytes | None = None) -> IngestResult:
        started = time.thread_time()
        self.inside = True
        try:
            return await ingest(hub, contact, raw=raw)
        finally:
            self.inside = False
            self.spent += time.thread_time() - started

    async def timed_accept(self, hub: Hub, contact: InboundContact, *, raw: bytes | None = None) -> None:
        """accept(), then the processing it leaves to the writer (see the module's docstring)."""
        started = time.thread_time()
        self.inside = True
        try:
            await accept(hub, contact, raw=raw)
            assert hub.ingest_writer is not None
            await hub.ingest_writer.idle.wait()
        finally:
            self.inside = False
            self.spent += time.thread_time() - started

    def _count_statement(self, *args: Any) -> None:
        self.statements[self.inside] += 1

    def _count_checkout(self, *args: Any) -> None:
        self.checkouts[self.inside] += 1


def time_requests(target: Target, token: str, channel: str, count: int, hub_clock: int) -> float:
    """CPU seconds of the hub's thread while this thread sends `count` contacts, one at a time."""

    async def send_all() -> float:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            driver = Driver([target], token, TWILIO_TOKEN, http, Traffic(seed=11))
            spent = 0.0
            for _ in range(count):
                started = time.clock_gettime(hub_clock)
                if error := await driver.send(channel):
                    raise SystemExit(f"{channel}: the hub refused a contact: {error}")
                spent += time.clock_gettime(hub_clock) - started
            return spent

    return asyncio.run(send_all())


async def measure(channel: str, rounds: int, batch: int, meter: IngestMeter) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cc-httpcost-") as workdir:
        settings = hub_settings(Path(workdir), port)
        hub = Hub.create(settings)
        runner = web.AppRunner(create_app(settings, hub, workers=False), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with hub.sessions() as session, session.begin():
                token = await create_api_token(session, "bench", "intake")
            target = Target(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", None)
            meter.watch(hub.engine)
            hub_clock = time.pthread_getcpuclockid(threading.get_ident())
            await asyncio.to_thread(time_requests, target, token, channel, batch // 4, hub_clock)  # warm-up
            per_request, per_ingest = [], []
            statements, checkouts = 0, 0
            for _ in range(rounds):
                meter.reset()
                per_request.append(await asyncio.to_thread(time_requests, target, token, channel, batch, hub_clock) / batch)
                per_ingest.append(meter.spent / batch)
                statements, checkouts = statements + meter.statements[False], checkouts + meter.checkouts[False]
        finally:
            await runner.cleanup()
    outside = statistics.median(r - i for r, i in zip(per_request, per_ingest, strict=True))
    return {
        "request_ms": statistics.median(per_request) * 1000,
        "ingest_ms": statistics.median(per_ingest) * 1000,
        "outside_ms": outside * 1000,
        "statements": statements / (rounds * batch),
        "checkouts": checkouts / (rounds * batch),
    }


async def main_async(options: argparse.Namespace) -> None:
    print(f"CPU ms per contact, median of {options.rounds} rounds of {options.batch}")
    print("and the SQL statements and connection checkouts per contact outside ingest")
    print(f"{'channel':<8} {'request':>8} {'in ingest':>10} {'outside ingest':>15} {'statements':>11} {'checkouts':>10}")
    meter = IngestMeter()
    meter.install()
    for channel in options.channels:
        r = await measure(channel, options.rounds, options.batch, meter)
        print(
            f"{channel:<8} {r['request_ms']:>8.2f} {r['ingest_ms']:>10.2f} {r['outside_ms']:>15.2f}"
            f" {r['statements']:>11.2f} {r['checkouts']:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", nargs="*", default=list(CHANNELS), choices=CHANNELS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
