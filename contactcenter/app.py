"""Wiring: build the aiohttp application for one hub process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from contactcenter.channels import build_channels
from contactcenter.routing.assignment import Assigner
from contactcenter.db.readiness import prepare_database
from contactcenter.events import PostgresEventBridge
from contactcenter.hub import Hub
from contactcenter.keys import HUB, TOKEN_CACHE
from contactcenter.outbound.outbox import OutboxWorker
from contactcenter.pipeline.run import writer_of
from contactcenter.search.schema import ensure_search_schema
from contactcenter.reports.ticket_times import TicketTimesWorker
from contactcenter.settings import Settings
from contactcenter.surveys.schedule import SurveyTimer
from contactcenter.surveys.web import setup_survey_pages
from contactcenter.portal.routes import setup_portal
from contactcenter.privacy.retention import RetentionTimer
from contactcenter.routing.sla_timer import SlaTimer
from contactcenter.web.api import setup_api
from contactcenter.web.api_customers import setup_customer_api
from contactcenter.web.api_people import setup_people_api
from contactcenter.web.api_privacy import setup_privacy_api
from contactcenter.web.reports import setup_reports
from contactcenter.web.api_routing import setup_routing
from contactcenter.web.api_tickets import setup_ticket_api
from contactcenter.web.limits import body_deadline_middleware
from contactcenter.web.locale import locale_middleware
from contactcenter.web.metrics import setup_metrics
from contactcenter.web.middlewares import error_middleware, set_common_headers
from contactcenter.web.token_cache import TokenCache
from contactcenter.web.workspace import setup_workspace
from contactcenter.voice.connect import Connector
from contactcenter.voice.routes import setup_voice
from contactcenter.webhooks.api import setup_webhook_api
from contactcenter.webhooks.worker import WebhookWorker

log = logging.getLogger(__name__)


def create_app(settings: Settings, hub: Hub | None = None, *, workers: bool = True) -> web.Application:
    """The whole hub as one aiohttp app; `workers=False` leaves out background tasks (tests)."""
    hub = hub or Hub.create(settings)
    app = web.Application(
        middlewares=[locale_middleware, error_middleware, body_deadline_middleware], client_max_size=settings.http.max_body_bytes
    )
    app[HUB] = hub
    app.on_response_prepare.append(set_common_headers)
    app[TOKEN_CACHE] = TokenCache(settings.http.token_cache_seconds)
    app.cleanup_ctx.append(_database)
    for channel in build_channels(hub):
        channel.setup(app)
        if channel.can_send:
            hub.channels[channel.kind] = channel
    setup_api(app)
    setup_customer_api(app)
    setup_privacy_api(app)
    setup_routing(app)
    setup_ticket_api(app)
    setup_people_api(app)
    setup_reports(app)
    setup_metrics(app)
    setup_workspace(app)
    setup_voice(app)
    setup_survey_pages(app)
    setup_portal(app)
    setup_webhook_api(app)
    if workers:
        app.cleanup_ctx.append(_unprocessed_contacts)
        app.cleanup_ctx.append(_outbox_worker)
        app.cleanup_ctx.append(_routing_workers)
        if settings.retention.interactions_days:
            app.cleanup_ctx.append(_retention_timer)
        if hub.engine.dialect.name == "postgresql":
            app.cleanup_ctx.append(_event_bridge)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    await prepare_database(hub.engine)
    if hub.engine.dialect.name == "sqlite":
        async with hub.engine.begin() as connection:
            if await connection.run_sync(ensure_search_schema):
                log.warning("search: a migration had dropped the SQLite search triggers; rebuilt the index")
    yield
    await hub.close()


async def _unprocessed_contacts(app: web.Application) -> AsyncIterator[None]:
    """Contacts accepted before the last stop but not yet processed go first."""
    if count := await writer_of(app[HUB]).recover():
        log.info("ingest: %d accepted contacts left from before, processing them now", count)
    yield


async def _outbox_worker(app: web.Application) -> AsyncIterator[None]:
    async with background(OutboxWorker(app[HUB]).run(), "outbox"), background(WebhookWorker(app[HUB]).run(), "webhooks"):
        yield


async def _routing_workers(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    async with (
        background(Assigner(hub).run(), "assigner"),
        background(SlaTimer(hub).run(), "sla-timer"),
        background(Connector(hub).run(), "voice-connector"),
        background(SurveyTimer(hub).run(), "survey-timer"),
        background(TicketTimesWorker(hub).run(), "report-times"),
    ):
        yield


async def _retention_timer(app: web.Application) -> AsyncIterator[None]:
    async with background(RetentionTimer(app[HUB]).run(), "retention"):
        yield


async def _event_bridge(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    async with background(PostgresEventBridge(hub.bus, hub.engine).run(), "event-bridge"):
        yield


@contextlib.asynccontextmanager
async def background(coroutine: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run a worker for as long as the app runs; cancel it at shutdown."""
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
