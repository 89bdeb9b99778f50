"""Sending webhook deliveries after commit: claim, sign, POST, record each attempt.

Like the message outbox (outbound/outbox.py): due rows are claimed with a
lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several hub processes share
the work), POSTed outside any transaction, and retried with the same
exponential backoff. Any 2xx is delivered; anything else is an attempt that
failed. A subscription failing `PAUSE_AFTER` attempts in a row is paused
and shown to admins; nothing is sent to it until one resumes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from contactcenter.events import Event, run_periodically
from contactcenter.hub import Hub
from contactcenter.outbound.outbox import backoff
from contactcenter.pipeline.run import in_writer_session
from contactcenter.webhooks.enqueue import WEBHOOKS_QUEUED
from contactcenter.webhooks.signing import HEADER, sign

log = logging.getLogger(__name__)

BATCH_SIZE = 20
PAUSE_AFTER = 10  # failed attempts in a row
TIMEOUT_SECONDS = 10.0
USER_AGENT = "contactcenter-webhooks"


class WebhookWorker:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.settings = hub.settings.outbox

    async def run(self) -> None:
        """Deliver until cancelled; wake early when the hub reports a change."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as http:
            self.http = http
            await run_periodically(
                self.hub.bus, self.deliver_due, every=self.settings.poll_seconds,
                wake_on=frozenset({WEBHOOKS_QUEUED, "webhook.resumed"}),
                name="webhooks",
            )

    async def deliver_due(self, http: aiohttp.ClientSession | None = None) -> int:
        """Claim and POST one batch of due deliveries; returns how many were claimed."""
        http = http or self.http
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(http, *row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[tuple[int, int, str, str, str]]:
        now = utcnow()
        due = (
            select(WebhookDelivery.id)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(
                WebhookSubscription.status == "active",
                or_(
                    (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now),
                    (WebhookDelivery.status == "sending") & (WebhookDelivery.lease_until < now),
                ),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        # On the ingest writer (SQLite: its thread and connection): this claim
        # runs on every batch's events and would otherwise take the write lock
        # beside the writer's.
        return await in_writer_session(self.hub, self._claim_in, due, now)

    async def _claim_in(self, session: AsyncSession, due: Select, now: datetime) -> list[tuple[int, int, str, str, str]]:
        rows = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(status="sending", lease_until=now + timedelta(seconds=self.settings.lease_seconds), attempts=WebhookDelivery.attempts + 1)
            .returning(WebhookDelivery.id, WebhookDelivery.subscription_id, WebhookDelivery.body)
            .execution_options(synchronize_session=False)
        )
        claimed = list(rows)
        if not claimed:
            return []
        found = await session.execute(
            select(WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret).where(
                WebhookSubscription.id.in_({row.subscription_id for row in claimed})
            )
        )
        targets = {sub.id: (sub.url, sub.secret) for sub in found}
        return [(row.id, row.subscription_id, row.body, *targets[row.subscription_id]) for row in claimed]

    async def _deliver(self, http: aiohttp.ClientSession, delivery_id: int, subscription_id: int, body: str, url: str, secret: str) -> None:
        data = body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, HEADER: sign(secret, data, int(time.time()))}
        started = time.monotonic()
        status_code, error = None, ""
        try:
            async with http.post(url, data=data, headers=headers, allow_redirects=False) as response:
                status_code = response.status
                if not 200 <= response.status < 300:
                    error = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = str(exc) or type(exc).__name__
        duration_ms = round((time.monotonic() - started) * 1000)
        await self._record(delivery_id, subscription_id, status_code, error, duration_ms)

    async def _record(self, delivery_id: int, subscription_id: int, status_code: int | None, error: str, duration_ms: int) -> None:
        now = utcnow()
        paused = False
        async with self.hub.sessions() as session, session.begin():
            session.add(WebhookAttempt(delivery_id=delivery_id, at=now, status_code=status_code, error=error[:2000], duration_ms=duration_ms))
            delivery = await session.get_one(WebhookDelivery, delivery_id)
            subscription = await session.get_one(WebhookSubscription, subscription_id, with_for_update=True)
            delivery.lease_until = None
            if not error:
                delivery.status = "delivered"
                delivery.delivered_at = now
                subscription.consecutive_failures = 0
            else:
                if delivery.attempts < self.settings.max_attempts:
                    delivery.status = "pending"
                    delivery.next_attempt_at = now + backoff(self.settings, delivery.attempts)
                else:
                    delivery.status = "failed"
                subscription.consecutive_failures += 1
                if subscription.status == "active" and subscription.consecutive_failures >= PAUSE_AFTER:
                    subscription.status, subscription.paused_at, paused = "paused", now, True
        if error:
            log.warning("webhook %s: delivery %s failed: %s", subscription_id, delivery_id, error)
        if paused:
            log.warning("webhook %s: paused after %d failed attempts in a row", subscription_id, PAUSE_AFTER)
            self.hub.bus.publish(Event("webhook.paused", {"subscription_id": subscription_id}))
