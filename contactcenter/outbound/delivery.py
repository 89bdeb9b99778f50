"""Delivery reports for messages we sent: the provider tells us later what became of them.

Reports arrive out of order (Twilio: "delivered" may come before "sent") and
more than once, so a status only ever moves forward. A report can also arrive
before the outbox has written down the provider's id for the message; the
caller may then name the interaction directly (Twilio calls back the URL we
gave it, which carries the interaction id).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from contactcenter.db.models import Interaction, utcnow
from contactcenter.events import Event
from contactcenter.hub import Hub

log = logging.getLogger(__name__)

# How far along a message is; a report never moves it to a lower rank.
STATUS_RANK = {
    "": 0,
    "queued": 1,
    "retrying": 1,
    "accepted": 1,
    "scheduled": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


async def record_delivery_status(
    hub: Hub,
    channel: str,
    provider_id: str,
    status: str,
    *,
    interaction_id: int | None = None,
    **facts: Any,
) -> bool:
    """Apply one delivery report to the outbound interaction; False when it is not ours."""
    async with hub.sessions() as session, session.begin():
        interaction = None
        if interaction_id is not None:
            interaction = await session.scalar(
                select(Interaction).where(Interaction.id == interaction_id).with_for_update()
            )
            if interaction is None or interaction.channel != channel or interaction.provider_id not in (None, provider_id):
                interaction = None
        if interaction is None:
            interaction = await session.scalar(
                select(Interaction)
                .where(Interaction.channel == channel, Interaction.provider_id == provider_id)
                .with_for_update()
            )
        if interaction is None or interaction.direction != "outbound":
            return False
        if interaction.provider_id is None:
            interaction.provider_id = provider_id
        current = interaction.delivery_status or ""
        if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(current, 0):
            interaction.delivery_status = status
        reports = list((interaction.meta or {}).get("delivery_reports", []))
        reports.append({"status": status, "at": utcnow().isoformat(), **{k: v for k, v in facts.items() if v}})
        interaction.meta = {
            **(interaction.meta or {}),
            "delivery_reports": reports[-20:],
            **({"error_code": facts["error_code"]} if facts.get("error_code") else {}),
        }
        changed = {"interaction_id": interaction.id, "ticket_id": interaction.ticket_id, "status": interaction.delivery_status}
    # After commit: open ticket pages show the new status.
    hub.bus.publish(Event("delivery.status", changed))
    return True
