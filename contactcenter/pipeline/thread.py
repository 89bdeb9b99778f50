"""Step: put the contact on an existing ticket, or open a new one.

In order of strength: a Message-ID we received or sent on a ticket (every
In-Reply-To and References value, RFC 5322 §3.6.4), a ticket reference quoted
in the subject or body (`[CC-000123]`), then (for conversational channels)
the customer's open ticket on the same channel that saw activity within the
window.

Every signal is checked against the sender: it joins a ticket only as one of
that ticket's participants (its customer, or an address that was on its mail
in From/To/Cc). Anyone can type `CC-000123` or reply to a forwarded mail;
that must not let them write into someone else's ticket, and replies from
many customers to one bulk message must not collapse into one ticket.

A contact whose only tie to its customer is a typed identifier (web form,
JSON intake) always opens its own ticket (`identity.decisions.may_join_ticket`).

A closed ticket is reopened by a reply within `[tickets] reopen_days` of
closing; after that the reply opens a new ticket linked to it (parent).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Row, bindparam, select

from contactcenter.actions import do_reopen
from contactcenter.db.models import Interaction, Ticket, parse_reference
from contactcenter.identity.decisions import may_join_ticket
from contactcenter.identity.normalize import fold_plus_tag
from contactcenter.pipeline.context import IngestContext

OPEN_STATUSES = ("new", "open", "pending")
# Channels where a contact within the window is the same conversation. Email is
# not one: a new mail without threading headers is a new matter.
WINDOW_CHANNELS = ("web", "api", "sms", "voice")
# Address lists on an interaction's metadata that make someone a participant.
PARTICIPANT_KEYS = ("participants", "from", "to", "cc")
MAX_INTERACTIONS_CHECKED = 200
# Ticket ids are 32-bit on PostgreSQL.
MAX_TICKET_ID = 2**31 - 1

# Statements built once: building a select costs more than running it.
BY_MESSAGE_ID = select(Interaction.provider_id, Interaction.ticket_id, Interaction.direction, Interaction.meta).where(
    Interaction.channel == "email",
    Interaction.provider_id.in_(bindparam("message_ids", expanding=True)),
    Interaction.ticket_id.is_not(None),
)
TICKET_PARTICIPANTS = (
    select(Interaction.customer_id, Interaction.meta)
    .where(Interaction.ticket_id == bindparam("ticket_id"))
    .order_by(Interaction.id)
    .limit(MAX_INTERACTIONS_CHECKED)
)
OPEN_IN_WINDOW = (
    select(Ticket)
    .where(
        Ticket.customer_id == bindparam("customer_id"),
        Ticket.channel == bindparam("channel"),
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.last_activity_at >= bindparam("since"),
    )
    .order_by(Ticket.last_activity_at.desc())
    .limit(1)
)


async def thread_into_ticket(batch: list[IngestContext]) -> None:
    """Contact by contact, in order, with every window ticket of the round read in one query.

    The contacts of a round have different customers (pipeline/rounds.py), so
    no contact opens or reopens a ticket another's window lookup could find,
    unless it joined that customer's ticket by Message-ID or reference: that
    customer's lookup is then made again.
    """
    joining = [ctx for ctx in batch if may_join_ticket(ctx.contact, ctx.matched)]
    sent = await _messages(joining)
    named = await _load_tickets(joining, sent)  # held here: the session keeps only weak references
    windows = await _open_in_window(joining)
    joined: set[int] = set()  # customers whose tickets a contact before joined by Message-ID or reference
    # What the lookups below read (mail on tickets, tickets) is not what this
    # step writes (new tickets, reopenings): no flush before each of them.
    with batch[0].session.no_autoflush:
        for ctx in batch:
            await thread_one(ctx, windows, joined, sent)
    del named


async def thread_one(
    ctx: IngestContext,
    windows: dict[tuple[int, str], Ticket] | None = None,
    joined: set[int] | None = None,
    sent: dict[str, Row] | None = None,
) -> None:
    """One contact; `windows` and `sent` as read for its round (read here when not given)."""
    assert ctx.customer is not None
    ticket = None
    if may_join_ticket(ctx.contact, ctx.matched):
        ticket = await _by_message_id(ctx, sent) or await _by_reference(ctx)
        if ticket is not None and joined is not None:
            joined.add(ticket.customer_id)
        elif ticket is None:
            if windows is None or ctx.customer.id in (joined or ()):
                ticket = await _by_window(ctx)
            elif _looks_in_window(ctx):
                ticket = windows.get((ctx.customer.id, ctx.contact.channel))
    parent_id = None
    if ticket is not None and ticket.status == "closed":
        if _within_reopen_period(ctx, ticket):
            do_reopen(ctx.session, ticket)
        else:
            parent_id, ticket = ticket.id, None
    if ticket is None:
        contact = ctx.contact
        ticket = Ticket(
            customer_id=ctx.customer.id,
            subject=contact.subject or _subject_from_text(contact.text),
            type=(contact.ticket_type or "question"),
            status="new",
            channel=contact.channel,
            source_address=contact.source_address,
            parent_id=parent_id,
            created_at=ctx.now,
            last_activity_at=ctx.now,
        )
        # Inserted by log_interaction's flush, once routing has filled it in.
        ctx.session.add(ticket)
        ctx.ticket_created = True
    ctx.ticket = ticket


def _message_ids(ctx: IngestContext) -> list[str]:
    return [hint for hint in ctx.contact.thread_hints if hint.startswith("<")]


async def _messages(batch: list[IngestContext]) -> dict[str, Row]:
    """The round's Message-ID hints that name a mail on a ticket, in one query.

    None of them can name a mail of the same round: a contact answering
    another of its batch is in a later round (pipeline/rounds.py), and what
    the round sends is queued after this step.
    """
    message_ids = sorted({message_id for ctx in batch for message_id in _message_ids(ctx)})
    if not message_ids:
        return {}
    return {row.provider_id: row for row in await batch[0].session.execute(BY_MESSAGE_ID, {"message_ids": message_ids})}


async def _load_tickets(batch: list[IngestContext], sent: dict[str, Row]) -> list[Ticket]:
    """Read every ticket the round's hints name in one query; `session.get` then finds them in the session
    (as long as the caller holds the list)."""
    ids = {row.ticket_id for row in sent.values()}
    ids.update(ticket_id for ctx in batch for hint in ctx.contact.thread_hints if (ticket_id := parse_reference(hint)) is not None)
    ids = {ticket_id for ticket_id in ids if ticket_id <= MAX_TICKET_ID}  # a longer number names no ticket
    if not ids:
        return []
    return list((await batch[0].session.scalars(select(Ticket).where(Ticket.id.in_(sorted(ids))))).all())


async def _by_message_id(ctx: IngestContext, sent: dict[str, Row] | None = None) -> Ticket | None:
    message_ids = _message_ids(ctx)
    if not message_ids:
        return None
    if sent is None:
        sent = {row.provider_id: row for row in await ctx.session.execute(BY_MESSAGE_ID, {"message_ids": message_ids})}
    by_id = {message_id: sent[message_id] for message_id in message_ids if message_id in sent}
    # The hints come nearest first (In-Reply-To, then References from the end).
    for message_id in message_ids:
        row = by_id.get(message_id)
        if row is None:
            continue
        ticket = await _participant_ticket(ctx, row.ticket_id)
        if ticket is not None:
            if row.direction == "outbound":
                await _verify_reply_address(ctx, (row.meta or {}).get("to"))
            return ticket
    return None


async def _verify_reply_address(ctx: IngestContext, sent_to: str | None) -> None:
    """A reply to a message we sent to this address proves the sender reads it (DESIGN.md §1)."""
    sender = ctx.contact.reply_identity()
    if sender is None or sender.kind != "email" or sender.value != sent_to:
        return
    value = fold_plus_tag(sender.value, ctx.hub.settings.identity.plus_tag_domains)  # as identify matched it
    point = ctx.contact_points.get(("email", value))
    if point is not None and point.customer_id == ctx.customer.id:
        point.evidence = "verified"
        if ctx.matched is not None and ctx.matched.value == value:
            ctx.matched = dataclasses.replace(ctx.matched, evidence="verified")


async def _by_reference(ctx: IngestContext) -> Ticket | None:
    for hint in ctx.contact.thread_hints:
        ticket_id = parse_reference(hint)
        if ticket_id is None:
            continue
        ticket = await _participant_ticket(ctx, ticket_id)
        if ticket is not None:
            return ticket
    return None


async def _participant_ticket(ctx: IngestContext, ticket_id: int) -> Ticket | None:
    """The ticket, when the contact's sender takes part in it; otherwise None."""
    assert ctx.customer is not None
    ticket = await ctx.session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    if ticket.customer_id == ctx.customer.id:
        return ticket
    sender = ctx.contact.reply_identity()
    rows = await ctx.session.execute(TICKET_PARTICIPANTS, {"ticket_id": ticket_id})
    for customer_id, meta in rows:
        if customer_id == ctx.customer.id:
            return ticket
        if sender is not None and sender.kind == "email" and sender.value in _addresses(meta or {}):
            return ticket
    return None


def _addresses(meta: dict) -> set[str]:
    found: set[str] = set()
    for key in PARTICIPANT_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            found.add(value.lower())
        elif isinstance(value, list):
            found.update(v.lower() for v in value if isinstance(v, str))
    return found


def _within_reopen_period(ctx: IngestContext, ticket: Ticket) -> bool:
    closed_at = ticket.closed_at or ticket.last_activity_at
    return ctx.now - closed_at <= timedelta(days=ctx.hub.settings.tickets.reopen_days)


def _looks_in_window(ctx: IngestContext) -> bool:
    return ctx.contact.channel in WINDOW_CHANNELS and not ctx.customer_created


OPEN_IN_WINDOWS = (
    select(Ticket)
    .where(
        Ticket.customer_id.in_(bindparam("customer_ids", expanding=True)),
        Ticket.channel.in_(bindparam("channels", expanding=True)),
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.last_activity_at >= bindparam("since"),
    )
    .order_by(Ticket.last_activity_at.desc())
)


async def _open_in_window(batch: list[IngestContext]) -> dict[tuple[int, str], Ticket]:
    """(customer id, channel) -> the open ticket with the latest activity within the window, for the round."""
    wanted = [ctx for ctx in batch if _looks_in_window(ctx) and may_join_ticket(ctx.contact, ctx.matched)]
    if not wanted:
        return {}
    window = timedelta(hours=wanted[0].hub.settings.tickets.thread_window_hours)
    params = {
        "customer_ids": sorted({ctx.customer.id for ctx in wanted}),
        "channels": sorted({str(ctx.contact.channel) for ctx in wanted}),
        "since": wanted[0].now - window,
    }
    found: dict[tuple[int, str], Ticket] = {}
    for ticket in await wanted[0].session.scalars(OPEN_IN_WINDOWS, params):
        found.setdefault((ticket.customer_id, ticket.channel), ticket)
    return found


async def _by_window(ctx: IngestContext) -> Ticket | None:
    if not _looks_in_window(ctx):
        return None
    window = timedelta(hours=ctx.hub.settings.tickets.thread_window_hours)
    params = {"customer_id": ctx.customer.id, "channel": ctx.contact.channel, "since": ctx.now - window}
    return await ctx.session.scalar(OPEN_IN_WINDOW, params)


def _subject_from_text(text: str) -> str:
    first_line = text.strip().split("\n", 1)[0]
    return first_line[:80] + ("…" if len(first_line) > 80 else "")
