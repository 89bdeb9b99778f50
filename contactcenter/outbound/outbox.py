"""The outbox: durable delivery of everything we send, on every channel.

Messages are rows written in the same transaction as the interaction that
caused them (`actions.do_reply`). This worker claims a batch of due rows in one
short transaction, then sends them one at a time through the channel's `send()`
outside any transaction. Each message the provider accepted is recorded as sent
at once, before the next one goes out: a `kill -9` then repeats at most the one
message in flight (the provider took it, the hub had not yet written that
down). On PostgreSQL that record is a short transaction of its own; on SQLite a
line in the outbox's journal (`sent_journal.py`), applied to the database once
per pass. Failures only reschedule a row, so
they are written together, in one transaction at the end of the pass.
A claimed row carries a lease; if the process dies mid-send, the row is offered
again once the lease runs out. With PostgreSQL, `FOR UPDATE SKIP LOCKED` lets
several hub processes share the work without sending anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import OutboundMessage, SendReceipt
from contactcenter.db.models import Interaction, OutboxMessage, utcnow
from contactcenter.errors import ChannelSendError
from contactcenter.events import Event, stop_requested
from contactcenter.hub import Hub
from contactcenter.identity.normalize import mask
from contactcenter.outbound.sent_journal import Sent, sent_journal
from contactcenter.pipeline.run import in_writer_session
from contactcenter.settings import OutboxSettings

log = logging.getLogger(__name__)

BATCH_SIZE = 20
# Delivery statuses the hub itself sets before the provider has said anything.
PRE_SEND_STATUSES = ("", "queued", "retrying")


class OutboxWorker:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.settings = hub.settings.outbox
        self.journal = sent_journal(hub.engine)
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        """Deliver until cancelled; wake early when something is queued."""
        async with self.hub.bus.subscribe() as events:
            watcher = asyncio.create_task(self._watch(events))
            try:
                while True:
                    # A cancel a send or the wait below swallowed (events.stop_requested)
                    # still stops the worker; else serve's cleanup waits on it for good.
                    if stop_requested():
                        raise asyncio.CancelledError
                    try:
                        sent = await self.deliver_due()
                    except Exception:  # noqa: BLE001 - the worker must outlive a database hiccup
                        log.exception("outbox: delivery round failed; trying again shortly")
                        sent = 0
                    if sent == BATCH_SIZE:
                        continue  # more may be waiting
                    if stop_requested():
                        raise asyncio.CancelledError
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), self.settings.poll_seconds)
                    except TimeoutError:
                        pass
            finally:
                watcher.cancel()

    async def _watch(self, events: asyncio.Queue[Event]) -> None:
        while True:
            event = await events.get()
            if event.kind == "outbox.queued":
                self._wakeup.set()

    async def deliver_due(self) -> int:
        """Claim and send one batch of due messages; returns how many were claimed.

        One at a time, not side by side: with several sends in flight a crash
        would repeat each one the provider had accepted but the hub not recorded.
        """
        await self._apply_journal()  # before claiming: what a killed process sent is not sent again
        claimed, lease_until = await self._claim()
        failures: list[Failure] = []
        for row_id, payload in claimed:
            if utcnow() >= lease_until:
                break  # slow sends used up the lease: the rest may be another worker's by now
            if stop_requested():
                break  # cancelled, and a send swallowed it: send no more, record what was done
            failure = await self._deliver(row_id, payload)
            if failure is not None:
                failures.append(failure)
        await self._apply_journal()
        if failures:
            await self._record_failures(failures)
        return len(claimed)

    async def _claim(self) -> tuple[list[tuple[int, dict]], datetime]:
        """-> the claimed (id, payload) rows and when their lease runs out."""
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        due = (
            select(OutboxMessage.id)
            .where(
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
                )
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        return await in_writer_session(self.hub, _claim_due, due, lease_until), lease_until

    async def _deliver(self, row_id: int, payload: dict) -> Failure | None:
        """Send one message; record it at once if accepted, else return the failure."""
        message = OutboundMessage.from_json(payload)
        channel = self.hub.channels.get(message.channel)
        started = utcnow()
        try:
            if channel is None:
                raise ChannelSendError(f"no {message.channel} channel is configured", retryable=False)
            receipt = await channel.send(message)
        except ChannelSendError as exc:
            return Failure(row_id, message, str(exc), exc.retryable, started)
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the message
            log.exception("outbox %s: %s adapter failed", row_id, message.channel)
            return Failure(row_id, message, repr(exc), True, started)
        await self._record_success(row_id, message, receipt, started)
        return None

    async def _record_success(self, row_id: int, message: OutboundMessage, receipt: SendReceipt, started: datetime) -> None:
        log.info("outbox %s: %s to %s %s", row_id, message.channel, mask(message.to), receipt.status)
        sent = Sent(row_id, message.interaction_id, receipt.provider_id, receipt.status, started.isoformat())
        if self.journal is not None:
            self.journal.append(sent)
            return
        # One transaction per message, in a session of the pool: on the ingest
        # writer, queued between its batches, they cost JSON intake a third of
        # its rate (docs/benchmarks.md, "SMS and JSON through HTTP after the
        # set-based pipeline").
        async with self.hub.sessions() as session, session.begin():
            await _mark_all_sent(session, [sent])
        self.hub.bus.publish(Event("outbox.sent", {"outbox_id": row_id, "interaction_id": message.interaction_id}))

    async def _apply_journal(self) -> None:
        """The journal's messages marked sent in the database, in one transaction of the ingest writer."""
        if self.journal is None:
            return
        taken = self.journal.take()
        if not taken.entries:
            taken.done()
            return
        await in_writer_session(self.hub, _mark_all_sent, taken.entries)
        taken.done()
        for sent in taken.entries:
            self.hub.bus.publish(Event("outbox.sent", {"outbox_id": sent.row_id, "interaction_id": sent.interaction_id}))

    async def _record_failures(self, failures: list[Failure]) -> None:
        """Reschedule (or give up on) the pass's failed messages, in one transaction."""
        outcomes = await in_writer_session(self.hub, _reschedule, failures, self.settings)
        for failure, status in outcomes:
            message = failure.message
            log.warning("outbox %s: %s to %s failed (%s): %s", failure.row_id, message.channel, mask(message.to), status, failure.error)
        for failure, status in outcomes:
            if status == "failed":
                self.hub.bus.publish(Event("outbox.failed", {"outbox_id": failure.row_id, "interaction_id": failure.message.interaction_id}))


async def _claim_due(session: AsyncSession, due: Select, lease_until: datetime) -> list[tuple[int, dict]]:
    """Mark the due rows `sending` under a lease; -> their (id, payload)."""
    rows = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            lease_until=lease_until,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id, OutboxMessage.payload)
        .execution_options(synchronize_session=False)
    )
    return [(row.id, row.payload) for row in rows]


# Core statements, one executemany each for a whole pass: the ORM's two reads
# and two writes per message made a journal of 20 cost 3 ms of the ingest
# writer's time (issue 11).
_outbox, _interactions = OutboxMessage.__table__, Interaction.__table__
SENT_ROWS = select(_outbox.c.id, _outbox.c.status, _outbox.c.attempt_log).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"))
    .values(
        status="sent",
        sent_at=bindparam("b_now", type_=_outbox.c.sent_at.type),
        provider_id=bindparam("b_provider_id"),
        lease_until=None,
        attempt_log=bindparam("b_attempt_log", type_=_outbox.c.attempt_log.type),
    )
)
# A provider's delivery report (Twilio's status callback) can land before this
# commit; never move its newer status backwards. Conditional, so a report
# committed meanwhile is seen.
SENT_STATUS = (
    update(_interactions)
    # OR, not IN: an IN list is expanded per execution, which executemany cannot take.
    .where(_interactions.c.id == bindparam("b_interaction_id"), or_(*(_interactions.c.delivery_status == s for s in PRE_SEND_STATUSES)))
    .values(delivery_status=bindparam("b_status"))
)
SENT_PROVIDER_ID = (
    update(_interactions)
    .where(_interactions.c.id == bindparam("b_interaction_id"), _interactions.c.provider_id.is_(None))
    .values(provider_id=bindparam("b_provider_id"))
)


async def _mark_all_sent(session: AsyncSession, entries: list[Sent]) -> None:
    """Each message the provider took marked sent, with its attempt and its interaction's delivery status."""
    rows = {row.id: row for row in await session.execute(SENT_ROWS, {"ids": sorted({sent.row_id for sent in entries})})}
    now, marked = utcnow(), set()
    sent_rows, statuses, provider_ids = [], [], []
    for sent in entries:
        row = rows.get(sent.row_id)
        # Gone, sent already (a journal applied twice: killed before removing it), or twice in this list.
        if row is None or row.status == "sent" or sent.row_id in marked:
            continue
        marked.add(sent.row_id)
        attempt = _attempt(datetime.fromisoformat(sent.started), "sent")
        sent_rows.append({"b_id": sent.row_id, "b_now": now, "b_provider_id": sent.provider_id, "b_attempt_log": [*row.attempt_log, attempt]})
        statuses.append({"b_interaction_id": sent.interaction_id, "b_status": sent.status})
        if sent.provider_id:
            provider_ids.append({"b_interaction_id": sent.interaction_id, "b_provider_id": sent.provider_id})
    if sent_rows:
        await session.execute(MARK_SENT, sent_rows)
        await session.execute(SENT_STATUS, statuses)
    if provider_ids:
        await session.execute(SENT_PROVIDER_ID, provider_ids)


async def _reschedule(session: AsyncSession, failures: list[Failure], settings: OutboxSettings) -> list[tuple[Failure, str]]:
    """Each failed row `pending` again after a backoff, or `failed` for good; -> (failure, status) each."""
    now = utcnow()
    # Two reads for the whole pass, not two per message (a statement per
    # message cost more than the failed send itself; docs/benchmarks.md).
    ids = [f.row_id for f in failures]
    rows = {row.id: row for row in await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
    wanted = {row.interaction_id for row in rows.values()}
    interactions = {i.id: i for i in await session.scalars(select(Interaction).where(Interaction.id.in_(wanted)))}
    statuses = []
    for failure in failures:
        row = rows[failure.row_id]
        row.attempt_log = [*row.attempt_log, _attempt(failure.started, "failed", failure.error)]
        row.last_error = failure.error[:2000]
        row.lease_until = None
        interaction = interactions[row.interaction_id]
        if failure.retryable and row.attempts < settings.max_attempts:
            row.status = "pending"
            row.next_attempt_at = now + backoff(settings, row.attempts)
            interaction.delivery_status = "retrying"
        else:
            row.status = "failed"
            interaction.delivery_status = "failed"
        statuses.append((failure, row.status))
    return statuses


@dataclass(frozen=True)
class Failure:
    """One send that did not go through, to be written down with the pass's others."""

    row_id: int
    message: OutboundMessage
    error: str
    retryable: bool
    started: datetime


def backoff(settings: OutboxSettings, attempts: int) -> timedelta:
    """Exponential with jitter, so a relay coming back is not hit by everyone at once."""
    delay = min(settings.backoff_base_seconds * 2 ** (attempts - 1), settings.backoff_max_seconds)
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def _attempt(started: datetime, result: str, error: str = "") -> dict:
    return {"at": started.isoformat(), "result": result, **({"error": error[:500]} if error else {})}
