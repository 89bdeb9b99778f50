"""Database fault test: PostgreSQL drops the hub's connections under load.

Clients deliver contacts over every wire channel to a real hub while a
separate admin connection repeatedly kills every connection the hub holds
(`pg_terminate_backend`, what a failover or a server restart does to it). The
hub must answer such moments with 503 (providers retry on 5xx; never 500 and
never "kept for review"), recover by itself, and lose nothing it acknowledged.
The clients behave like providers: on 503 or no answer they deliver the same
contact again a moment later.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.db.engine import create_engine, is_unavailable
from contactcenter.db.models import InboundRecord
from contactcenter.settings import load_settings
from tests.conftest import PG_SERVER
from tests.durability import (
    DELIVERERS,
    RETRY_LATER,
    Tally,
    Target,
    admin_token,
    check_exactly_once,
    hub_settings,
    nothing_pending,
    stored_keys,
)
from tests.hubprocess import HubProcess
from tests.polling import eventually

CONTACTS = 240
CLIENTS = 8
FAULTS = 8
# What a provider waits before delivering again after a 503 (Twilio and mail
# servers wait far longer; a short pause keeps the test quick).
RETRY_DELAY = 0.05


class Load:
    def __init__(self, target: Target):
        self.target = target
        self.tally = Tally.new()
        self.numbers = itertools.count()
        self.answers: Counter[int] = Counter()
        self.progress = asyncio.Event()
        self.terminated = 0

    def acknowledged(self) -> int:
        return sum(len(keys) for keys in self.tally.acknowledged.values())

    async def client(self) -> None:
        channels = sorted(DELIVERERS)
        while (n := next(self.numbers)) < CONTACTS:
            channel = channels[n % len(channels)]
            prepared = await DELIVERERS[channel](self.target, f"fault{n}")
            for _ in range(200):
                delivery = await prepared.send()
                self.answers[delivery.status] += 1
                if delivery.acknowledged:
                    self.tally.record(channel, prepared.key, delivery)
                    self.progress.set()
                    break
                assert delivery.status in RETRY_LATER, f"{channel}: answered {delivery.status}: {delivery.detail}"
                await asyncio.sleep(RETRY_DELAY)
                if prepared.key.startswith("unissued-"):
                    prepared = await DELIVERERS[channel](self.target, f"fault{n}")
            else:
                raise AssertionError(f"{channel} fault{n} was never accepted: the hub did not recover")

    async def saboteur(self, database: str) -> None:
        """Kill every connection of the hub's database each time a share of the load is through."""
        admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        try:
            for k in range(1, FAULTS + 1):
                while self.acknowledged() < CONTACTS * k // (FAULTS + 1):
                    self.progress.clear()
                    await asyncio.wait_for(self.progress.wait(), 60)
                async with admin.connect() as connection:
                    killed = await connection.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": database},
                    )
                self.terminated += killed or 0
        finally:
            await admin.dispose()


@pytest.mark.postgres
async def test_connections_killed_under_load(tmp_path: Path, database_url: str, capsys) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no connections to kill")
    token = await admin_token(database_url)
    async with HubProcess(tmp_path, database_url, hub_settings()) as hub:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=30)) as http:
            load = Load(Target.of(hub, http, token))
            database = make_url(database_url).database
            await asyncio.wait_for(asyncio.gather(load.saboteur(database), *(load.client() for _ in range(CLIENTS))), 240)
            # Recovered by itself: the health check answers without anyone restarting anything.
            async with http.get(hub.url + "/healthz") as response:
                assert response.status == 200
            # SMS and mail are answered once stored; those whose processing met a
            # killed connection are processed again by the hub on its own.
            await eventually(lambda: nothing_pending(database_url), timeout=60, what="accepted contacts processed")
        log = hub.log_path.read_text(errors="replace")

    stored = await stored_keys(database_url)
    summary = check_exactly_once(load.tally, stored, "database fault test (postgresql)")
    with capsys.disabled():
        print(f"\n{summary}; {FAULTS} rounds killed {load.terminated} connections; answers {dict(sorted(load.answers.items()))}")
    assert load.acknowledged() == CONTACTS
    assert load.terminated > 0 and load.answers[503] > 0, "the faults never reached a request in flight"
    assert 500 not in load.answers
    assert "unhandled error" not in log, "a request ended in the error middleware's catch-all"

    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        shunted = await connection.scalar(select(func.count()).select_from(InboundRecord))
    await engine.dispose()
    assert shunted == 0, "a contact was kept for review because of a dropped connection; it should have been a 503"


@pytest.mark.postgres
async def test_a_connection_killed_while_idle_in_the_pool_is_replaced_unnoticed(database_url: str, monkeypatch) -> None:
    """An idle pooled connection is pinged before use; one used a moment ago is trusted (db/engine.py)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no connections to kill")
    engine = create_engine(load_settings(environ={}), database_url)
    admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")

    async def kill_pooled_connection() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))  # one connection, now back in the pool
        async with admin.connect() as connection:
            killed = await connection.scalar(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :name"),
                {"name": make_url(database_url).database},
            )
        assert killed == 1

    try:
        # Trusted: it was in use a moment ago, so its death surfaces as an outage (503 upstream).
        monkeypatch.setattr("contactcenter.db.engine.PING_AFTER_IDLE_SECONDS", 3600.0)
        await kill_pooled_connection()
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert is_unavailable(failed.value)
        # Idle long enough to be pinged: the dead connection is replaced before anyone uses it.
        monkeypatch.setattr("contactcenter.db.engine.PING_AFTER_IDLE_SECONDS", 0.0)
        await kill_pooled_connection()
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
        await admin.dispose()
