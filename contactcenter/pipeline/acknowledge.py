"""Step: tell the customer we have their message, with the ticket reference.

Only for a contact that opened a ticket, never for automated mail (answering an
auto-reply with an auto-reply is how mail loops start), never to a number
that opted out of SMS, and at most `[tickets] acknowledgements_per_hour` to
one address (a loop that slips past the automated-mail checks stops there).
Voice callers hear their confirmation in the call. Who may get one at all
(typed addresses, SMS countries) is decided in `outbound/acknowledgements.py`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select

from contactcenter.actions import customer_locale, do_reply_to, is_opted_out
from contactcenter.db.models import Interaction, OutboxMessage
from contactcenter.i18n import reading_as
from contactcenter.outbound.acknowledgements import choose_acknowledgement, is_within_limits
from contactcenter.outbound.confirmation import confirmation_url
from contactcenter.outbound.messages import render_message
from contactcenter.pipeline.context import IngestContext


async def acknowledge(batch: list[IngestContext]) -> None:
    """Contact by contact, in order: each counts the acknowledgements queued before it."""
    for ctx in batch:
        await acknowledge_one(ctx)


async def acknowledge_one(ctx: IngestContext) -> None:
    contact = ctx.contact
    ack = choose_acknowledgement(
        contact, ctx.hub.settings.tickets, ticket_created=ctx.ticket_created, address_confirmed=_is_confirmed(ctx)
    )
    if ack is None:
        return
    if ack.kind == "phone" and await _is_opted_out(ctx, ack.to):
        return
    for_client = await _acknowledged_for_client(ctx, ack.client) if ack.client else 0
    if not is_within_limits(ack, await _acknowledged_recently(ctx, ack.to), for_client):
        return
    assert ctx.ticket is not None and ctx.customer is not None
    confirm_url = confirmation_url(ctx.hub.settings, ctx.hub.secret_key, ctx.ticket.id, ack.to) if ack.confirms else ""
    language = customer_locale(ctx.hub.settings, ctx.customer.language)
    text, html = render_message(
        ack.template, locale=language, name=ctx.customer.name, reference=ctx.ticket.reference, subject=ctx.ticket.subject, confirm_url=confirm_url
    )
    # The contact's own reply address: the one the ticket's replies go to
    # (actions.reply_target would find it on the interaction just logged).
    with reading_as(language):
        subject = ack.subject
    _, _, events = await do_reply_to(
        ctx.session, ctx.hub.settings, ctx.ticket, ack.kind, ack.to, text, html=html, kind="acknowledgement", now=ctx.now,
        meta={"client": ack.client} if ack.client else None, subject=subject, language=language,
    )
    ctx.events.extend(events)


def _is_confirmed(ctx: IngestContext) -> bool:
    """Whether the contact's reply address is a contact point someone confirmed (evidence verified)."""
    reply = ctx.contact.reply_identity()
    point = ctx.contact_points.get((reply.kind, reply.value)) if reply is not None else None
    return point is not None and point.evidence == "verified"


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


ACKNOWLEDGED_FOR_CLIENT = (
    select(func.count())
    .select_from(OutboxMessage)
    .join(Interaction, Interaction.id == OutboxMessage.interaction_id)
    .where(
        OutboxMessage.created_at >= bindparam("since"),
        Interaction.meta["kind"].as_string() == "acknowledgement",
        Interaction.meta["client"].as_string() == bindparam("client"),
    )
)


async def _acknowledged_for_client(ctx: IngestContext, client: str) -> int:
    """Acknowledgements sent in the last hour for contacts from one form sender (client address)."""
    params = {"client": client, "since": ctx.now - timedelta(hours=1)}
    return await ctx.session.scalar(ACKNOWLEDGED_FOR_CLIENT, params) or 0
