"""Step: apply an SMS opt-out or opt-in keyword (STOP, START) to the sender's number.

The channel recognises the keyword and says so in the contact's metadata
(`sms_consent`: "opt_out" or "opt_in"); doing the change here puts it in the same
transaction as the message itself, so the acknowledgement step that follows
already sees the number as opted out.
"""

from __future__ import annotations

from contactcenter.outbound.consent import do_set_sms_consent
from contactcenter.pipeline.context import IngestContext

CONSENT_KEY = "sms_consent"


async def record_consent(batch: list[IngestContext]) -> None:
    """Contact by contact: a round holds at most one contact per number (pipeline/rounds.py)."""
    for ctx in batch:
        await consent_one(ctx)


async def consent_one(ctx: IngestContext) -> None:
    change = ctx.contact.metadata.get(CONSENT_KEY)
    reply = ctx.contact.reply_identity()
    if change not in ("opt_out", "opt_in") or reply is None or reply.kind != "phone":
        return
    await ctx.session.flush()  # the identify step may have just added the contact point
    await do_set_sms_consent(
        ctx.session,
        reply.value,
        opted_out=change == "opt_out",
        actor="system",
        reason=f"{ctx.contact.channel} keyword ({ctx.contact.provider_id})",
    )
