"""The retention timer: interactions older than `[retention] interactions_days` lose their words.

Runs inside `contactcenter serve` every `[retention] check_seconds` when the period is set.
Each pass redacts in batches, each its own short transaction with one audit entry, so the
first run over years of history neither holds a long write lock nor loses its progress.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from contactcenter.db.models import AuditEvent, Interaction, utcnow
from contactcenter.events import run_periodically
from contactcenter.hub import Hub
from contactcenter.privacy.redact import redact_interactions

log = logging.getLogger(__name__)

BATCH_SIZE = 500


async def apply_retention(hub: Hub, now: datetime | None = None) -> int:
    """Redact every interaction past the retention period; -> how many were redacted."""
    days = hub.settings.retention.interactions_days
    if days <= 0:
        return 0
    before = (now or utcnow()) - timedelta(days=days)
    total = 0
    while True:
        async with hub.sessions() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(Interaction.id)
                    .where(Interaction.created_at < before, Interaction.redacted_at.is_(None))
                    .order_by(Interaction.id)
                    .limit(BATCH_SIZE)
                )
            )
            if not ids:
                break
            await redact_interactions(session, ids)
            session.add(
                AuditEvent(
                    actor="system",
                    action="retention.redacted",
                    subject_type="retention",
                    subject_id=0,
                    details={"interactions": len(ids), "first_id": ids[0], "last_id": ids[-1], "before": before.isoformat()},
                )
            )
        total += len(ids)
    if total:
        log.info("retention: redacted %d interactions older than %d days", total, days)
    return total


class RetentionTimer:
    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(
            self.hub.bus, lambda: apply_retention(self.hub), every=self.hub.settings.retention.check_seconds, name="retention timer"
        )
