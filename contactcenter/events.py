"""The event bus: what happened, for live pages and background workers.

Events are published only after the transaction that caused them commits, so a
listener never sees something that was rolled back. In one process the bus is a
set of bounded queues; a slow listener loses events rather than slowing the
pipeline (live pages reload their state when they see a gap).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contactcenter.db.models import utcnow

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "interaction.created", "ticket.created", "outbox.queued", ...
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(self, event: Event) -> None:
        for queue in self._subscribers:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event subscriber is full; dropped %s", event.kind)

    def publish_all(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


async def run_periodically(
    bus: EventBus, work: Callable[[], Awaitable[object]], *, every: float, wake_on: frozenset[str] = frozenset(), name: str
) -> None:
    """Call `work` now and then every `every` seconds, or sooner when an event of
    a kind in `wake_on` is published, until cancelled. A failing call is logged
    and tried again next time: a background worker outlives a database hiccup."""
    wakeup = asyncio.Event()

    async def watch(events: asyncio.Queue[Event]) -> None:
        while True:
            if (await events.get()).kind in wake_on:
                wakeup.set()

    async with bus.subscribe() as events:
        watcher = asyncio.create_task(watch(events))
        try:
            while True:
                wakeup.clear()
                try:
                    await work()
                except Exception:  # noqa: BLE001 - logged; the next round may succeed
                    log.exception("%s: round failed; trying again shortly", name)
                try:
                    await asyncio.wait_for(wakeup.wait(), every)
                except TimeoutError:
                    pass
        finally:
            watcher.cancel()
