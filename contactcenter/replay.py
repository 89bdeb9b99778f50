"""Processing again the contacts that failed and were kept (Mailman's "unshunt")."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import InboundContact
from contactcenter.db.models import InboundRecord, utcnow
from contactcenter.hub import Hub
from contactcenter.pipeline.run import ContactKeptForReplay, ingest


async def replay_failed(hub: Hub) -> tuple[int, int]:
    """-> (replayed, failed again). A contact that fails again is kept once more."""
    async with hub.sessions() as session:
        records = list(
            await session.scalars(
                select(InboundRecord).where(InboundRecord.status == "failed", InboundRecord.contact.is_not(None)).order_by(InboundRecord.id)
            )
        )
    done = failed = 0
    for record in records:
        assert record.contact is not None
        try:
            result = await ingest(hub, InboundContact.from_json(record.contact), raw=record.raw)
        except ContactKeptForReplay:
            failed += 1
            status, interaction_id = "replayed_failed", None
        else:
            done += 1
            status, interaction_id = "done", result.interaction_id
        async with hub.sessions() as session, session.begin():
            row = await session.get_one(InboundRecord, record.id)
            row.status, row.interaction_id, row.processed_at = status, interaction_id, utcnow()
    return done, failed
