"""Running the ingest pipeline: contacts written in batches, one transaction each.

Two ways in, both ending in the same batches:
- `ingest` hands a contact to the hub's `IngestWriter` and waits until it is
  processed: for callers whose answer needs the outcome (the web form shows
  the ticket reference, the JSON API returns ids, voice speaks to the caller).
- `accept` returns as soon as the contact is stored raw (an InboundRecord
  `pending`); the writer processes it right after, and deletes the record in
  the same transaction (DESIGN.md §1, "accept, record, process"). For
  providers that only need to know we have it: Twilio's SMS webhook and the
  SMTP receiver answer in a few milliseconds, however long the queue.

The writer takes what is waiting (up to `[ingest] batch_size` contacts and
`max_batch_bytes` of raw input and attachments, at least one) and runs each
contact through INGEST_STEPS in one transaction: each step takes a whole
round of the batch at once (pipeline/rounds.py). When one of them fails, the
batch is rolled back and each contact is written again alone, so only that one
fails (savepoints would do it too, but cost two statements per contact).

Why batches: beginning and committing a transaction, checking out a
connection and setting up a session cost as much as a step does. Under light
load a batch holds one contact; under a burst, contacts that would have queued
for the database one by one share a commit. On SQLite one writer per process
also means ingest never sleeps in SQLite's busy handler waiting for another of
our own connections to release the file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.attachment_readers import with_attachments
from contactcenter.contact import InboundContact
from contactcenter.db.engine import create_sqlite_writer, is_unavailable
from contactcenter.db.writer import insert_rows
from contactcenter.db.models import InboundRecord, format_reference, utcnow
from contactcenter.errors import TemporaryError
from contactcenter.heap import give_back_memory
from contactcenter.hub import Hub
from contactcenter.pipeline import INGEST_STEPS
from contactcenter.pipeline.context import IngestContext, IngestResult
from contactcenter.pipeline.rounds import split_rounds
from contactcenter.webhooks.enqueue import enqueue_webhook_events

log = logging.getLogger(__name__)
T = TypeVar("T")
# What a channel runs in a contact's own ingest transaction, after the steps (see `ingest`).
FollowUp = Callable[[IngestContext], Awaitable[Any]]

# A unique-constraint race (two deliveries of one message, two contacts from one
# new address, in two processes) is settled by running again: the loser then
# sees the winner's rows.
MAX_RUNS = 3
# Deadlock detected, serialization failure (PostgreSQL): a race, like a unique violation.
RACE_SQLSTATES = ("40P01", "40001")
# A writer looks this many times its batch size into the queue for contacts no other writer holds.
SCAN_FACTOR = 4
# A batch stops taking contacts after this long, so that accepted contacts
# waiting to be stored (SMS, mail) never wait behind a long batch: on SQLite
# both need the one write lock.
BATCH_SECONDS = 0.02
# Accepted contacts whose processing met a database outage are tried again after this long.
RETRY_SECONDS = 1.0
# On stopping, how long the writer may go on with what is queued.
DRAIN_SECONDS = 5.0
# After storing and writing this much input, the writer hands freed memory back once idle.
GIVE_BACK_BYTES = 16 * 1024 * 1024


class ContactKeptForReplay(Exception):
    """Processing failed; the contact is stored raw (InboundRecord `failed`).

    The provider still gets its success reply: we hold the contact durably, and
    sending the same input again would fail the same way.
    """

    def __init__(self, record_id: int):
        super().__init__(f"contact kept for replay as inbound record {record_id}")
        self.record_id = record_id


async def ingest(hub: Hub, contact: InboundContact, *, raw: bytes | None = None, then: FollowUp | None = None) -> IngestResult:
    """Record one contact and return where it went.

    `then(ctx)`, when given, runs right after the steps in the same
    transaction, for a channel whose answer needs more than where the contact
    went; what it returns is the result's `answer`. Voice asks for the
    caller's name and places the call in its queue that way: one transaction
    per call instead of two, while the caller waits in silence.

    Raises ContactKeptForReplay when processing failed but the contact is
    stored, and TemporaryError when it could not be stored at all (the
    provider must retry).
    """
    item = _Waiting(contact, raw, asyncio.get_running_loop().create_future(), then=then)
    writer_of(hub).process(item)
    return await _outcome(item.future)


async def accept(hub: Hub, contact: InboundContact, *, raw: bytes | None = None) -> None:
    """Store the contact for processing right after; return once it is durable.

    Raises TemporaryError when it cannot be stored (the database is down, or
    `[ingest] max_backlog` contacts already wait): the provider must retry.
    """
    writer = writer_of(hub)
    if writer.backlog() >= hub.settings.ingest.max_backlog:
        raise TemporaryError("too many contacts are waiting to be processed")
    item = _Waiting(contact, raw, asyncio.get_running_loop().create_future())
    writer.store(item)
    await _outcome(item.future)


def writer_of(hub: Hub) -> IngestWriter:
    writer = hub.ingest_writer
    if writer is None or not writer.serves_running_loop():
        if writer is not None and writer.sqlite is not None:
            writer.sqlite.abandon()  # its loop ended without closing it
        writer = hub.ingest_writer = IngestWriter(hub)
    return writer


async def in_writer_session(hub: Hub, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`await work(session, *args)` in one transaction of the ingest writer's sessions.

    On SQLite that is the writer's thread and connection: the whole
    transaction is one hand-off instead of one per statement through
    aiosqlite, and it never waits in SQLite's busy handler for the ingest
    writer's lock (nor makes the writer wait for it). For the outbox, whose
    few statements per message sent cost more than the pipeline's per contact
    (docs/benchmarks.md, "SMS and JSON through HTTP after the set-based
    pipeline"), and for the call state the voice webhooks write
    (`voice/calls.py`). On PostgreSQL: the hub's sessions, as before.
    """
    writer = writer_of(hub)

    async def transaction() -> T:
        async with writer.sessions() as session, session.begin():
            return await work(session, *args)

    return await writer._in_writer(transaction)


async def _outcome(future: asyncio.Future) -> Any:
    # Shielded: a caller that stops waiting (a client hung up) does not take
    # the contact out of a batch being written.
    return await asyncio.shield(future)


async def run_batch(
    hub: Hub, session: AsyncSession, contacts: list[InboundContact], *, seconds: float | None = None
) -> list[IngestContext]:
    """The contacts through every step, round by round, in the caller's transaction.

    Each step takes a whole round (pipeline/rounds.py: contacts that cannot
    see each other), so the answer is the one contact-by-contact processing
    gives. After `seconds`, no further round starts: -> the contexts of the
    contacts written, the first ones of `contacts`.
    """
    started = time.monotonic()
    now = utcnow()
    contexts = [IngestContext(hub=hub, session=session, contact=contact, now=now) for contact in contacts]
    written: list[IngestContext] = []
    for round_ in await split_rounds(session, contexts):
        for step in INGEST_STEPS:
            remaining = [ctx for ctx in round_ if not ctx.finished]
            if not remaining:
                break
            await step(remaining)
        written += round_
        if seconds is not None and time.monotonic() - started > seconds:
            break
    return written


@dataclass(eq=False)
class _Waiting:
    contact: InboundContact
    raw: bytes | None
    # The caller waiting: for the IngestResult (ingest), or for the contact
    # to be stored (accept). None once an accepted contact is stored.
    future: asyncio.Future | None
    record_id: int | None = None  # the `pending` InboundRecord of an accepted contact
    then: FollowUp | None = None  # see `ingest`
    runs: int = 0
    alone: bool = False  # in a batch that failed: written in a transaction of its own
    raced: bool = False  # in a batch that lost a race (`lost_a_race`) and ran again whole
    keys: frozenset[str] = frozenset()  # set in __post_init__
    # Bytes this contact holds in memory while it is written: its raw input and
    # its attachments (read from the raw input again when `attachments_in_raw`).
    weight: int = -1

    def __post_init__(self) -> None:
        if self.weight < 0:
            self.weight = len(self.raw or b"") + sum(len(a.content) for a in self.contact.attachments)
        # What two writers must not write at once: the sender's identifiers and the message (`_take`).
        contact = self.contact
        message = {f"{contact.channel}:{contact.provider_id}"} if contact.provider_id else set()
        self.keys = frozenset({f"{i.kind}:{i.value}" for i in contact.identities} | message)

    def size(self) -> int:
        return self.weight

    def settle(self, result: object = None, error: BaseException | None = None) -> None:
        future, self.future = self.future, None
        if future is None or future.done():  # nobody waits, or the caller gave up; the outcome stands
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class IngestWriter:
    """The tasks of one process that store and write contacts in batches."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.loop = asyncio.get_running_loop()
        self.storing: deque[_Waiting] = deque()  # accepted, not yet stored
        self.waiting: deque[_Waiting] = deque()  # to be processed
        self.in_flight: set[str] = set()  # the keys of the batches being written (`_take`)
        self.wakeup = asyncio.Event()
        self.writing = 0  # batches being written now
        self.idle = asyncio.Event()  # set while nothing is queued or being written
        self.idle.set()
        # For /metrics: what this process wrote since it started.
        self.processed: Counter[str] = Counter()  # contacts by channel
        self.batches = 0
        # On SQLite, one writer with a thread and connection of its own: the
        # whole batch is one hand-off (db/writer.py). On PostgreSQL the batch
        # runs here, on asyncpg, which hands nothing off.
        self.sqlite = create_sqlite_writer(hub.engine) if hub.engine.dialect.name == "sqlite" else None
        self.sessions = self.sqlite.sessions if self.sqlite is not None else hub.sessions
        self.bytes_since_idle = 0  # input stored and written since the writer was last idle
        writers = 1 if self.sqlite is not None else hub.settings.ingest.writers
        self.tasks = [self.loop.create_task(self._run(), name=f"ingest-writer-{i}") for i in range(writers)]

    def serves_running_loop(self) -> bool:
        return self.loop is asyncio.get_running_loop() and not any(task.done() for task in self.tasks)

    def backlog(self) -> int:
        return len(self.storing) + len(self.waiting)

    def process(self, item: _Waiting) -> None:
        self.waiting.append(item)
        self._wake()

    def store(self, item: _Waiting) -> None:
        self.storing.append(item)
        self._wake()

    def _wake(self) -> None:
        self.idle.clear()
        self.wakeup.set()

    async def recover(self) -> int:
        """Queue the accepted contacts a stopped process left unprocessed; -> how many.

        With several processes on one PostgreSQL this may also take contacts
        another process is about to write; the dedupe step makes the second
        write a no-op.
        """
        async with self.hub.sessions() as session:
            rows = await session.execute(
                # Not the raw input: only a contact with attachments in it reads it, when written.
                select(InboundRecord.id, InboundRecord.contact, func.coalesce(func.length(InboundRecord.raw), 0))
                .where(InboundRecord.status == "pending", InboundRecord.contact.is_not(None))
                .order_by(InboundRecord.id)
            )
            for record_id, contact, raw_bytes in rows:
                self.process(_Waiting(InboundContact.from_json(contact), None, None, record_id=record_id, weight=raw_bytes))
        return len(self.waiting)

    async def close(self) -> None:
        """Finish what is queued (for a while), then stop; accepted contacts left over stay pending on disk."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), DRAIN_SECONDS)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for item in (*self.storing, *self.waiting):
            item.settle(error=TemporaryError("the hub is stopping"))
        if self.sqlite is not None:
            await self.sqlite.close()

    async def _in_writer(self, work, *args):  # noqa: ANN001, ANN002, ANN202
        """`await work(*args)` where this writer's sessions live: its thread on SQLite, here otherwise."""
        if self.sqlite is not None:
            return await self.sqlite.run(work, *args)
        return await work(*args)

    async def _run(self) -> None:
        size, max_bytes = self.hub.settings.ingest.batch_size, self.hub.settings.ingest.max_batch_bytes
        while True:
            batch: list[_Waiting] = []
            keys: frozenset[str] = frozenset()  # what this batch holds from the other writers (`_take`)
            if self.storing:
                batch, write = _take(self.storing, size, max_bytes), self._store
            elif self.waiting:
                batch, write = _take(self.waiting, size, max_bytes, self.in_flight), self._write
                keys = frozenset().union(*(item.keys for item in batch))
            if not batch:  # nothing queued, or only contacts another writer's batch holds
                if not self.writing:
                    self.idle.set()
                    if self.bytes_since_idle >= GIVE_BACK_BYTES:
                        give_back_memory()  # a burst of large input is over: its freed pages go back
                    self.bytes_since_idle = 0
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            self.writing += 1
            self.bytes_since_idle += sum(item.size() for item in batch)
            self.in_flight |= keys
            try:
                await write(batch)
            except BaseException as exc:
                # Stopping mid-batch, or a bug: the transaction rolled back, and
                # the callers must make their providers send these contacts again.
                for item in batch:
                    item.settle(error=TemporaryError("the contact could not be written"))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.exception("ingest writer: unexpected error")
            finally:
                self.writing -= 1
                if keys:
                    self.in_flight -= keys
                    if self.waiting:
                        self._wake()  # contacts that waited for these keys

    async def _store(self, batch: list[_Waiting]) -> None:
        try:
            record_ids = await self._in_writer(self._insert_records, batch)
        except Exception as exc:  # noqa: BLE001 - nothing was stored; the providers retry
            if not is_unavailable(exc):
                log.exception("could not store %d accepted contacts", len(batch))
            for item in batch:
                item.settle(error=TemporaryError("the database is unavailable"))
            return
        for item, record_id in zip(batch, record_ids):
            item.record_id = record_id
            item.raw = None  # kept in the record; read again only for attachments it holds
            item.settle()
            self.waiting.append(item)

    async def _insert_records(self, batch: list[_Waiting]) -> list[int]:
        rows = [
            {
                "channel": item.contact.channel,
                "provider_id": item.contact.provider_id,
                "raw": item.raw,
                "contact": item.contact.to_json(),
                "status": "pending",
            }
            for item in batch
        ]
        async with self.sessions() as session, session.begin():
            return await insert_rows(session, InboundRecord.__table__, rows)

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            contacts = [await self._whole(item) for item in batch]
        except Exception as exc:  # noqa: BLE001 - the raw input could not be read again
            await self._failed(batch, exc)
            return
        try:
            contexts, results = await self._in_writer(self._write_batch, batch, contacts)
        except Exception as exc:  # noqa: BLE001 - nothing in the batch was stored
            await self._failed(batch, exc)
            return
        written = batch[: len(contexts)]
        self._again(batch[len(written) :])
        self.batches += 1
        for item, ctx, result in zip(written, contexts, results):
            self.processed[item.contact.channel] += 1
            self.hub.bus.publish_all(ctx.events)
            item.settle(result)

    async def _write_batch(
        self, batch: list[_Waiting], contacts: list[InboundContact]
    ) -> tuple[list[IngestContext], list[IngestResult]]:
        """The batch (or its first part, when it takes long) in one transaction; -> what was written."""
        async with self.sessions() as session, session.begin():
            contexts = await run_batch(self.hub, session, contacts, seconds=BATCH_SECONDS)
            written = batch[: len(contexts)]
            answers = [await item.then(ctx) if item.then else None for item, ctx in zip(written, contexts)]
            events = [event for ctx in contexts for event in ctx.events]
            if await enqueue_webhook_events(session, events):
                contexts[-1].events.append(events[-1])  # `webhook.queued`, published with the last contact's
            if accepted := [item.record_id for item in written if item.record_id is not None]:
                await session.execute(delete(InboundRecord).where(InboundRecord.id.in_(accepted)))
            results = [_result(ctx, answer) for ctx, answer in zip(contexts, answers)]
        return contexts, results

    async def _whole(self, item: _Waiting) -> InboundContact:
        """The contact with its attachments, read from its raw input when they were left there.

        Only for the batch being written: queued contacts hold no attachments,
        so a burst of large mail waits on disk, not in memory.
        """
        if not item.contact.attachments_in_raw:
            return item.contact
        raw = item.raw
        if raw is None and item.record_id is not None:
            async with self.hub.sessions() as session:
                raw = await session.scalar(select(InboundRecord.raw).where(InboundRecord.id == item.record_id))
        if raw is None:
            raise ValueError("the raw input holding this contact's attachments is gone")
        return await asyncio.to_thread(with_attachments, item.contact, raw, self.hub.settings)

    async def _failed(self, batch: list[_Waiting], exc: Exception) -> None:
        """The batch rolled back. Whatever the cause, every contact in it is settled or queued again."""
        if is_unavailable(exc):
            for item in batch:
                item.settle(error=TemporaryError("the database is unavailable"))
            # Accepted contacts are ours to write: they wait in memory (and on disk).
            if accepted := [item for item in batch if item.record_id is not None]:
                self.loop.call_later(RETRY_SECONDS, self._again, accepted)
        elif len(batch) > 1 and lost_a_race(exc) and not any(item.raced for item in batch):
            # Another process wrote one of these new senders or messages
            # first, or locked its customers in the other order: the batch
            # runs again whole and then sees its rows. Split into single
            # contacts at once, each race on PostgreSQL turned a batch of 32
            # into 32 transactions (docs/benchmarks.md, 2026-12-04).
            for item in batch:
                item.raced = True
            self._again(batch)
        elif len(batch) > 1:
            # One contact failed them all: write each alone, so only it fails.
            for item in batch:
                item.alone = True
            self._again(batch)
        else:
            item = batch[0]
            item.runs += 1
            if lost_a_race(exc) and item.runs < MAX_RUNS:
                log.info("%s %s: concurrent write, running again", item.contact.channel, item.contact.provider_id)
                self._again(batch)
                return
            log.error("%s %s: ingest failed; kept for replay", item.contact.channel, item.contact.provider_id, exc_info=exc)
            try:
                item.settle(error=ContactKeptForReplay(await _keep_failed(self.hub, item, repr(exc))))
            except TemporaryError as error:
                item.settle(error=error)

    def _again(self, items: list[_Waiting]) -> None:
        if items:
            self.waiting.extendleft(reversed(items))
            self._wake()


def lost_a_race(exc: BaseException) -> bool:
    """A unique-constraint race or a deadlock with another transaction: running again settles it."""
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES


def _take(queue: deque[_Waiting], size: int, max_bytes: int, busy: set[str] | frozenset[str] = frozenset()) -> list[_Waiting]:
    """The next batch: up to `size` contacts in arrival order holding at most `max_bytes`, or one alone.

    The byte budget keeps a burst of large mail from being stored or written
    all in one transaction (each copy the database driver makes is the batch's
    size); a contact larger than the budget is a batch by itself.

    `busy` holds the keys (`_Waiting.keys`) of the batches other writers are
    writing: a contact that shares one stays queued, and so does every later
    contact sharing a key with it. So one sender's contacts are written in
    arrival order, by one writer at a time; on PostgreSQL, four writers on
    overlapping senders had deadlocked or raced each other every few batches.
    """
    batch: list[_Waiting] = []
    skipped: list[_Waiting] = []
    blocked = set(busy)
    held = 0
    for _ in range(size * SCAN_FACTOR):
        if not queue or len(batch) == size:
            break
        item = queue[0]
        if batch and (batch[0].alone or item.alone or held + item.size() > max_bytes):
            break
        queue.popleft()
        if blocked and not blocked.isdisjoint(item.keys):
            blocked |= item.keys
            skipped.append(item)
            continue
        batch.append(item)
        held += item.size()
    queue.extendleft(reversed(skipped))
    return batch


def _result(ctx: IngestContext, answer: Any) -> IngestResult:
    interaction = ctx.duplicate_of or ctx.interaction
    assert interaction is not None and interaction.customer_id is not None
    return IngestResult(
        customer_id=interaction.customer_id,
        ticket_id=interaction.ticket_id,
        reference=format_reference(interaction.ticket_id) if interaction.ticket_id else "",
        interaction_id=interaction.id,
        duplicate=ctx.duplicate_of is not None,
        ticket_created=ctx.ticket_created,
        answer=answer,
    )


async def _keep_failed(hub: Hub, item: _Waiting, error: str) -> int:
    """Keep the contact raw, `failed`, so a person can see it and replay it; -> the record's id."""
    try:
        async with hub.sessions() as session, session.begin():
            if item.record_id is not None:  # accepted: its pending record becomes the failed one
                await session.execute(
                    update(InboundRecord).where(InboundRecord.id == item.record_id).values(status="failed", error=error[:4000])
                )
                return item.record_id
            record = InboundRecord(
                channel=item.contact.channel,
                provider_id=item.contact.provider_id,
                raw=item.raw,
                contact=item.contact.to_json(),
                status="failed",
                error=error[:4000],
            )
            session.add(record)
    except (OperationalError, DBAPIError) as exc:
        raise TemporaryError("the database is unavailable") from exc
    return record.id
