"""Building blocks for tests: settings variations, contacts, a fixed cast of customers."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from contactcenter.contact import ChannelKind, InboundContact, TicketType, typed_identities
from contactcenter.db.models import utcnow
from contactcenter.settings import Settings

ALICE_EMAIL = "alice@example.com"
ALICE_PHONE = "+14155550100"
BOB_EMAIL = "bob@example.org"

_ids = itertools.count(1)


def settings_with(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """A copy of `settings` with some keys of some sections changed."""
    changes = {name: dataclasses.replace(getattr(settings, name), **values) for name, values in sections.items()}
    return dataclasses.replace(settings, **changes)


def make_inbound(
    *,
    channel: ChannelKind = ChannelKind.API,
    email: str | None = ALICE_EMAIL,
    phone: str | None = None,
    evidence: str = "claimed",
    provider_id: str | None = None,
    text: str = "Hello, I need help.",
    subject: str = "Help",
    name: str = "Alice Example",
    ticket_type: TicketType | None = None,
    thread_hints: tuple[str, ...] = (),
    **extra: Any,
) -> InboundContact:
    return InboundContact(
        channel=channel,
        provider_id=provider_id or f"test:{next(_ids)}",
        identities=typed_identities(email, phone, evidence),
        received_at=utcnow(),
        display_name=name,
        subject=subject,
        text=text,
        ticket_type=ticket_type,
        thread_hints=thread_hints,
        source_address=str(channel),
        **extra,
    )
