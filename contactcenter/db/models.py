"""The records the hub keeps (DESIGN.md §2), as SQLAlchemy 2 models.

The same models run on SQLite and PostgreSQL, so only portable types are used:
JSON (JSONB on PostgreSQL), timezone-aware datetimes normalised to UTC, and
integer keys. Relationships load only when asked (`lazy="raise_on_sql"`), so an
accidental query per row fails loudly in tests instead of slowing production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TICKET_PREFIX = "CC-"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

# Stable constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Customer(Base):
    __tablename__ = "customers"
    # The report rows follow customers changed since their last refresh (reports/rows.py).
    __table_args__ = (Index("ix_customers_updated_at", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(20), default="")
    segments: Mapped[list[Any]] = mapped_column(default=list)
    lifetime_value: Mapped[float] = mapped_column(Float, default=0.0)
    notes: Mapped[str] = mapped_column(Text, default="")
    # BCP 47 (`en`, `zh-CN`); empty until known: what we send them is written in it.
    language: Mapped[str] = mapped_column(String(20), default="")
    # Asked not to be phoned: agents' call-back and click-to-call are refused.
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # normalize.name_key(name): finds look-alike names with one indexed lookup.
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    # Set when this record was merged into another; the row stays so an
    # unmerge can bring it back.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # Set when the customer's data was erased on request: the shell stays for the figures.
    erased_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="customer", lazy="raise_on_sql", order_by="ContactPoint.id"
    )


class ContactPoint(Base):
    """An email address or phone number known to belong to one customer."""

    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # email | phone
    value: Mapped[str] = mapped_column(String(320))  # normalised: lower-case email, E.164
    raw_value: Mapped[str] = mapped_column(String(320), default="")
    extension: Mapped[str] = mapped_column(String(20), default="")  # phones: kept, never matched
    # What look-alike customers may share: "d:<email domain>" or "p:<number
    # without its last digits>" (identity.group_key); indexed for suggestions.
    group_key: Mapped[str] = mapped_column(String(330), default="", index=True)
    # How we learned it: verified (the provider vouches), claimed (typed in a
    # form or by an agent), imported (from a CRM file).
    evidence: Mapped[str] = mapped_column(String(10))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)  # SMS STOP
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contact_points", lazy="raise_on_sql")


class SmsSuppression(Base):
    """A number that said STOP and whose customer was since erased.

    The opt-out must outlive the erasure (carriers and Twilio require it, and a
    suppression list is data kept to honour the person's own request), so the
    number alone stays here, tied to nobody, until it writes START.
    """

    __tablename__ = "sms_suppressions"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Queue(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    sla_policy: Mapped[str] = mapped_column(String(100), default="")
    calendar: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20))  # agent | supervisor | admin
    phone: Mapped[str] = mapped_column(String(20), default="")  # E.164: where calls reach them without a softphone
    language: Mapped[str] = mapped_column(String(20), default="en")  # BCP 47: the workspace's language
    timezone: Mapped[str] = mapped_column(String(64), default="")  # IANA; empty: the center's
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)  # skill -> level 1..5
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)  # channel -> open tickets at once
    presence: Mapped[str] = mapped_column(String(20), default="offline")
    presence_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    # Set while the agent is on a call: busy for voice, whatever the presence.
    on_call_since: Mapped[datetime | None] = mapped_column()
    # After a call: no voice work until then (wrap-up, `[voice] wrap_up_seconds`).
    wrap_up_until: Mapped[datetime | None] = mapped_column()
    # Last sign of life of the agent's browser softphone: calls ring it (not
    # their phone) while it is recent (voice/reach.py).
    softphone_seen_at: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_channel_status", "customer_id", "channel", "status"),
        Index("ix_tickets_queue_status_priority", "queue_id", "status", "priority"),
        # Reports read tickets by the day they were opened and the day they were resolved.
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_resolved_created", "resolved_at", "created_at"),
        # The report rows follow tickets changed since their last refresh (reports/rows.py).
        Index("ix_tickets_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    type: Mapped[str] = mapped_column(String(20), default="question")
    status: Mapped[str] = mapped_column(String(20), default="new")  # new|open|pending|resolved|closed
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 low, 2 normal, 3 high, 4 urgent
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # channel of origin
    source_address: Mapped[str] = mapped_column(String(320), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # follow-up of
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # What was done about it; a complaint cannot be resolved without one (DESIGN.md §6).
    resolution: Mapped[str] = mapped_column(Text, default="")
    # The key the caller pressed in the phone menu ("" when none): `when.ivr` rules read it.
    ivr_choice: Mapped[str] = mapped_column(String(20), default="")
    # Times the customer wrote back to it after it was resolved or closed (reports count reopened complaints).
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column()
    first_response_due_at: Mapped[datetime | None] = mapped_column()
    resolution_due_at: Mapped[datetime | None] = mapped_column()
    first_responded_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    sla_state: Mapped[str] = mapped_column(String(20), default="ok")  # ok | at_risk | breached
    # SLA clocks stop while pending: when the pause began, and when it ended
    # (the SLA timer then moves the due times on by the business time paused).
    sla_paused_at: Mapped[datetime | None] = mapped_column()
    sla_resumed_at: Mapped[datetime | None] = mapped_column()
    # Business seconds (the queue's calendar) from creation to the first agent
    # answer and to resolution, for reports; cleared when those times change
    # and filled again by contactcenter/reports/ticket_times.py.
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)

    @property
    def reference(self) -> str:
        return format_reference(self.id)


def format_reference(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def parse_reference(text: str) -> int | None:
    """`CC-000123` (any case) -> 123; anything else -> None."""
    text = text.strip().upper()
    digits = text[len(TICKET_PREFIX):]
    if not text.startswith(TICKET_PREFIX) or not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(digits)


class Interaction(Base):
    """One thing that happened with a customer: append-only, the timeline's unit."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id"),
        Index("ix_interactions_customer_created", "customer_id", "created_at"),
        Index("ix_interactions_ticket_created", "ticket_id", "created_at"),
        Index("ix_interactions_channel_created", "channel", "created_at"),  # reports: calls in a range
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound | internal
    # The provider's id (MessageSid, CallSid, Message-ID, form id): one row per
    # id and channel, which is what makes repeated deliveries harmless.
    provider_id: Mapped[str | None] = mapped_column(String(500))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    # Which identifier tied this contact to its customer, and how sure we are.
    matched_by: Mapped[str] = mapped_column(String(320), default="")
    match_evidence: Mapped[str] = mapped_column(String(10), default="")
    delivery_status: Mapped[str] = mapped_column(String(20), default="")  # outbound only
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when erasure or retention blanked the words; the row stays for the figures.
    redacted_at: Mapped[datetime | None] = mapped_column()


class AttachmentBlob(Base):
    """Attachment bytes, stored once per content however often they are sent."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300), default="")
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment_blobs.sha256"))
    content_id: Mapped[str] = mapped_column(String(300), default="")
    inline: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the token: tokens are 256 random bits, so a fast hash is enough
    # and lets every request be checked with one indexed lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # intake | agent | supervisor | admin
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_action_at", "action", "at"),  # reports: reopened complaints in a range
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # "agent:3", "token:2", "system"
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MergeSuggestion(Base):
    __tablename__ = "merge_suggestions"
    __table_args__ = (UniqueConstraint("customer_a_id", "customer_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_a_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    customer_b_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | dismissed | merged
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class MergeRecord(Base):
    __tablename__ = "merge_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ids per kind, for unmerge
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()


class OutboxMessage(Base):
    """A message waiting to leave, written with the interaction that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column()  # OutboundMessage.to_json()
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_log: Mapped[list[Any]] = mapped_column(default=list)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class InboundRecord(Base):
    """Raw input kept so that nothing a provider handed us is ever lost.

    Contacts that failed to process wait here (status `failed`) with the error,
    for a person to look at and replay; channels that accept first and process
    after (SMTP) park their raw input here as `pending`.
    """

    __tablename__ = "inbound_records"
    __table_args__ = (Index("ix_inbound_records_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    provider_id: Mapped[str] = mapped_column(String(500), default="")
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # InboundContact.to_json()
    status: Mapped[str] = mapped_column(String(20))  # pending | failed | done
    error: Mapped[str] = mapped_column(Text, default="")
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()


class MailboxState(Base):
    """How far an IMAP poller got in one mailbox folder (RFC 3501 §2.3.1.1).

    UIDs only mean something together with the folder's UIDVALIDITY; when the
    server changes it, every message is offered again and the dedupe step
    (by Message-ID) keeps what we already have.
    """

    __tablename__ = "mailbox_states"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentSession(Base):
    """One browser sign-in. The cookie holds a random token; only its SHA-256 is kept,
    so a stolen database does not hand out sessions, and ending one is a row update."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    # A digest of the password hash at sign-in: a password changed by any means
    # (the page, the CLI, an admin) ends the sessions signed in before it.
    password_stamp: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class LoginFailure(Base):
    """Failed sign-ins per key ("account:<email>" or "address:<ip>"), shared by every process."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Macro(Base):
    """A canned reply: shared (agent_id empty) or one agent's own; its body is a sandboxed template."""

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Survey(Base):
    """The satisfaction survey of one resolved ticket: at most one per ticket.

    The row is the decision too: `skipped` (with the reason) means none will be
    sent; `sent` waits for the answer; `answered` holds it. The link's token is
    kept only as its SHA-256, like API tokens.
    """

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_customer_sent", "customer_id", "sent_at"), Index("ix_surveys_recipient_status", "recipient", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(10), default="")  # email | sms: how it went out
    recipient: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(20))  # skipped | sent | answered
    reason: Mapped[str] = mapped_column(String(100), default="")  # why skipped
    language: Mapped[str] = mapped_column(String(20), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_by_channel: Mapped[str] = mapped_column(String(10), default="")  # web (the page) | sms
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()


class FollowUp(Base):
    """"Did the fix hold?": a task for the agent who resolved a complaint, due `[complaints] follow_up_days` later.

    The due day is worked out when the agent's work is read, so a changed
    setting applies to every open follow-up.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_agent_done", "agent_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    resolved_at: Mapped[datetime] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20), default="")  # held | reopened


class WebhookSubscription(Base):
    """An admin's URL that hears some of the hub's events (contactcenter/webhooks/).

    `secret` signs every delivery (HMAC-SHA256); a subscription whose deliveries
    keep failing is `paused` until an admin resumes it.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | paused
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    paused_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: the webhooks' outbox row, written in the event's transaction.

    Unique per (subscription, event id), so an event is delivered at most once
    to each URL however often it is enqueued.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_kind: Mapped[str] = mapped_column(String(50))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()


class WebhookAttempt(Base):
    """One POST of a delivery: when, what the receiver answered, how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class ReportCohort(Base):
    """Who a report groups a ticket by: its agent and its customer's tier and segments.

    Reports read their per-ticket rows cohort by cohort (`cohort_id IN (…)` on
    an index led by cohort_id), so SQLite meets them already grouped instead of
    sorting a year of tickets; the agent, tier and segment filters become a
    shorter list of cohorts."""

    __tablename__ = "report_cohorts"
    __table_args__ = (UniqueConstraint("agent_id", "tier", "segments"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer)  # 0: nobody
    tier: Mapped[str] = mapped_column(String(20))
    segments: Mapped[str] = mapped_column(Text)  # sorted, each between newlines: "\neu\nretail\n"; "" for none


class ReportRow(Base):
    """One narrow row per ticket with what reports count, kept by reports/rows.py.

    Times are whole seconds since 1970 (UTC) so a report can shift them into
    the viewer's time zone and cut days and hours with integer arithmetic;
    first response and resolution are business seconds of the ticket's queue.
    Each index covers the columns its query reads (docs/benchmarks.md)."""

    __tablename__ = "report_rows"
    __table_args__ = (
        Index("ix_report_rows_cohort_created", "cohort_id", "created", "queue_id", "channel", "type", "first_response_seconds",
              "resolution_seconds", "sla_met", "sla_breached", "customer_value", "calls", "call_seconds"),
        Index("ix_report_rows_cohort_resolved", "cohort_id", "resolved_quarter", "queue_id", "channel", "type"),
        # Led by the quarter hour, so GROUP BY quarter reads in index order and sorts nothing.
        Index("ix_report_rows_created_quarter", "created_quarter", "cohort_id", "queue_id", "channel", "type"),
        Index("ix_report_rows_resolved_quarter", "resolved_quarter", "cohort_id", "queue_id", "channel", "type"),
        Index("ix_report_rows_channel_quarter", "channel", "created_quarter", "cohort_id", "queue_id", "type"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[int | None] = mapped_column(BigInteger)
    # created // 900 and resolved // 900: every time zone's midnight falls on a quarter hour.
    created_quarter: Mapped[int] = mapped_column(Integer)
    resolved_quarter: Mapped[int | None] = mapped_column(Integer)
    queue_id: Mapped[int] = mapped_column(Integer)  # 0: none
    channel: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(20))
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)
    sla_met: Mapped[int] = mapped_column(Integer)  # 0 or 1
    sla_breached: Mapped[int] = mapped_column(Integer)  # 0 or 1
    customer_value: Mapped[float] = mapped_column(Float)
    calls: Mapped[int] = mapped_column(Integer)  # the ticket's calls with a talk time
    call_seconds: Mapped[int] = mapped_column(Integer)  # their talk seconds together
    # The ticket's and its customer's updated_at this row was made from.
    ticket_updated_at: Mapped[datetime] = mapped_column()
    customer_updated_at: Mapped[datetime] = mapped_column()


class ReportMark(Base):
    """How far the report rows have followed tickets' and customers' updated_at ("tickets", "customers")."""

    __tablename__ = "report_marks"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    at: Mapped[datetime] = mapped_column()


class PortalLink(Base):
    """A one-time sign-in link for the customer portal, mailed to one of the customer's addresses.

    Only the SHA-256 of the link's token is kept (like API tokens and survey
    links): the database alone cannot sign anyone in. `used_at` is set by the
    one POST that spends it; a link is good until `expires_at` and only once.
    """

    __tablename__ = "portal_links"
    __table_args__ = (Index("ix_portal_links_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # the contact point it was sent to
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class PortalSession(Base):
    """A customer signed in to the portal by a link: the cookie's SHA-256, revocable on the server."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # The address the link went to: the portal's answers come from it, verified.
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
