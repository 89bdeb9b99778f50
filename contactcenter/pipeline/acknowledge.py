"""Step: tell the customer we have their message, with the ticket reference.

Only for a contact that opened a ticket, never for automated mail (answering an
auto-reply with an auto-reply is how mail loops start), never to a number
that opted out of SMS, and at most `[tickets] acknowledgements_per_hour` to
one address (a loop that slips past the automated-mail checks stops there).
Voice callers hear their confirmation in the call. Who may get one at all
(typed addresses, SMS countries) is decided in `outbound/acknowledgements.py`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import customer_locale, is_opted_out, make_message_id, reply_subject
from contactcenter.contact import ChannelKind, OutboundMessage
from contactcenter.db.models import Interaction, OutboxMessage
from contactcenter.db.writer import insert_rows
from contactcenter.events import Event
from contactcenter.i18n import reading_as
from contactcenter.outbound.acknowledgements import Acknowledgement, choose_acknowledgement, is_within_limits
from contactcenter.outbound.confirmation import confirmation_url
from contactcenter.outbound.messages import render_message
from contactcenter.pipeline.context import IngestContext


async def acknowledge(batch: list[IngestContext]) -> None:
    """Decide for each contact in order; count what each address got in one query; queue them all in two INSERTs.

    Within a round no two contacts share a reply address (pipeline/rounds.py);
    what the round itself queues still counts towards the hour's caps, as it
    would one contact at a time.
    """
    chosen = []
    for ctx in batch:
        ack = choose_acknowledgement(
            ctx.contact, ctx.hub.settings.tickets, ticket_created=ctx.ticket_created, address_confirmed=_is_confirmed(ctx)
        )
        if ack is None or (ack.kind == "phone" and await _is_opted_out(ctx, ack.to)):
            continue
        chosen.append((ctx, ack))
    if not chosen:
        return
    session, now = batch[0].session, batch[0].now
    sent = await _acknowledged_recently(session, {ack.to for _, ack in chosen}, now)
    queued: list[tuple[IngestContext, Acknowledgement]] = []
    for_clients: Counter[str] = Counter()
    for ctx, ack in chosen:
        for_client = (await _acknowledged_for_client(ctx, ack.client) + for_clients[ack.client]) if ack.client else 0
        if not is_within_limits(ack, sent[ack.to], for_client):
            continue
        sent[ack.to] += 1
        for_clients[ack.client] += 1
        queued.append((ctx, ack))
    if queued:
        await _queue(session, queued)


async def _queue(session: AsyncSession, queued: list[tuple[IngestContext, Acknowledgement]]) -> None:
    """What actions.do_reply_to writes for each, set-wise: the interactions in one INSERT, their outbox rows in one more.

    Core rows, not ORM objects (db/writer.py `insert_rows`). The webhook rows
    for their events are written with the batch's (pipeline/run.py).
    """
    rows, chosen = [], []
    for ctx, ack in queued:
        assert ctx.ticket is not None and ctx.customer is not None and ctx.ticket_created
        settings = ctx.hub.settings
        confirm_url = confirmation_url(settings, ctx.hub.secret_key, ctx.ticket.id, ack.to) if ack.confirms else ""
        language = customer_locale(settings, ctx.customer.language)
        text, html = render_message(
            ack.template, locale=language, name=ctx.customer.name, reference=ctx.ticket.reference, subject=ctx.ticket.subject, confirm_url=confirm_url
        )
        with reading_as(language):
            subject = ack.subject
        if subject is None:
            subject = reply_subject(ctx.ticket)
        channel = ChannelKind.EMAIL if ack.kind == "email" else ChannelKind.SMS
        message_id = make_message_id(settings.email.from_address) if channel == ChannelKind.EMAIL else ""
        rows.append({
            "ticket_id": ctx.ticket.id,
            "customer_id": ctx.ticket.customer_id,
            "channel": channel,
            "direction": "outbound",
            "provider_id": message_id or None,
            "subject": subject,
            "text": text,
            "html": html,
            "delivery_status": "queued",
            "meta": {**({"client": ack.client} if ack.client else {}), "kind": "acknowledgement", "to": ack.to},
            "created_at": ctx.now,
        })
        chosen.append((ctx, ack, message_id, language))
    interaction_ids = await insert_rows(session, Interaction.__table__, rows)
    outboxes = []
    for (ctx, ack, message_id, language), row, interaction_id in zip(chosen, rows, interaction_ids):
        in_reply_to, references = _threading(ctx) if message_id else ("", ())
        message = OutboundMessage(
            channel=row["channel"],
            to=ack.to,
            text=row["text"],
            html=row["html"],
            subject=row["subject"] if message_id else "",
            ticket_reference=ctx.ticket.reference,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            auto_submitted=True,  # RFC 3834: auto-responders stay quiet
            language=language,
            interaction_id=interaction_id,
        )
        outboxes.append(
            {"interaction_id": interaction_id, "channel": row["channel"], "recipient": ack.to, "payload": message.to_json(), "next_attempt_at": ctx.now}
        )
        ctx.ticket.last_activity_at = ctx.now
    outbox_ids = await insert_rows(session, OutboxMessage.__table__, outboxes)
    for (ctx, *_), row, interaction_id, outbox_id in zip(chosen, rows, interaction_ids, outbox_ids):
        ctx.events += [
            Event("interaction.created", {"interaction_id": interaction_id, "ticket_id": ctx.ticket.id, "customer_id": ctx.ticket.customer_id, "channel": row["channel"]}),
            Event("outbox.queued", {"outbox_id": outbox_id, "channel": row["channel"]}),
        ]


def _threading(ctx: IngestContext) -> tuple[str, tuple[str, ...]]:
    """actions.email_threading for a ticket this contact opened: its mail is the one just logged."""
    logged = ctx.interaction
    if logged is None or logged.channel != ChannelKind.EMAIL or logged.provider_id is None:
        return "", ()
    return logged.provider_id, (logged.provider_id,)


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
    select(OutboxMessage.recipient, func.count())
    .join(Interaction, Interaction.id == OutboxMessage.interaction_id)
    .where(
        OutboxMessage.recipient.in_(bindparam("addresses", expanding=True)),
        OutboxMessage.created_at >= bindparam("since"),
        Interaction.meta["kind"].as_string() == "acknowledgement",
    )
    .group_by(OutboxMessage.recipient)
)


async def _acknowledged_recently(session: AsyncSession, addresses: set[str], now: datetime) -> Counter[str]:
    """Acknowledgements sent to each address in the last hour (a loop with another auto-responder shows here)."""
    params = {"addresses": sorted(addresses), "since": now - timedelta(hours=1)}
    return Counter(dict((await session.execute(ACKNOWLEDGED_SINCE, params)).all()))


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
