"""Plain values that cross the line between channels and the core.

Channels build an `InboundContact` from a provider's wire format and turn an
`OutboundMessage` into a provider call; nothing else passes between them.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from contactcenter import plain_text


class ChannelKind(enum.StrEnum):
    WEB = "web"
    API = "api"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    CHAT = "chat"


class TicketType(enum.StrEnum):
    QUESTION = "question"
    REQUEST = "request"
    COMPLAINT = "complaint"
    INCIDENT = "incident"
    CALLBACK = "callback"


Evidence = Literal["verified", "claimed", "imported"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """One way to reach a customer, already normalised (lower-cased email, E.164)."""

    kind: Literal["email", "phone"]
    value: str
    evidence: Evidence
    # The address an answer to this contact goes to: the customer it belongs
    # to wins when a contact's identifiers point at two customers.
    is_reply_address: bool = False


def typed_identities(email: str | None, phone: str | None, evidence: Evidence = "claimed") -> tuple[Identity, ...]:
    """The identities a person typed (a form, an API call): email answers first."""
    identities = []
    if email:
        identities.append(Identity(kind="email", value=email, evidence=evidence, is_reply_address=True))
    if phone:
        identities.append(Identity(kind="phone", value=phone, evidence=evidence, is_reply_address=not email))
    return tuple(identities)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""  # set for inline images referenced from the HTML
    inline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundContact:
    """Everything the core needs to know about one contact, from any channel."""

    channel: ChannelKind
    provider_id: str  # CallSid / MessageSid / Message-ID / form id: the dedupe key
    identities: tuple[Identity, ...]
    received_at: datetime  # tz-aware UTC
    display_name: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""  # sanitised by the channel
    ticket_type: TicketType | None = None  # when the customer chose one
    thread_hints: tuple[str, ...] = ()  # Message-IDs we may have seen, ticket references
    is_automated: bool = False  # auto-replies, bounces: never acknowledged
    attachments: tuple[Attachment, ...] = ()
    # True when the attachments were left out because the raw input kept beside
    # the contact (a mail's RFC 5322 bytes) holds them: they are read from it
    # again when the contact is processed (`without_attachments`).
    attachments_in_raw: bool = False
    source_address: str = ""  # the mailbox, number or form the contact came in through
    customer_hints: dict[str, Any] = field(default_factory=dict)  # e.g. tier from a CRM
    # The customer's language (BCP 47), when the channel learns it; `language_chosen`:
    # they chose it (a form field, the JSON intake), not just their browser's setting.
    language: str = ""
    language_chosen: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)  # channel facts kept on the interaction

    def __post_init__(self) -> None:
        """Every value storable and sized to its column, whichever channel built it (plain_text.py)."""
        fit = plain_text
        changes = {
            "provider_id": fit.clean_line(self.provider_id, fit.PROVIDER_ID_CHARS),
            "display_name": fit.clean_name(self.display_name),
            "subject": fit.clean_line(self.subject, fit.SUBJECT_CHARS),
            "text": fit.clean_text(self.text),
            "html": fit.clean_text(self.html),
            "thread_hints": tuple(fit.clean_line(h, fit.HINT_CHARS) for h in self.thread_hints),
            "attachments": tuple(
                dataclasses.replace(
                    a,
                    filename=fit.clean_filename(a.filename),
                    content_type=fit.clean_line(a.content_type, fit.CONTENT_TYPE_CHARS),
                    content_id=fit.clean_line(a.content_id, fit.CONTENT_ID_CHARS),
                )
                for a in self.attachments
            ),
            "source_address": fit.clean_line(self.source_address, fit.ADDRESS_CHARS),
            "customer_hints": fit.clean_json(self.customer_hints),
            "metadata": fit.clean_json(self.metadata),
        }
        for name, value in changes.items():
            object.__setattr__(self, name, value)

    def reply_identity(self) -> Identity | None:
        for identity in self.identities:
            if identity.is_reply_address:
                return identity
        return self.identities[0] if self.identities else None

    def without_attachments(self) -> InboundContact:
        """This contact as stored and queued beside its raw input: the attachments' bytes are in that input.

        A large mail's attachments were otherwise held three times until it
        was processed: in the raw mail, hex-encoded in the stored contact, and
        decoded in the writer's queue.
        """
        if not self.attachments:
            return self
        return dataclasses.replace(self, attachments=(), attachments_in_raw=True)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe copy, kept with every accepted contact (and those that failed) so it can be replayed.

        What `dataclasses.asdict` gives, written out: asdict deep-copies each
        string and number through `copy.deepcopy`, about 0.1 ms a mail on the
        path where the SMTP receiver stores it.
        """
        return {
            "channel": self.channel,
            "provider_id": self.provider_id,
            "identities": tuple(
                {"kind": i.kind, "value": i.value, "evidence": i.evidence, "is_reply_address": i.is_reply_address}
                for i in self.identities
            ),
            "received_at": self.received_at.isoformat(),
            "display_name": self.display_name,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "ticket_type": self.ticket_type,
            "thread_hints": self.thread_hints,
            "is_automated": self.is_automated,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "content": a.content.hex(),
                    "content_id": a.content_id,
                    "inline": a.inline,
                }
                for a in self.attachments
            ],
            "attachments_in_raw": self.attachments_in_raw,
            "source_address": self.source_address,
            "customer_hints": _json_copy(self.customer_hints),
            "language": self.language,
            "language_chosen": self.language_chosen,
            "metadata": _json_copy(self.metadata),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboundContact:
        return cls(
            **{
                **data,
                "channel": ChannelKind(data["channel"]),
                "identities": tuple(Identity(**i) for i in data["identities"]),
                "received_at": datetime.fromisoformat(data["received_at"]),
                "ticket_type": TicketType(data["ticket_type"]) if data["ticket_type"] else None,
                "thread_hints": tuple(data["thread_hints"]),
                "attachments": tuple(
                    Attachment(**{**a, "content": bytes.fromhex(a["content"])})
                    for a in data["attachments"]
                ),
            }
        )


def _json_copy(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, tuples of plain values), as `dataclasses.asdict` copies it."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_json_copy(v) for v in value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """A message for a channel to deliver; built by the core, sent by the outbox."""

    channel: ChannelKind
    to: str  # email address or E.164 number
    text: str
    subject: str = ""
    html: str = ""
    ticket_reference: str = ""
    # Email threading (RFC 5322 §3.6.4): our Message-ID and what it answers.
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    auto_submitted: bool = False  # sent by the hub itself (RFC 3834): acknowledgements, surveys
    language: str = ""  # the reader's (BCP 47): the frame around the text is written in it
    outbox_id: int = 0
    interaction_id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "references": list(self.references)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutboundMessage:
        return cls(**{**data, "channel": ChannelKind(data["channel"]), "references": tuple(data["references"])})


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What the provider said when it took the message."""

    provider_id: str = ""
    status: str = "sent"
