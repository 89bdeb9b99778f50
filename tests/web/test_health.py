"""/healthz tells ready from live: a proxy stops sending traffic to a hub that
cannot take contacts, an orchestrator restarts only one that does not answer."""

from __future__ import annotations

import errno

import jinja2
from sqlalchemy import text

from contactcenter.db.engine import is_unavailable
from contactcenter.pipeline.run import writer_of


async def test_ready_needs_the_schema_at_this_releases_head(client, hub) -> None:
    assert (await client.get("/healthz")).status == 200
    async with hub.engine.begin() as connection:
        head = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = await client.get("/healthz")
        body = await response.json()
        assert response.status == 503 and body["status"] == "unavailable"
        assert body["checks"]["database"] == "ok" and "run: contactcenter db upgrade" in body["checks"]["migrations"]
        live = await client.get("/healthz/live")
        assert live.status == 200 and await live.json() == {"status": "ok"}
    finally:
        async with hub.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert await (await client.get("/healthz")).json() == {"status": "ok"}


async def test_ready_needs_the_ingest_writer_running(client, hub) -> None:
    writer = writer_of(hub)
    assert (await client.get("/healthz")).status == 200
    writer.tasks[0].cancel()
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["checks"]["writer"] == "stopped"
    assert (await client.get("/healthz/live")).status == 200


def test_a_missing_template_or_file_is_not_a_database_outage() -> None:
    assert not is_unavailable(jinja2.TemplateNotFound("pages/contact.html"))
    assert not is_unavailable(FileNotFoundError(errno.ENOENT, "No such file", "templates/static/workspace.js"))
    assert not is_unavailable(PermissionError(errno.EACCES, "Permission denied"))
    assert is_unavailable(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"))
    assert is_unavailable(ConnectionResetError(errno.ECONNRESET, "reset"))
