"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (user postgres, trust auth); the run
creates a scratch database and drops it at the end. Where that server is not
reachable, its tests skip with the reason shown; under CI they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.app import create_app
from contactcenter.db.migrate import upgrade
from contactcenter.db.models import Base
from contactcenter.hub import Hub
from contactcenter.settings import Settings, load_settings
from contactcenter.web.auth import create_api_token
from tests.browser import browser  # noqa: F401  (the page tests' fixture)
from tests.factories import settings_with

PG_SERVER = os.environ.get("CONTACTCENTER_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite alone (says why in the test)")


async def _pg_available() -> str | None:
    engine = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL at {PG_SERVER} is not reachable: {exc.__class__.__name__}"
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A scratch database for this run, migrated to head; dropped afterwards."""
    problem = asyncio.run(_pg_available())
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem + " (CI must run the PostgreSQL tests)")
        pytest.skip(problem)
    name = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        engine = create_async_engine(f"{PG_SERVER}/{name}")
        await upgrade(engine)
        await engine.dispose()

    async def drop() -> None:
        admin = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    asyncio.run(create())
    yield f"{PG_SERVER}/{name}"
    asyncio.run(drop())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def create() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(create())
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database for one test, on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "contactcenter.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    url = request.getfixturevalue("pg_database")
    asyncio.run(_truncate(url))
    return url


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Default settings with a fixed secret and acknowledgements off (tests opt in)."""
    monkeypatch.chdir(tmp_path)  # var/ goes to the test's own folder
    base = load_settings(environ={})
    # smtp_port 0: each test's SMTP receiver takes a free port (see channels.smtp_server.SMTP_PORT).
    return settings_with(
        base, http={"secret_key": "test-secret"}, tickets={"auto_acknowledge": False}, email={"smtp_port": 0}
    )


@pytest.fixture
async def hub(settings: Settings, database_url: str) -> AsyncIterator[Hub]:
    hub = Hub.create(settings, database_url)
    yield hub
    await hub.close()


@pytest.fixture
async def client(aiohttp_client, hub: Hub):
    """The hub's HTTP app on a real loopback socket, without background workers."""
    return await aiohttp_client(create_app(hub.settings, hub, workers=False))


@pytest.fixture
async def token(hub: Hub) -> str:
    async with hub.sessions() as session, session.begin():
        return await create_api_token(session, "tests", "admin")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
