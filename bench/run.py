"""Load generator for the hub: how many contacts per second, how fast, on which setup.

Usage (from the repository root):

    python bench/run.py --profile quick                  # < 2 minutes: SQLite, one process
    python bench/run.py --profile full                   # what docs/benchmarks.md quotes
    python bench/run.py --db postgresql --processes 2    # several hub processes, one port each
    python bench/run.py --target http://127.0.0.1:8080 --token cc_... --smtp-port 2525

It starts hub processes itself (SQLite file or a scratch PostgreSQL database on
127.0.0.1:5432) unless --target names a running one. Everything stays on
loopback, and every run is bounded in count and in time.

The mix: Twilio SMS and voice webhooks signed with twilio's RequestValidator,
the web form as a browser uses it (GET for the CSRF token, then POST), JSON
intake, and mail over SMTP (plain, multipart/alternative, attachments,
replies; repeat senders from a customer pool). A channel the hub does not
serve (404, or nothing on the SMTP port) is reported as absent and left out.

Each configuration is measured twice over: closed loop (a fixed number of
clients sending as fast as answers come: the maximum rate), then open loop at
fractions of that maximum (arrivals on a schedule, latency counted from the
scheduled moment so a slow hub cannot hide its queue). The report gives
contacts/s per channel and overall, latency p50/p95/p99, errors by kind, the
hub's peak RSS and the database size; the JSON lands in bench/results/ and an
SVG chart of throughput and p99 against offered load next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import aiosmtplib  # noqa: E402
import psutil  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.chart import write_chart  # noqa: E402
from bench.mail_sink import MailSink  # noqa: E402
from bench.traffic import Traffic  # noqa: E402
from bench.wire import KeptConnections, WireError  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PG_SERVER = os.environ.get("CONTACTCENTER_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TWILIO_TOKEN = "bench-twilio-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
OUR_NUMBER = "+14155550000"
MAILBOX = "support@example.com"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
INBOUND_METRIC = re.compile(r'^contactcenter_inbound_records\{status="([a-z_]+)"\} (\d+)$', re.MULTILINE)
UNSENT_METRIC = re.compile(r'^contactcenter_outbox_messages\{status="(?:pending|sending)"\} (\d+)$', re.MULTILINE)
DRAIN_LIMIT_SECONDS = 300
# The outbox counts as drained once its unsent count has not fallen for this long.
STALL_SECONDS = 2.0

# Share of each channel in the mix (renormalised over the channels present).
MIX = {"sms": 0.30, "voice": 0.10, "web": 0.20, "api": 0.20, "email": 0.20}

PROFILES: dict[str, dict[str, Any]] = {
    # For the test suite: proves the machinery works, measures nothing.
    "smoke": {"setups": [("sqlite", 1)], "clients": 4, "max_seconds": 2, "sweep": [0.5], "sweep_seconds": 2},
    # Only the maximum rate (closed loop), for comparing settings A/B in one session.
    "max": {"setups": [("sqlite", 1)], "clients": 16, "max_seconds": 10, "sweep": [], "sweep_seconds": 0},
    # One configuration, short windows: a smoke test of the whole machine.
    "quick": {"setups": [("sqlite", 1)], "clients": 16, "max_seconds": 12, "sweep": [0.25, 0.5, 1.0], "sweep_seconds": 6},
    "full": {
        "setups": [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)],
        "clients": 32,
        "max_seconds": 30,
        "sweep": [0.25, 0.5, 0.75, 1.0, 1.25],
        "sweep_seconds": 20,
    },
}
MAX_IN_FLIGHT = 512  # open loop: more than this waiting means the client itself is saturated
HARD_LIMIT_CONTACTS = 200_000  # a run never sends more than this, whatever the options say


# ------------------------------------------------------------------ measuring


@dataclass
class Window:
    """What happened during one measured window."""

    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ok: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    dropped: int = 0

    def record(self, channel: str, started: float, error: str | None) -> None:
        elapsed = time.monotonic() - started
        if error is None:
            self.ok[channel] += 1
            self.latencies[channel].append(elapsed)
        else:
            self.errors[f"{channel}: {error}"] += 1

    def elapsed(self) -> float:
        return max((self.ended or time.monotonic()) - self.started, 1e-9)

    def summary(self) -> dict[str, Any]:
        seconds = self.elapsed()
        channels = {}
        for channel in sorted(set(self.ok) | {k.split(":")[0] for k in self.errors}):
            lat = sorted(self.latencies.get(channel, []))
            channels[channel] = {
                "contacts": self.ok[channel],
                "per_second": round(self.ok[channel] / seconds, 1),
                **_percentiles(lat),
            }
        every = sorted(x for values in self.latencies.values() for x in values)
        total = sum(self.ok.values())
        return {
            "seconds": round(seconds, 2),
            "contacts": total,
            "per_second": round(total / seconds, 1),
            **_percentiles(every),
            "channels": channels,
            "errors": dict(self.errors.most_common()),
            "dropped_by_client": self.dropped,
        }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    def at(q: float) -> float | None:
        if not values:
            return None
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


class RssSampler:
    """Peak resident memory of the hub processes, sampled four times a second."""

    def __init__(self, pids: list[int]):
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            total = 0
            for process in self.processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            await asyncio.sleep(0.25)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def cpu_seconds(self) -> float:
        """CPU (user + system) the hub processes have used so far, their threads included."""
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total


# ------------------------------------------------------------------ delivering


@dataclass
class Hub:
    """One hub process as the load generator sees it."""

    url: str  # base URL the client connects to
    public_url: str  # what Twilio signatures are computed over
    smtp_port: int | None


class Driver:
    """Sends one contact of a given channel to one of the hubs and times it."""

    def __init__(
        self, hubs: list[Hub], token: str, twilio_token: str, http: aiohttp.ClientSession, traffic: Traffic, *, wire: bool = True
    ):
        self.hubs = hubs
        # The webhooks and the JSON intake over bench/wire.py (or aiohttp's client, to compare).
        self.wire = KeptConnections() if wire else None
        self.token = token
        self.validator = RequestValidator(twilio_token)
        self.http = http
        self.traffic = traffic
        self._next = 0
        self._smtp: dict[int, list[aiosmtplib.SMTP]] = defaultdict(list)
        # The web channel's latency is the whole visit (GET + POST); the POST
        # alone is kept too, as the reference figures give both.
        self.web_flow: list[float] = []
        self.web_post: list[float] = []

    def _hub(self) -> Hub:
        self._next += 1
        return self.hubs[self._next % len(self.hubs)]

    async def send(self, channel: str) -> str | None:
        """None when the hub acknowledged the contact, else the kind of error."""
        hub = self._hub()
        try:
            return await getattr(self, f"_send_{channel}")(hub)
        except (aiohttp.ClientError, OSError, WireError, asyncio.IncompleteReadError) as exc:
            return exc.__class__.__name__
        except aiosmtplib.SMTPResponseException as exc:
            return f"SMTP {exc.code}"
        except aiosmtplib.SMTPException as exc:
            return exc.__class__.__name__
        except TimeoutError:
            return "timeout"

    async def _post_status(self, url: str, ok: tuple[int, ...], **kwargs: Any) -> str | None:
        async with self.http.post(url, **kwargs) as response:
            await response.read()
            return None if response.status in ok else f"HTTP {response.status}"

    async def _post_wire(self, url: str, ok: tuple[int, ...], body: bytes, headers: dict[str, str]) -> str | None:
        assert self.wire is not None
        status = await self.wire.post(url, body, headers)
        return None if status in ok else f"HTTP {status}"

    async def _send_api(self, hub: Hub) -> str | None:
        headers = {"Authorization": f"Bearer {self.token}"}
        url, intake = hub.url + "/api/v1/contacts", self.traffic.intake()
        if self.wire is None:
            return await self._post_status(url, (200, 201), json=intake, headers=headers)
        return await self._post_wire(url, (200, 201), json.dumps(intake).encode(), {**headers, "Content-Type": "application/json"})

    async def _send_twilio(self, hub: Hub, path: str, params: dict[str, str]) -> str | None:
        signature = self.validator.compute_signature(hub.public_url + path, params)
        if self.wire is None:
            return await self._post_status(hub.url + path, (200,), data=params, headers={"X-Twilio-Signature": signature})
        headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        return await self._post_wire(hub.url + path, (200,), urlencode(params).encode(), headers)

    async def _send_sms(self, hub: Hub) -> str | None:
        return await self._send_twilio(hub, "/webhooks/twilio/sms", self.traffic.sms(ACCOUNT_SID, OUR_NUMBER))

    async def _send_voice(self, hub: Hub) -> str | None:
        return await self._send_twilio(hub, "/webhooks/twilio/voice", self.traffic.call(ACCOUNT_SID, OUR_NUMBER))

    async def _send_web(self, hub: Hub) -> str | None:
        started = time.monotonic()
        async with self.http.get(hub.url + "/contact") as response:
            page = await response.text()
            cookie = response.cookies.get("cc_csrf")
            if response.status != 200:
                return f"HTTP {response.status} (GET)"
        match = CSRF_FIELD.search(page)
        if match is None or cookie is None:
            return "no CSRF token"
        fields = {**self.traffic.form(), "csrf_token": match.group(1)}
        posted = time.monotonic()
        async with self.http.post(hub.url + "/contact", data=fields, headers={"Cookie": f"cc_csrf={cookie.value}"}) as response:
            page = await response.text()
            if response.status != 200 or 'data-reference="CC-' not in page:
                return f"HTTP {response.status}"
        self.web_post.append(time.monotonic() - posted)
        self.web_flow.append(time.monotonic() - started)
        return None

    async def _send_email(self, hub: Hub) -> str | None:
        """Over a kept SMTP connection, as a mail server delivering a queue does."""
        assert hub.smtp_port is not None
        pool = self._smtp[hub.smtp_port]
        client = pool.pop() if pool else None
        if client is None or not client.is_connected:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=hub.smtp_port, timeout=30)
            await client.connect()
        message = self.traffic.mail(MAILBOX)
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        pool.append(client)
        return None

    async def unsent(self) -> int:
        """Outbound messages the first hub has not sent yet (pending or sending), from /metrics."""
        async with self.http.get(self.hubs[0].url + "/metrics", headers={"Authorization": f"Bearer {self.token}"}) as response:
            return sum(int(n) for n in UNSENT_METRIC.findall(await response.text()))

    async def outbox_drain(self, before: int) -> float:
        """Seconds until the outbox has sent what the window queued (acknowledgements, mostly); -> the time that took.

        Done when it is back to `before` unsent messages, or when the count stops
        falling for STALL_SECONDS: outbound SMS go to a closed port here and are
        retried for ever. At most DRAIN_LIMIT_SECONDS.
        """
        started = last_progress = time.monotonic()
        lowest = await self.unsent()
        while lowest > before and time.monotonic() - last_progress < STALL_SECONDS and time.monotonic() - started < DRAIN_LIMIT_SECONDS:
            await asyncio.sleep(0.1)
            if (unsent := await self.unsent()) < lowest:
                lowest, last_progress = unsent, time.monotonic()
        return round(last_progress - started, 2)

    async def inbound_records(self) -> Counter[str]:
        """Raw inbound records by status (pending, processed, failed), from /metrics.

        Without them no figure of processed contacts can be given, so a hub
        that does not answer (or a token that is not an admin's) stops the run.
        """
        url = self.hubs[0].url + "/metrics"
        try:
            async with self.http.get(url, headers={"Authorization": f"Bearer {self.token}"}) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, OSError) as exc:
            raise SystemExit(f"cannot read {url} ({exc.__class__.__name__}): processed contacts cannot be counted") from None
        if status != 200:
            raise SystemExit(f"cannot read {url} (HTTP {status}; it needs an admin token): processed contacts cannot be counted")
        if "contactcenter_inbound_records" not in text:
            raise SystemExit(f"{url} has no contactcenter_inbound_records: processed contacts cannot be counted")
        return Counter({status: int(count) for status, count in INBOUND_METRIC.findall(text)})

    async def drain(self) -> float:
        """Seconds until the hubs have processed everything they accepted (SMS and mail are
        answered once stored), at most DRAIN_LIMIT_SECONDS."""
        started = time.monotonic()
        while (await self.inbound_records())["pending"] and time.monotonic() - started < DRAIN_LIMIT_SECONDS:
            await asyncio.sleep(0.1)
        return round(time.monotonic() - started, 2)

    async def processed(self, window: Window, before: Counter[str]) -> dict[str, Any]:
        """The window's summary with how many answered contacts reached a timeline, and how fast.

        `before` is `inbound_records()` from just before the window. An answered
        contact whose processing failed (kept for replay), or that still waits
        after the drain limit, was answered but not processed.
        """
        drain = await self.drain()
        after = await self.inbound_records()
        summary = window.summary()
        failed = after["failed"] - before["failed"]
        processed = max(0, summary["contacts"] - failed - after["pending"])
        seconds = window.elapsed() + drain  # unrounded: the same divisor as the answered rate
        return {
            **summary,
            "drain_seconds": drain,
            "failed_processing": failed,
            "processed": processed,
            "processed_per_second": round(processed / seconds, 1),
        }

    async def close(self) -> None:
        if self.wire is not None:
            self.wire.close()
        for pool in self._smtp.values():
            for client in pool:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()

    async def probe(self) -> dict[str, str]:
        """Which channels answer at all: `present`, `absent` (404 / no SMTP listener) or an error."""
        found = {}
        for channel in MIX:
            hub = self.hubs[0]
            if channel == "email" and hub.smtp_port is None:
                found[channel] = "absent"
                continue
            error = await self.send(channel)
            if error is None:
                found[channel] = "present"
            elif error in ("HTTP 404", "HTTP 405") or (channel == "email" and error in ("SMTPConnectError", "ConnectionRefusedError")):
                found[channel] = "absent"
            else:
                found[channel] = f"error: {error}"
        return found


# ------------------------------------------------------------------ load shapes


def _choose(rng: random.Random, channels: list[str]) -> str:
    weights = [MIX[c] for c in channels]
    return rng.choices(channels, weights)[0]


async def closed_loop(driver: Driver, channels: list[str], clients: int, seconds: float, limit: int) -> Window:
    """`clients` senders, each waiting for its answer before sending again."""
    window = Window()
    deadline = time.monotonic() + seconds
    sent = 0
    rng = random.Random(1)

    async def client() -> None:
        nonlocal sent
        while time.monotonic() < deadline and sent < limit:
            sent += 1
            channel = _choose(rng, channels)
            started = time.monotonic()
            window.record(channel, started, await driver.send(channel))

    await asyncio.gather(*(client() for _ in range(clients)))
    window.ended = time.monotonic()
    return window


async def open_loop(driver: Driver, channels: list[str], rate: float, seconds: float, limit: int) -> Window:
    """Arrivals at `rate` per second (Poisson), whatever the hub's answers take."""
    window = Window()
    rng = random.Random(2)
    in_flight: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    due = start
    count = 0

    async def one(channel: str, scheduled: float) -> None:
        window.record(channel, scheduled, await driver.send(channel))

    while due < start + seconds and count < limit:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        count += 1
        if len(in_flight) >= MAX_IN_FLIGHT:
            window.dropped += 1
        else:
            task = asyncio.create_task(one(_choose(rng, channels), due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        due += rng.expovariate(rate)
    if in_flight:
        await asyncio.wait(in_flight, timeout=60)
    window.ended = max(time.monotonic(), start + seconds)
    return window


# ------------------------------------------------------------------ hub processes


class Setup:
    """Hub processes on one database, started for the run and stopped after it."""

    def __init__(self, db: str, processes: int, workdir: Path, uvloop: bool = False):
        self.db = db
        self.processes = processes
        self.workdir = workdir
        self.uvloop = uvloop
        self.hubs: list[Any] = []
        self.database_url = ""
        self.pg_name = ""
        self.token = ""
        self.sink: Any = None

    async def start(self) -> list[Hub]:
        from tests.durability import admin_token
        from tests.hubprocess import HubProcess, free_port

        if self.db == "sqlite":
            if self.processes != 1:
                raise SystemExit("SQLite is served by one process; use --db postgresql for several")
            self.database_url = f"sqlite+aiosqlite:///{self.workdir / 'bench.db'}"
        else:
            self.pg_name = f"cc_bench_{os.getpid()}"
            await _pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            self.database_url = f"{PG_SERVER}/{self.pg_name}"
        await _migrate(self.database_url)
        self.token = await admin_token(self.database_url)
        self.sink = _start_mail_sink()
        result = []
        for i in range(self.processes):
            home = self.workdir / f"hub{i}"
            home.mkdir(exist_ok=True)
            smtp_port = free_port()
            sections = {
                "web": {"rate_limit_per_minute": 10_000_000},
                # Loopback only: outbound SMS go to a port where nothing listens (retried, never sent).
                "twilio": {
                    "auth_token": TWILIO_TOKEN,
                    "account_sid": ACCOUNT_SID,
                    "phone_number": OUR_NUMBER,
                    "api_base_url": "http://127.0.0.1:9",
                },
                "email": {"smtp_port": smtp_port, "relay_port": self.sink.port},
                "database": {"pool_size": 10},
            }
            module = "bench.uvloop_hub" if self.uvloop else "contactcenter"
            hub = HubProcess(home, self.database_url, sections, module=module)
            await hub.start(timeout=60)
            self.hubs.append(hub)
            result.append(Hub(hub.url, hub.url, smtp_port))
        return result

    def pids(self) -> list[int]:
        return [hub.process.pid for hub in self.hubs if hub.process]

    async def database_bytes(self) -> int:
        if self.db == "sqlite":
            path = Path(self.database_url.split("///", 1)[1])
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.database_url)
        async with engine.connect() as connection:
            size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
        await engine.dispose()
        return int(size)

    async def stop(self) -> None:
        for hub in self.hubs:
            if hub.process and hub.process.returncode is None:
                try:
                    await hub.stop(timeout=20)
                except TimeoutError:
                    print(f"   hub on {hub.url} did not stop within 20 s of SIGTERM; killed")
                    await hub.kill()
        if self.sink:
            self.sink.stop()
        if self.pg_name:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


async def _pg_admin(statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def _migrate(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from contactcenter.db.migrate import upgrade

    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()


def _start_mail_sink() -> MailSink:
    from tests.hubprocess import free_port

    return MailSink(free_port())


# ------------------------------------------------------------------ the run


async def measure(label: str, hubs: list[Hub], token: str, pids: list[int], options: argparse.Namespace, setup: Setup | None) -> dict[str, Any]:
    profile = PROFILES[options.profile]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        driver = Driver(hubs, token, options.twilio_token, http, Traffic(), wire=options.http_client == "wire")
        presence = await driver.probe()
        channels = [c for c, state in presence.items() if state == "present" and (not options.channels or c in options.channels)]
        print(f"\n== {label}: channels {', '.join(f'{c} {s}' for c, s in presence.items())}")
        if not channels:
            raise SystemExit("no channel answered; is the hub running?")
        budget = min(options.max_contacts, HARD_LIMIT_CONTACTS)
        driver.web_flow, driver.web_post = [], []  # not the probe's
        with RssSampler(pids) as rss:
            before = await driver.inbound_records()
            cpu_before = rss.cpu_seconds()
            relayed_before = _relayed(setup)
            unsent_before = await driver.unsent()
            top = await closed_loop(driver, channels, options.clients or profile["clients"], profile["max_seconds"], budget)
            maximum = await driver.processed(top, before)
            if relayed_before is not None:
                maximum["mails_relayed"] = _relayed(setup) - relayed_before
            # Window and drain: everything the hub did for these contacts (not the database server's share on PostgreSQL).
            if pids and maximum["processed"]:
                maximum["hub_cpu_ms_per_contact"] = round((rss.cpu_seconds() - cpu_before) * 1000 / maximum["processed"], 2)
            maximum["web_flow"] = _percentiles(sorted(driver.web_flow))
            maximum["web_post"] = _percentiles(sorted(driver.web_post))
            # The sweep starts once the acknowledgements the window queued are out, not while the outbox catches up.
            maximum["outbox_drain_seconds"] = await driver.outbox_drain(unsent_before)
            _print_row(label, "max (closed loop)", maximum)
            sweep = []
            for share in profile["sweep"]:
                # Fractions of what the hub sustains: answered AND processed.
                rate = max(1.0, maximum["processed_per_second"] * share)
                driver.web_flow, driver.web_post = [], []
                before = await driver.inbound_records()
                window = await open_loop(driver, channels, rate, profile["sweep_seconds"], budget)
                summary = await driver.processed(window, before)
                result = {"offered_per_second": round(rate, 1), "share_of_max": share, **summary}
                result["web_flow"] = _percentiles(sorted(driver.web_flow))
                result["web_post"] = _percentiles(sorted(driver.web_post))
                _print_row(label, f"{share:>4.0%} of max", result)
                sweep.append(result)
        await driver.close()
    result = {"label": label, "channels": presence, "max": maximum, "sweep": sweep, "peak_rss_mb": round(rss.peak / 2**20, 1)}
    if setup is not None:
        result["database_mb"] = round(await setup.database_bytes() / 2**20, 1)
    print(f"   peak RSS of the hub: {result['peak_rss_mb']} MB" + (f"; database {result['database_mb']} MB" if "database_mb" in result else ""))
    return result


def _relayed(setup: Setup | None) -> int | None:
    """Mail the hub sent to the bench's relay so far (None for a --target hub)."""
    return setup.sink.relayed if setup is not None and setup.sink is not None else None


def _print_row(label: str, phase: str, r: dict[str, Any]) -> None:
    per_channel = "  ".join(f"{c} {v['per_second']}/s p99 {v['p99_ms']}" for c, v in r["channels"].items())
    offered = f"offered {r['offered_per_second']:>7}/s " if "offered_per_second" in r else " " * 21
    print(
        f"   {phase:<18} {offered}answered {r['per_second']:>7}/s  p50 {r['p50_ms']} p95 {r['p95_ms']} p99 {r['p99_ms']} ms"
        f"  errors {sum(r['errors'].values())}  | {per_channel}"
    )
    cpu = f"; hub CPU {r['hub_cpu_ms_per_contact']} ms per contact" if "hub_cpu_ms_per_contact" in r else ""
    cpu += f" (it relayed {r['mails_relayed']} mails meanwhile)" if "mails_relayed" in r else ""
    cpu += f"; outbox caught up {r['outbox_drain_seconds']} s after that" if "outbox_drain_seconds" in r else ""
    print(
        f"      processed {r['processed']} of {r['contacts']} answered = {r['processed_per_second']}/s"
        f" ({r['failed_processing']} failed processing; the last was processed {r['drain_seconds']} s after the window){cpu}"
    )
    if r["errors"]:
        print("      errors: " + ", ".join(f"{k} x{v}" for k, v in list(r["errors"].items())[:6]))


async def main_async(options: argparse.Namespace) -> int:
    profile = PROFILES[options.profile]
    started = datetime.now(UTC)
    runs = []
    if options.target:
        hubs = [Hub(url.rstrip("/"), url.rstrip("/"), options.smtp_port) for url in options.target]
        pids = options.hub_pid or []
        runs.append(await measure("target " + " ".join(options.target), hubs, options.token, pids, options, None))
    else:
        setups = [(options.db, options.processes)] if options.db else profile["setups"]
        for db, processes in setups:
            workdir = Path(tempfile.mkdtemp(prefix="cc-bench-"))
            setup = Setup(db, processes, workdir, uvloop=options.uvloop)
            try:
                hubs = await setup.start()
                label = f"{db}, {processes} process{'es' if processes > 1 else ''}" + (", uvloop" if options.uvloop else "")
                runs.append(await measure(label, hubs, setup.token, setup.pids(), options, setup))
            finally:
                await setup.stop()
                shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "date": started.isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(sys.argv[1:]),
        "profile": options.profile,
        "machine": _machine(),
        "git": _git_commit(),
        "mix": MIX,
        "runs": runs,
    }
    results = Path(options.results)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y%m%dT%H%M%S}-{options.profile}"
    path = results / f"{stem}.json"
    path.write_text(json.dumps(report, indent=2))
    chart = Path(options.chart) if options.chart else results / f"{stem}.svg"
    write_chart(chart, runs)
    print(f"\nwrote {path} and {chart}")
    return 0


def _machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument(
        "--http-client", choices=("wire", "aiohttp"), default="wire",
        help="webhooks and JSON intake over kept raw connections (bench/wire.py, default) or aiohttp's client",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), help="one setup instead of the profile's list")
    parser.add_argument("--processes", type=int, default=1, help="hub processes (PostgreSQL), one port each")
    parser.add_argument("--clients", type=int, default=0, help="closed-loop clients (default: the profile's)")
    parser.add_argument("--channels", nargs="*", choices=sorted(MIX), help="only these channels")
    parser.add_argument("--max-contacts", type=int, default=100_000, help="stop a window after this many sends")
    parser.add_argument("--uvloop", action="store_true", help="run the hubs on uvloop")
    parser.add_argument("--results", default=str(RESULTS), help="folder for the JSON result (default: bench/results)")
    parser.add_argument("--chart", help="where to write the SVG chart (default: next to the JSON)")
    parser.add_argument("--target", nargs="*", help="base URLs of running hubs instead of starting them (loopback only)")
    parser.add_argument("--token", default="", help="API token for the JSON intake (with --target)")
    parser.add_argument("--twilio-token", default=TWILIO_TOKEN, help="[twilio] auth_token of the target hub")
    parser.add_argument("--smtp-port", type=int, help="the target hub's SMTP port")
    parser.add_argument("--hub-pid", type=int, nargs="*", help="target hub pids, for the RSS figure")
    options = parser.parse_args(argv)
    for url in options.target or []:
        if not re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/?$", url):
            parser.error(f"--target must be a loopback URL, got {url}")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return asyncio.run(main_async(options))


if __name__ == "__main__":
    sys.exit(main())
