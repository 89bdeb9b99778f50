"""Running the ingest pipeline for one contact, in one transaction.

The caller (a channel) answers its provider with success only after `ingest`
returns: by then the contact is committed, or kept raw for replay.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from contactcenter.contact import InboundContact
from contactcenter.db.engine import is_unavailable
from contactcenter.db.models import InboundRecord, format_reference, utcnow
from contactcenter.errors import TemporaryError
from contactcenter.hub import Hub
from contactcenter.pipeline import INGEST_STEPS
from contactcenter.pipeline.context import IngestContext, IngestResult

log = logging.getLogger(__name__)

# A unique-constraint race (two deliveries of one message, two contacts from one
# new address) is settled by running again: the loser then sees the winner's rows.
MAX_RUNS = 3


class ContactKeptForReplay(Exception):
    """Processing failed; the contact is stored raw (InboundRecord `failed`).

    The provider still gets its success reply: we hold the contact durably, and
    sending the same input again would fail the same way.
    """

    def __init__(self, record_id: int):
        super().__init__(f"contact kept for replay as inbound record {record_id}")
        self.record_id = record_id


async def ingest(hub: Hub, contact: InboundContact, *, raw: bytes | None = None) -> IngestResult:
    """Record one contact.

    Raises ContactKeptForReplay when processing failed but the contact is
    stored, and TemporaryError when it could not be stored at all (the
    provider must retry).
    """
    error = ""
    for attempt in range(1, MAX_RUNS + 1):
        try:
            return await _run_once(hub, contact)
        except IntegrityError as exc:
            log.info("%s %s: concurrent write, running again", contact.channel, contact.provider_id)
            error = repr(exc)
        except Exception as exc:  # noqa: BLE001 - kept for replay, never lost
            if is_unavailable(exc):
                raise TemporaryError("the database is unavailable") from exc
            log.exception("%s %s: ingest failed; kept for replay", contact.channel, contact.provider_id)
            error = repr(exc)
            break
    raise ContactKeptForReplay(await _keep_failed(hub, contact, raw, error))


async def _run_once(hub: Hub, contact: InboundContact) -> IngestResult:
    async with hub.sessions() as session, session.begin():
        ctx = IngestContext(hub=hub, session=session, contact=contact, now=utcnow())
        for step in INGEST_STEPS:
            await step(ctx)
            if ctx.finished:
                break
        result = _result(ctx)
    hub.bus.publish_all(ctx.events)
    return result


def _result(ctx: IngestContext) -> IngestResult:
    interaction = ctx.duplicate_of or ctx.interaction
    assert interaction is not None and interaction.customer_id is not None
    return IngestResult(
        customer_id=interaction.customer_id,
        ticket_id=interaction.ticket_id,
        reference=format_reference(interaction.ticket_id) if interaction.ticket_id else "",
        interaction_id=interaction.id,
        duplicate=ctx.duplicate_of is not None,
        ticket_created=ctx.ticket_created,
    )


async def _keep_failed(hub: Hub, contact: InboundContact, raw: bytes | None, error: str) -> int:
    """Store the contact raw so a person can see it and replay it."""
    try:
        async with hub.sessions() as session, session.begin():
            record = InboundRecord(
                channel=contact.channel,
                provider_id=contact.provider_id,
                raw=raw,
                contact=contact.to_json(),
                status="failed",
                error=error[:4000],
            )
            session.add(record)
    except (OperationalError, DBAPIError) as exc:
        raise TemporaryError("the database is unavailable") from exc
    return record.id
