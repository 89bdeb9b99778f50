"""Health checks for load balancers and orchestrators: live versus ready.

`/healthz/live` says the process answers (restart it when it does not).
`/healthz` says it can take contacts: the database
answers, its schema is at this release's head, and the ingest writer runs;
otherwise 503, so a proxy sends traffic to another hub process meanwhile.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from alembic.runtime.migration import MigrationContext

from contactcenter.db.engine import is_unavailable
from contactcenter.db.readiness import migration_problem
from contactcenter.hub import Hub
from contactcenter.keys import HUB


async def handle_health(request: web.Request) -> web.Response:
    """Ready: 200 `{"status": "ok"}` when this process can take contacts, else 503 naming what is not."""
    checks = await readiness_checks(request.app[HUB])
    if all(value == "ok" for value in checks.values()):
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable", "checks": checks}, status=503, headers={"Retry-After": "5"})


async def handle_live(request: web.Request) -> web.Response:
    """Live: the process answers (restart it when this fails; do not when only /healthz does)."""
    return web.json_response({"status": "ok"})


async def readiness_checks(hub: Hub) -> dict[str, str]:
    """Database reachable, schema at this release's head, ingest writer running."""
    checks = {"database": "ok", "migrations": "ok", "writer": "ok"}
    try:
        async with hub.reads() as session:
            connection = await session.connection()
            revision = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        checks["database"] = checks["migrations"] = "unreachable"
    else:
        checks["migrations"] = migration_problem(revision, hub.engine.url) or "ok"
    writer = hub.ingest_writer
    # Started at start-up by serve, or by the first contact; a task that ended has died.
    if writer is not None and writer.loop is asyncio.get_running_loop() and any(task.done() for task in writer.tasks):
        checks["writer"] = "stopped"
    return checks
