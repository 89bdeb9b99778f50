"""Turning events into delivery rows, in the transaction that caused them.

A delivery row commits or rolls back with the change it reports, so a
receiver never hears of something that did not happen and never misses
something that did (the transactional outbox). Each event gets its id here.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contactcenter.db.models import WebhookDelivery, WebhookSubscription, utcnow
from contactcenter.events import Event

# The events a subscription may ask for (DESIGN.md §6).
WEBHOOK_EVENTS = ("ticket.created", "interaction.created", "ticket.updated", "sla.breached", "csat.answered")
# What wakes the webhook worker: deliveries were written (not every event the hub publishes).
WEBHOOKS_QUEUED = "webhook.queued"
# Core, not the ORM: this runs in every ingest batch, where an ORM-enabled
# select cost ten times the query (issue 11).
_subscriptions = WebhookSubscription.__table__
FIND_SUBSCRIPTIONS = select(_subscriptions.c.id, _subscriptions.c.events)


def event_body(event_id: str, event: Event) -> str:
    """The JSON a receiver gets; `id` is the key it deduplicates by."""
    return json.dumps(
        {"id": event_id, "type": event.kind, "created_at": event.at.isoformat(), "data": event.data},
        separators=(",", ":"),
        default=str,
    )


async def enqueue_webhook_events(conn_or_session: AsyncSession | AsyncConnection, events: list[Event]) -> int:
    """Write a delivery per subscription for each event it asked for; returns how many.

    Call it inside the transaction that made the change, before commit, with
    the list of events the caller publishes once committed: when deliveries
    were written, a `webhook.queued` event is appended to it, and that wakes
    the worker (waking it on every event cost a claim transaction per ingest
    batch with nothing to claim, issue 11). Events
    no subscription wants cost one SELECT (the subscriptions); wanted ones one INSERT more.
    """
    wanted = [event for event in events if event.kind in WEBHOOK_EVENTS]
    if not wanted:
        return 0
    # Paused subscriptions get their rows too: resuming one delivers what it missed.
    subscriptions = list(await conn_or_session.execute(FIND_SUBSCRIPTIONS))
    if not subscriptions:
        return 0
    now = utcnow()
    rows = []
    for event in wanted:
        takers = [sub.id for sub in subscriptions if event.kind in sub.events]
        if not takers:
            continue
        event_id = f"evt_{uuid.uuid4().hex}"
        body = event_body(event_id, event)
        rows += [
            {"subscription_id": sub_id, "event_id": event_id, "event_kind": event.kind, "body": body,
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for sub_id in takers
        ]
    if rows:
        await conn_or_session.execute(WebhookDelivery.__table__.insert(), rows)
        events.append(Event(WEBHOOKS_QUEUED, {"deliveries": len(rows)}))
    return len(rows)
