"""Start-up failures an operator can fix: one line with the fix, no traceback, exit non-zero.

Each case starts the real command in a child process against a real socket or
the real PostgreSQL server, the way an operator meets it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PG_SERVER
from tests.hubprocess import ROOT, HubProcess, free_port, write_config
from tests.polling import eventually


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None, config: dict | None = None) -> tuple[int, str, str]:
    """`contactcenter COMMAND --config FILE ...` (the option after the command, as the README writes it)."""
    sections = {"http": {"port": free_port(), "secret_key": "test-secret"}, "email": {"smtp_port": 0}, **(config or {})}
    path = write_config(tmp_path / "hub.toml", sections)
    command, *rest = args
    process = asyncio.run(_run([sys.executable, "-m", "contactcenter", command, "--config", str(path), *rest], tmp_path, env))
    return process


async def _run(argv: list[str], cwd: Path, env: dict[str, str] | None) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTCENTER_")}
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env={**environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


def assert_one_clear_line(result: tuple[int, str, str], *expected: str) -> str:
    code, out, err = result
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code != 0, (out, err)
    assert "Traceback" not in err and len(lines) <= 3, err
    assert "serving on" not in out + err
    last = lines[-1]
    for words in expected:
        assert words in last, last
    return last


def database(url: str) -> dict:
    return {"database": {"url": url}}


def test_malformed_database_url(tmp_path: Path) -> None:
    line = assert_one_clear_line(run(tmp_path, "serve", config=database("postgres//nobody@/x")), "is not a database URL")
    assert "postgresql+asyncpg://" in line


def test_missing_driver_names_the_url_form(tmp_path: Path) -> None:
    assert_one_clear_line(
        run(tmp_path, "serve", config=database("postgresql://postgres@127.0.0.1:5432/contactcenter")),
        "needs the asyncpg driver", "write postgresql+asyncpg://postgres@127.0.0.1:5432/contactcenter",
    )


def test_refused_port(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    assert_one_clear_line(
        run(tmp_path, "serve", config=database(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/contactcenter")),
        f"127.0.0.1:{port}", "connection refused",
    )


@pytest.fixture
def empty_pg_database(pg_database: str) -> Iterator[str]:
    """A PostgreSQL database nobody migrated (pg_database: skip or fail as the suite does)."""
    name = f"cc_unmigrated_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{PG_SERVER}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    engine = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.mark.postgres
def test_database_that_does_not_exist(tmp_path: Path, pg_database: str) -> None:
    name = f"cc_missing_{uuid.uuid4().hex[:8]}"
    assert_one_clear_line(
        run(tmp_path, "serve", config=database(f"{PG_SERVER}/{name}")), f'database "{name}" does not exist', f"createdb {name}"
    )


@pytest.mark.postgres
def test_unmigrated_postgresql_says_run_db_upgrade(tmp_path: Path, empty_pg_database: str) -> None:
    for command in ("serve", "demo"):
        assert_one_clear_line(run(tmp_path, command, config=database(empty_pg_database)), "no tables yet", "run: contactcenter db upgrade")
    code, out, err = run(tmp_path, "db", "upgrade", config=database(empty_pg_database))
    assert code == 0 and "database at revision" in out, err
    code, out, err = run(tmp_path, "check-config", config=database(empty_pg_database))
    assert code == 0 and "configuration OK" in out, err


@pytest.mark.parametrize("section", ["http", "email"])
def test_port_in_use(tmp_path: Path, section: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        key = {"http": "port", "email": "smtp_port"}[section]
        config = {"http": {"port": port if section == "http" else free_port(), "secret_key": "s"}, "email": {"smtp_port": port if section == "email" else 0}}
        line = assert_one_clear_line(run(tmp_path, "serve", config=config), f"port {port} is in use", f"[{section}] {key}")
    assert line.startswith("contactcenter: ")


def test_misspelt_environment_key_stops_start_up(tmp_path: Path) -> None:
    assert_one_clear_line(
        run(tmp_path, "serve", env={"CONTACTCENTER_HTTP_PROT": "1"}), "CONTACTCENTER_HTTP_PROT", "did you mean CONTACTCENTER_HTTP_PORT"
    )


def test_create_agent_without_a_terminal_points_to_password_stdin(tmp_path: Path) -> None:
    assert_one_clear_line(run(tmp_path, "create-agent", "ada@example.com", "--name", "Ada"), "--password-stdin")


def test_check_config_prints_one_line_per_problem(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "check-config")
    assert code == 0 and "configuration OK" in out and err == "", err
    assert not (tmp_path / "var").exists(), "check-config only looks; serve creates the data folder"
    assert_one_clear_line(run(tmp_path, "check-config", env={"CONTACTCENTER_HTTP_PORT": "x"}), "[http] port from the environment must be a number")
    port = free_port()
    assert_one_clear_line(
        run(tmp_path, "check-config", config=database(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")), "connection refused"
    )


async def test_serving_on_is_logged_once_listening(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}")
    log = hub.log_path.open("ab")
    args = [sys.executable, "-m", "contactcenter", "serve", "--config", str(hub.config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    hub.process = await asyncio.create_subprocess_exec(*args, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        await eventually(lambda: "serving on" in hub.log(), timeout=30, what="the serving-on line")
        # The moment the line is there, the port takes connections.
        _, writer = await asyncio.open_connection("127.0.0.1", hub.port)
        writer.close()
        assert hub.log().count("serving on") == 1
    finally:
        assert await hub.stop() == 0
        log.close()
