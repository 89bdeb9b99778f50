"""What stays of a record once its words and identifiers are gone: the figures.

Shared by erasure and retention, so both blank exactly the same things.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Attachment, AttachmentBlob, InboundRecord, Interaction, OutboxMessage, utcnow

# Strings in interaction metadata that say what happened, not who or what was said.
OUTCOME_KEYS = frozenset({"kind", "status", "outcome", "direction", "reason", "queue", "answered"})


def keep_figures(meta: Any) -> Any:
    """Metadata with only numbers, booleans and outcome words left (call durations, delivery
    states); addresses, numbers, recording links and transcripts go."""
    if not isinstance(meta, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, dict):
            if inner := keep_figures(value):
                kept[key] = inner
        elif isinstance(value, bool | int | float) or (key in OUTCOME_KEYS and isinstance(value, str) and len(value) <= 40):
            kept[key] = value
    return kept


async def redact_interactions(session: AsyncSession, interaction_ids: list[int]) -> int:
    """Blank the words of these interactions, their attachments, raw input and outgoing copies."""
    if not interaction_ids:
        return 0
    rows = (await session.execute(select(Interaction.id, Interaction.meta).where(Interaction.id.in_(interaction_ids)))).all()
    for interaction_id, meta in rows:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(subject="", text="", html="", matched_by="", meta=keep_figures(meta), redacted_at=utcnow())
        )
    await delete_attachments(session, interaction_ids)
    await session.execute(
        update(InboundRecord).where(InboundRecord.interaction_id.in_(interaction_ids)).values(raw=None, contact=None)
    )
    # Messages still waiting must not leave with a text nobody may hold any more.
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.interaction_id.in_(interaction_ids), OutboxMessage.status.in_(("pending", "sending")))
        .values(status="failed", last_error="erased before it was sent")
    )
    await session.execute(
        # The recipient too: an address is an identifier (the export shows it).
        update(OutboxMessage).where(OutboxMessage.interaction_id.in_(interaction_ids)).values(payload={}, attempt_log=[], recipient="")
    )
    return len(rows)


async def delete_attachments(session: AsyncSession, interaction_ids: list[int]) -> None:
    """Attachment rows of these interactions, and their bytes unless another message shares them."""
    hashes = set(await session.scalars(select(Attachment.sha256).where(Attachment.interaction_id.in_(interaction_ids))))
    await session.execute(delete(Attachment).where(Attachment.interaction_id.in_(interaction_ids)))
    if hashes:
        still_used = set(await session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(hashes))))
        if gone := hashes - still_used:
            await session.execute(delete(AttachmentBlob).where(AttachmentBlob.sha256.in_(gone)))
