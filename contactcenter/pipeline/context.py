"""What the ingest steps share while one contact goes through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import Identity, InboundContact
from contactcenter.db.models import ContactPoint, Customer, Interaction, Ticket
from contactcenter.events import Event
from contactcenter.hub import Hub

if TYPE_CHECKING:
    from contactcenter.pipeline.route import QueueRow  # route imports this module


@dataclass
class IngestContext:
    hub: Hub
    session: AsyncSession
    contact: InboundContact
    now: datetime
    # Filled in by the steps, in pipeline order.
    duplicate_of: Interaction | None = None  # dedupe: seen before, nothing more to do
    customer: Customer | None = None
    customer_created: bool = False  # a record made for this contact has no tickets yet
    matched: Identity | None = None  # the identifier that tied the contact to `customer`
    # The contact's identifiers as records, by (kind, value) as identify matched
    # them: read (locked) or made by identify. Some may belong to other customers.
    contact_points: dict[tuple[str, str], ContactPoint] = field(default_factory=dict)
    ticket: Ticket | None = None
    ticket_created: bool = False
    queue: QueueRow | None = None  # route: where a new ticket went
    rules_fired: tuple[str, ...] = ()  # route: the routing rules that placed a new ticket, for the audit trail
    interaction: LoggedInteraction | None = None  # log: the inbound interaction written for this contact
    events: list[Event] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.duplicate_of is not None


@dataclass(frozen=True, slots=True)
class LoggedInteraction:
    """What later steps and the result read of the interaction `log` wrote (a row, not an ORM object)."""

    id: int
    ticket_id: int | None
    customer_id: int | None
    channel: str
    provider_id: str | None
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the provider's success reply may tell: where the contact went."""

    customer_id: int
    ticket_id: int | None
    reference: str
    interaction_id: int
    duplicate: bool
    ticket_created: bool
    answer: Any = None  # what the caller's `then` returned (pipeline.run.ingest)
