"""The event bus: what happened, for live pages and background workers.

Events are published only after the transaction that caused them commits, so a
listener never sees something that was rolled back. In one process the bus is a
set of bounded queues; a slow listener loses events rather than slowing the
pipeline (live pages reload their state when they see a gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.exc import SQLAlchemyError

from contactcenter.db.models import utcnow

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000
# Event-woken rounds of a background worker start at most this often (run_periodically).
WAKE_GAP_SECONDS = 0.05
# How long a stopping hub lets a background round in progress finish its transaction.
STOP_ROUND_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "interaction.created", "ticket.created", "outbox.queued", ...
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    origin: str = ""  # "" for this process; another process's id when it came over PostgreSQL


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
    and tried again next time: a background worker outlives a database hiccup.

    Rounds woken by events start at most every WAKE_GAP_SECONDS: under a burst
    of contacts each ingest batch woke the assigner, the voice connector and
    the webhook worker, which then queried the database back to back (6 % of
    the hub's CPU per call in `bench/run.py --channels voice`); after a quiet
    spell the first event still starts a round at once."""
    wakeup = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def watch(events: asyncio.Queue[Event]) -> None:
        while True:
            if (await events.get()).kind in wake_on:
                wakeup.set()

    async with bus.subscribe() as events:
        watcher = asyncio.create_task(watch(events))
        try:
            while True:
                if stop_requested():  # the wait_for below can swallow the cancel (see stop_requested)
                    raise asyncio.CancelledError
                wakeup.clear()
                started = loop.time()
                try:
                    await finish_on_cancel(work())
                except Exception:  # noqa: BLE001 - logged; the next round may succeed
                    log.exception("%s: round failed; trying again shortly", name)
                try:
                    await asyncio.wait_for(wakeup.wait(), every)
                except TimeoutError:
                    continue
                if (pause := started + WAKE_GAP_SECONDS - loop.time()) > 0:
                    await asyncio.sleep(pause)
        finally:
            watcher.cancel()


def stop_requested() -> bool:
    """Whether this task has been cancelled, even if an await swallowed the CancelledError.

    On Python 3.11, `asyncio.wait_for` drops a cancellation that arrives in
    the same loop iteration as the future it waits for finishes (CPython
    gh-86296, fixed in 3.12): it returns that future's result or raises its
    error, not CancelledError. aiosmtplib connects to the relay through
    `wait_for`, so an outbox cancelled at shutdown just as a refused
    connection failed recorded a send failure and went on delivering; the
    cleanup waited on it for good, and `serve` did not stop after SIGTERM
    (tests/test_cli.py, 1 run in 10). The task still counts the request
    (`Task.cancelling()`), so a worker loop that looks here between its units
    of work stops anyway. A worker task is only ever cancelled to stop it.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def finish_on_cancel(round_: Awaitable[object]) -> None:
    """Await one round; cancelled (the hub is stopping), let it finish first, for at most STOP_ROUND_SECONDS.

    For work that holds a database transaction when the stop comes. A round
    cancelled inside its transaction left that aiosqlite connection holding
    SQLite's write lock (the rollback never ran), so the ingest
    writer's last transaction waited out the 30 s busy timeout and `serve`
    took that long to stop after SIGTERM (tests/test_cli.py, 4 runs in 10).
    """
    task = asyncio.ensure_future(round_)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, STOP_ROUND_SECONDS)
        raise


class PostgresEventBridge:
    """Carries events between hub processes that share one PostgreSQL database.

    Every local event is sent with NOTIFY on one channel, and every event another
    process sent arrives through LISTEN and is published here with its origin, so
    it is not sent back. Delivery is best effort, like the bus itself: workers
    that must not miss work also look at the database on a timer.
    """

    CHANNEL = "contactcenter_events"
    MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more

    def __init__(self, bus: EventBus, engine: Any):
        self.bus = bus
        self.engine = engine
        self.origin = uuid.uuid4().hex

    async def run(self) -> None:
        """Listen and forward until cancelled; reconnect after a lost connection."""
        while True:
            try:
                await self._session()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, SQLAlchemyError) as exc:
                log.warning("event bridge: %s; reconnecting", exc)
            await asyncio.sleep(1.0)

    async def _session(self) -> None:
        async with self.engine.connect() as connection, self.bus.subscribe() as local:
            raw = (await connection.get_raw_connection()).driver_connection
            lost = asyncio.Event()
            raw.add_termination_listener(lambda _conn: lost.set())
            await raw.add_listener(self.CHANNEL, self._received)
            try:
                while not lost.is_set():
                    events = [await local.get()]
                    while not local.empty():  # what queued meanwhile goes in the same NOTIFY
                        events.append(local.get_nowait())
                    for payload in self._payloads([e for e in events if not e.origin]):
                        await raw.execute("SELECT pg_notify($1, $2)", self.CHANNEL, payload)
            finally:
                if not lost.is_set():
                    await raw.remove_listener(self.CHANNEL, self._received)

    def _payloads(self, events: list[Event]) -> list[str]:
        """The events as few NOTIFY payloads as fit: one per event had been 1.7 round trips per contact (issue 11)."""
        payloads: list[str] = []
        chunk: list[str] = []
        size = 0
        for event in events:
            one = self._encode(event)
            if chunk and size + len(one) + 1 > self.MAX_PAYLOAD - len(self._message([])):
                payloads.append(self._message(chunk))
                chunk, size = [], 0
            chunk.append(one)
            size += len(one) + 1
        if chunk:
            payloads.append(self._message(chunk))
        return payloads

    def _encode(self, event: Event) -> str:
        encoded = json.dumps({"kind": event.kind, "data": event.data, "at": event.at.isoformat()})
        if len(encoded.encode()) > self.MAX_PAYLOAD // 2:
            encoded = json.dumps({"kind": event.kind, "data": {}, "at": event.at.isoformat()})
        return encoded

    def _message(self, encoded_events: list[str]) -> str:
        return f'{{"origin": {json.dumps(self.origin)}, "events": [{", ".join(encoded_events)}]}}'

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        message = json.loads(payload)
        if message["origin"] == self.origin:
            return
        for event in message["events"]:
            self.bus.publish(Event(event["kind"], event["data"], datetime.fromisoformat(event["at"]), origin=message["origin"]))
