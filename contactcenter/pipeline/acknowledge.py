"""Step: tell the customer we have their message, with the ticket reference.

Only for a contact that opened a ticket, never for automated mail (answering an
auto-reply with an auto-reply is how mail loops start), never to a number
that opted out of SMS, and at most `[tickets] acknowledgements_per_hour` to
one address (a loop that slips past the automated-mail checks stops there).
Voice callers hear their confirmation in the call.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select

from contactcenter.actions import customer_locale, do_reply_to, is_opted_out
from contactcenter.db.models import Interaction, OutboxMessage
from contactcenter.outbound.messages import render_message
from contactcenter.pipeline.context import IngestContext

# Channels whose contacts get a written acknowledgement.
ACKNOWLEDGED_CHANNELS = ("web", "api", "email", "sms")


async def acknowledge(ctx: IngestContext) -> None:
    contact = ctx.contact
    if not (ctx.hub.settings.tickets.auto_acknowledge and ctx.ticket_created and not contact.is_automated):
        return
    reply = contact.reply_identity()
    if contact.channel not in ACKNOWLEDGED_CHANNELS or reply is None:
        return
    if reply.kind == "phone" and await _is_opted_out(ctx, reply.value):
        return
    if await _acknowledged_recently(ctx, reply.value) >= ctx.hub.settings.tickets.acknowledgements_per_hour:
        return
    assert ctx.ticket is not None and ctx.customer is not None
    template = "acknowledgement" if reply.kind == "email" else "acknowledgement_sms"
    language = customer_locale(ctx.hub.settings, ctx.customer.language)
    text, html = render_message(
        template, locale=language, name=ctx.customer.name, reference=ctx.ticket.reference, subject=ctx.ticket.subject
    )
    # The contact's own reply address: the one the ticket's replies go to
    # (actions.reply_target would find it on the interaction just logged).
    _, _, events = await do_reply_to(
        ctx.session, ctx.hub.settings, ctx.ticket, reply.kind, reply.value, text, html=html, kind="acknowledgement", now=ctx.now,
        language=language,
    )
    ctx.events.extend(events)


async def _is_opted_out(ctx: IngestContext, phone: str) -> bool:
    """As actions.is_opted_out, from the record identify read or made when it has one.

    That record is current: read with a lock, and record_consent changes that
    same object for a STOP in this contact.
    """
    point = ctx.contact_points.get(("phone", phone))
    if point is None:
        return await is_opted_out(ctx.session, phone)
    return bool(point.opted_out)


# Built once: building this select costs more than running it.
ACKNOWLEDGED_SINCE = (
    select(func.count())
    .select_from(OutboxMessage)
    .join(Interaction, Interaction.id == OutboxMessage.interaction_id)
    .where(
        OutboxMessage.recipient == bindparam("address"),
        OutboxMessage.created_at >= bindparam("since"),
        Interaction.meta["kind"].as_string() == "acknowledgement",
    )
)


async def _acknowledged_recently(ctx: IngestContext, address: str) -> int:
    """Acknowledgements sent to `address` in the last hour (a loop with another auto-responder shows here)."""
    params = {"address": address, "since": ctx.now - timedelta(hours=1)}
    return await ctx.session.scalar(ACKNOWLEDGED_SINCE, params) or 0
