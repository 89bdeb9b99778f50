"""State changes shared by the pipeline, the API and the agent pages.

Each `do_*` function changes records inside the caller's transaction and writes
what it did (an interaction, an audit event, an outbox row); none of them does
external I/O, so the caller's commit is what makes the change real.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import ChannelKind, OutboundMessage
from contactcenter.db.models import AuditEvent, ContactPoint, Customer, FollowUp, Interaction, OutboxMessage, SmsSuppression, Ticket, utcnow
from contactcenter.errors import ConflictError, InputError
from contactcenter.events import Event
from contactcenter.i18n import choose_locale
from contactcenter.plain_text import SUBJECT_CHARS
from contactcenter.reports import rows, ticket_times  # noqa: F401 - register the hooks that clear report figures and stamp calls' tickets
from contactcenter.settings import Settings
from contactcenter.webhooks.enqueue import enqueue_webhook_events

# How many earlier Message-IDs a reply lists in References (RFC 5322 §3.6.4
# allows them all; mail clients trim long chains, and so do we).
MAX_REFERENCES = 20


async def do_reply(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    text: str,
    *,
    html: str = "",
    author_agent_id: int | None = None,
    kind: str = "reply",
    now: datetime | None = None,
) -> tuple[Interaction, OutboxMessage, list[Event]]:
    """Answer the ticket's customer on the channel they used; queue it in the outbox.

    Raises ConflictError when the customer cannot be reached that way (no
    address, or the number opted out of SMS).
    """
    if ticket.channel == ChannelKind.CHAT:
        # A chat is answered on the chat: the widgets open on the ticket (channels/chat.py).
        target_kind, target = "chat", ticket.reference
    else:
        target_kind, target = await reply_target(session, ticket)
    if target is None:
        raise ConflictError("the customer has no address or number to reply to", code="no_reply_address")
    if target_kind == "phone" and await is_opted_out(session, target):
        raise ConflictError("the customer's number has opted out of SMS", code="opted_out")
    customer = await session.get(Customer, ticket.customer_id)
    language = customer_locale(settings, customer.language if customer else "")
    return await do_reply_to(
        session, settings, ticket, target_kind, target, text, html=html, author_agent_id=author_agent_id, kind=kind, now=now,
        language=language,
    )


def customer_locale(settings: Settings, language: str) -> str:
    """The configured locale closest to the customer's language; the default when it is unknown."""
    return choose_locale([language], settings.i18n.locales, settings.i18n.default_locale)


async def do_reply_to(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    target_kind: str,
    target: str,
    text: str,
    *,
    html: str = "",
    author_agent_id: int | None = None,
    kind: str = "reply",
    now: datetime | None = None,
    language: str = "",
    meta: dict[str, str] | None = None,
    subject: str | None = None,
) -> tuple[Interaction, OutboxMessage, list[Event]]:
    """Queue an answer on the ticket to an address the caller found and checked (opt-out included).

    `language` is the customer's: the channel writes the message's frame
    (the reference line of a mail) in it.

    Separate from do_reply for the acknowledgement, which knows the contact's
    reply address and has checked it already: reading both again would double
    its cost.
    """
    now = now or utcnow()
    channel = {"email": ChannelKind.EMAIL, "chat": ChannelKind.CHAT}.get(target_kind, ChannelKind.SMS)
    message_id = in_reply_to = ""
    references: tuple[str, ...] = ()
    if channel == ChannelKind.EMAIL:
        message_id = make_message_id(settings.email.from_address)
        in_reply_to, references = await email_threading(session, ticket.id)

    interaction = Interaction(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        channel=channel,
        direction="outbound",
        provider_id=message_id or None,
        author_agent_id=author_agent_id,
        subject=reply_subject(ticket) if subject is None else subject,
        text=text,
        html=html,
        delivery_status="queued",
        meta={**(meta or {}), "kind": kind, "to": target},
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    message = OutboundMessage(
        channel=channel,
        to=target,
        text=text,
        html=html,
        subject=interaction.subject if channel == ChannelKind.EMAIL else "",
        ticket_reference=ticket.reference,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        # RFC 3834: what the hub sends by itself is auto-generated, so auto-responders stay quiet.
        auto_submitted=kind in ("acknowledgement", "survey"),
        language=language,
        interaction_id=interaction.id,
    )
    outbox = OutboxMessage(
        interaction_id=interaction.id, channel=channel, recipient=target, payload=message.to_json(), next_attempt_at=now
    )
    session.add(outbox)
    if author_agent_id is not None and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    ticket.last_activity_at = now
    await session.flush()
    events = [
        Event("interaction.created", {"interaction_id": interaction.id, "ticket_id": ticket.id, "customer_id": ticket.customer_id, "channel": channel}),
        Event("outbox.queued", {"outbox_id": outbox.id, "channel": channel}),
    ]
    await enqueue_webhook_events(session, events)
    return interaction, outbox, events


async def do_answer(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    text: str,
    *,
    author_agent_id: int | None,
    target: tuple[str, str] | None = None,
) -> tuple[Interaction, OutboxMessage, list[Event]]:
    """A person's answer to the customer: sent like any reply, and the ticket then waits for the customer.

    `target` (kind, value) is the address or number the person chose among the
    customer's contact points (the caller checked it is theirs); else the usual one.
    """
    if target is None:
        interaction, outbox, events = await do_reply(session, settings, ticket, text, author_agent_id=author_agent_id)
    else:
        if target[0] != "email" and await is_opted_out(session, target[1]):
            raise ConflictError("the customer's number has opted out of SMS", code="opted_out")
        interaction, outbox, events = await do_reply_to(session, settings, ticket, target[0], target[1], text, author_agent_id=author_agent_id)
    if ticket.status in ("new", "open"):
        actor = f"agent:{author_agent_id}" if author_agent_id is not None else "system"
        audit(session, actor, "ticket.status_changed", ticket, reason="answered", **{"from": ticket.status, "to": "pending"})
        ticket.status = "pending"
    return interaction, outbox, events


async def reply_target(session: AsyncSession, ticket: Ticket) -> tuple[str, str | None]:
    """Where an answer goes: the reply address of the ticket's latest inbound contact.

    Falls back to the customer's contact points, preferring the kind that
    suits the ticket's channel (email for email and web, a number otherwise).
    """
    inbound = await session.scalars(
        select(Interaction.meta)
        .where(Interaction.ticket_id == ticket.id, Interaction.direction == "inbound")
        .order_by(Interaction.id.desc())
        .limit(5)
    )
    for meta in inbound:
        reply_to = (meta or {}).get("reply_to")
        if reply_to and reply_to.get("value") and not is_undeliverable(reply_to["value"]):  # erasure (privacy/) empties it
            return reply_to["kind"], reply_to["value"]
    preferred = "phone" if ticket.channel in ("sms", "voice") else "email"
    points = [
        p
        for p in await session.scalars(select(ContactPoint).where(ContactPoint.customer_id == ticket.customer_id))
        if not is_undeliverable(p.value)
    ]
    points.sort(key=lambda p: (p.kind != preferred, p.evidence != "verified", p.id))
    return (points[0].kind, points[0].value) if points else ("email", None)


def is_undeliverable(address: str) -> bool:
    """An address under the reserved `.invalid` domain (RFC 2606 §2): no mail is ever sent there.

    A chat visitor who gave no email has one (channels/chat.py), so that their
    messages share a customer; surveys and answers by mail must skip it.
    """
    return address.lower().endswith(".invalid")


# Statements built once: building a select costs more than running it.
EMAIL_THREAD = (
    select(Interaction.provider_id, Interaction.direction)
    .where(Interaction.ticket_id == bindparam("ticket_id"), Interaction.channel == "email")
    .order_by(Interaction.id)
)


# Both places a STOP is kept, in one statement: the outbox asks before every SMS it sends.
OPTED_OUT_OR_SUPPRESSED = select(
    or_(
        exists().where(ContactPoint.kind == "phone", ContactPoint.value == bindparam("phone"), ContactPoint.opted_out.is_(True)),
        exists().where(SmsSuppression.phone == bindparam("phone")),
    )
)


async def is_opted_out(session: AsyncSession, phone: str) -> bool:
    """Whether the number said STOP: on its contact point, or on the suppression list an
    erasure leaves behind."""
    return bool(await session.scalar(OPTED_OUT_OR_SUPPRESSED, {"phone": phone}))


async def email_threading(session: AsyncSession, ticket_id: int) -> tuple[str, tuple[str, ...]]:
    """(In-Reply-To, References) for a new mail on the ticket, from one read of its mail.

    In-Reply-To is the customer's latest mail (the one being answered), else
    the latest message of the thread.
    """
    rows = (await session.execute(EMAIL_THREAD, {"ticket_id": ticket_id})).all()
    references = tuple(message_id for message_id, _ in rows if message_id is not None)[-MAX_REFERENCES:]
    last_inbound = next((message_id for message_id, direction in reversed(rows) if direction == "inbound"), None)
    return last_inbound or (references[-1] if references else ""), references


def reply_subject(ticket: Ticket) -> str:
    """`Re: <subject> [CC-000123]`, the subject shortened so it all fits the column (SUBJECT_CHARS)."""
    subject = ticket.subject or "Your request"
    prefix = "" if subject.lower().startswith("re:") else "Re: "
    suffix = "" if ticket.reference in subject else f" [{ticket.reference}]"
    room = SUBJECT_CHARS - len(prefix) - len(suffix)
    if len(subject) > room:
        subject = subject[: room - 1].rstrip() + "…"
    return f"{prefix}{subject}{suffix}"


def make_message_id(from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "contactcenter.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def audit(session: AsyncSession, actor: str, action: str, subject: Customer | Ticket | object, **details: object) -> None:
    """Record who changed what; part of the caller's transaction."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            subject_type=type(subject).__name__.lower(),
            subject_id=getattr(subject, "id"),
            details=details,
        )
    )


TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")


def do_add_note(
    session: AsyncSession, ticket: Ticket, text: str, *, author_agent_id: int, now: datetime | None = None
) -> tuple[Interaction, list[Event]]:
    """An internal note on the ticket: in the timeline for agents, never sent to the customer."""
    now = now or utcnow()
    note = Interaction(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        channel=ticket.channel,
        direction="internal",
        author_agent_id=author_agent_id,
        text=text,
        meta={"kind": "note"},
        created_at=now,
    )
    session.add(note)
    ticket.last_activity_at = now
    event = Event("interaction.created", {"ticket_id": ticket.id, "customer_id": ticket.customer_id, "channel": ticket.channel, "direction": "internal"})
    return note, [event]


# A complaint is closed only with a record of what was done about it (DESIGN.md §6).
RESOLUTION_REQUIRED_TYPES = ("complaint",)
DONE_STATUSES = ("resolved", "closed")


def resolution_problem(ticket_type: str, status: str, resolution: str) -> str:
    """Why the ticket may not move to `status` with this resolution note, or "" when it may."""
    if ticket_type in RESOLUTION_REQUIRED_TYPES and status in DONE_STATUSES and not resolution.strip():
        return "a complaint can only be resolved or closed with a resolution note: what was done about it"
    return ""


def do_set_status(
    session: AsyncSession,
    ticket: Ticket,
    status: str,
    *,
    actor: str,
    resolution: str | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """Move the ticket to `status` and record who did it; nothing happens when it is there already.

    `resolution` (what was done) is kept on the ticket; a complaint cannot
    become resolved or closed without one (InputError 422 `resolution_required`).
    Resolving a complaint leaves its resolver a follow-up ("did the fix hold?").
    """
    if status not in TICKET_STATUSES:
        raise InputError(f"status must be one of {', '.join(TICKET_STATUSES)}", fields={"status": "unknown status"})
    note = ticket.resolution if resolution is None else resolution.strip()
    if problem := resolution_problem(ticket.type, status, note):
        raise InputError(problem, code="resolution_required", status=422, fields={"resolution": "required for a complaint"})
    now = now or utcnow()
    changed_note = resolution is not None and note != ticket.resolution
    if changed_note:
        ticket.resolution = note
    if ticket.status == status:
        if changed_note:
            audit(session, actor, "ticket.resolution", ticket, resolution=note)
        return []
    previous, ticket.status = ticket.status, status
    if status == "resolved":
        ticket.resolved_at = now
    elif status == "closed":
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = ticket.closed_at = None
    ticket.last_activity_at = now
    details: dict[str, object] = {"from": previous, "to": status}
    if changed_note:
        details["resolution"] = note
    audit(session, actor, "ticket.status", ticket, **details)
    if status in DONE_STATUSES and previous not in DONE_STATUSES and ticket.type in RESOLUTION_REQUIRED_TYPES:
        agent_id = agent_of(actor) or ticket.assignee_id
        if agent_id is not None:
            session.add(FollowUp(ticket_id=ticket.id, agent_id=agent_id, resolved_at=now))
    return [Event("ticket.status_changed", {"ticket_id": ticket.id, "from": previous, "to": status, "actor": actor})]


def agent_of(actor: str) -> int | None:
    """`agent:7` -> 7; tokens and the system are nobody's work."""
    kind, _, number = actor.partition(":")
    return int(number) if kind == "agent" and number.isdigit() else None


def do_reopen(session: AsyncSession, ticket: Ticket, *, actor: str = "customer") -> None:
    """The customer wrote back to a resolved or closed ticket: it is open again, and that counts."""
    previous = ticket.status
    ticket.status = "open"
    ticket.closed_at = None
    ticket.reopened_count = (ticket.reopened_count or 0) + 1
    audit(session, actor, "ticket.reopened", ticket, **{"from": previous, "type": ticket.type})


TICKET_PRIORITIES = (1, 2, 3, 4)  # low, normal, high, urgent
MAX_TAGS = 20
MAX_TAG_CHARS = 40


def clean_tags(value: object) -> list[str]:
    """Distinct, trimmed, lower-case tags in the order given; InputError for anything else."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InputError("'tags' must be a list of words", fields={"tags": "must be a list of strings"})
    tags = list(dict.fromkeys(t.strip().lower() for t in value if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in tags):
        raise InputError(f"at most {MAX_TAGS} tags of at most {MAX_TAG_CHARS} characters", fields={"tags": "too many or too long"})
    return tags


def do_update_ticket(
    session: AsyncSession, ticket: Ticket, *, actor: str, priority: int | None = None, type: str | None = None, tags: list[str] | None = None
) -> list[Event]:
    """Change the ticket's priority, type and tags (already checked); one audit event lists what changed."""
    changes: dict[str, object] = {}
    for name, value in (("priority", priority), ("type", type), ("tags", tags)):
        if value is not None and getattr(ticket, name) != value:
            changes[name] = {"from": getattr(ticket, name), "to": value}
            setattr(ticket, name, value)
    if not changes:
        return []
    audit(session, actor, "ticket.updated", ticket, **changes)
    return [Event("ticket.updated", {"ticket_id": ticket.id, "fields": sorted(changes), "actor": actor})]
