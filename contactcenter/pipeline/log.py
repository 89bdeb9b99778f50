"""Step: append the contact to the customer's timeline as an inbound interaction."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, select

from contactcenter.actions import audit, do_reopen
from contactcenter.db.models import Attachment, AttachmentBlob, Interaction
from contactcenter.db.writer import insert_rows
from contactcenter.events import Event
from contactcenter.pipeline.context import IngestContext, LoggedInteraction

# Built once: building a select costs more than running it.
BLOB_EXISTS = select(AttachmentBlob.sha256).where(AttachmentBlob.sha256 == bindparam("sha256"))
# An inbound message on a ticket that waits for the customer or was solved
# means the customer needs us again.
REOPENING_STATUSES = ("pending", "resolved")


async def log_interaction(batch: list[IngestContext]) -> None:
    """The round's new tickets in one INSERT, then its interactions in one more (Core: no object per row)."""
    session = batch[0].session
    if any(ctx.ticket.id is None or ctx.customer.id is None for ctx in batch):
        # A new ticket goes in with its routing: one INSERT, not an INSERT and an UPDATE.
        await session.flush()
    rows = [_interaction(ctx) for ctx in batch]
    ids = await insert_rows(session, Interaction.__table__, rows)
    for ctx, row, interaction_id in zip(batch, rows, ids):
        assert ctx.customer is not None and ctx.ticket is not None
        if ctx.ticket_created:
            # Which rules placed it, for the audit trail (the same event voice writes for a call).
            audit(session, "system", "ticket.routed", ctx.ticket, queue=ctx.queue.name if ctx.queue else None,
                  priority=ctx.ticket.priority, type=ctx.ticket.type, rules=list(ctx.rules_fired))
        for attachment in ctx.contact.attachments:
            await _store_attachment(ctx, interaction_id, attachment)
        ctx.ticket.last_activity_at = ctx.now
        if ctx.ticket.status == "resolved":
            do_reopen(session, ctx.ticket)  # counted: the customer needs us again after all
        elif ctx.ticket.status in REOPENING_STATUSES:
            ctx.ticket.status = "open"
        ctx.interaction = LoggedInteraction(
            id=interaction_id, ticket_id=ctx.ticket.id, customer_id=ctx.customer.id, channel=row["channel"], provider_id=row["provider_id"],
            meta=row["meta"],
        )
        ctx.events.append(
            Event(
                "interaction.created",
                {"interaction_id": interaction_id, "ticket_id": ctx.ticket.id, "customer_id": ctx.customer.id, "channel": ctx.contact.channel},
            )
        )
        if ctx.ticket_created:
            ctx.events.append(Event("ticket.created", {"ticket_id": ctx.ticket.id, "queue_id": ctx.ticket.queue_id}))


def _interaction(ctx: IngestContext) -> dict[str, Any]:
    contact = ctx.contact
    reply = contact.reply_identity()
    return {
        "ticket_id": ctx.ticket.id,
        "customer_id": ctx.customer.id,
        "channel": contact.channel,
        "direction": "inbound",
        "provider_id": contact.provider_id or None,
        "subject": contact.subject,
        "text": contact.text,
        "html": contact.html,
        "matched_by": ctx.matched.value if ctx.matched else "",
        "match_evidence": ctx.matched.evidence if ctx.matched else "",
        "meta": {
            **contact.metadata,
            "reply_to": {"kind": reply.kind, "value": reply.value} if reply else None,
            "source_address": contact.source_address,
            "automated": contact.is_automated,
        },
        "created_at": ctx.now,
    }


async def _store_attachment(ctx: IngestContext, interaction_id: int, attachment) -> None:
    digest = hashlib.sha256(attachment.content).hexdigest()
    exists = await ctx.session.scalar(BLOB_EXISTS, {"sha256": digest})
    if exists is None:
        ctx.session.add(AttachmentBlob(sha256=digest, content=attachment.content))
        # No relationship ties the two models, so the unit of work would not
        # know to insert the blob before the row that refers to it.
        await ctx.session.flush()
    ctx.session.add(
        Attachment(
            interaction_id=interaction_id,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=len(attachment.content),
            sha256=digest,
            content_id=attachment.content_id,
            inline=attachment.inline,
        )
    )
