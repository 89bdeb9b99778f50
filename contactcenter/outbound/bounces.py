"""Recording that a message we sent did not arrive (a bounce, RFC 3464).

A bounce is not a customer writing to us: it must not open a ticket (and
never be answered). It marks the outbound interaction it reports on as
failed, so the agent sees the reply did not reach the customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from contactcenter.db.models import Interaction, utcnow
from contactcenter.errors import TemporaryError
from contactcenter.events import Event
from contactcenter.hub import Hub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFailure:
    channel: str
    provider_ids: tuple[str, ...]  # ids of the messages we sent that failed
    recipient: str = ""
    status: str = ""  # e.g. the DSN status 5.1.1
    reason: str = ""
    permanent: bool = True  # False: the provider will retry ("delayed")


async def record_delivery_failure(hub: Hub, failure: DeliveryFailure) -> list[int]:
    """Mark our outbound messages named in `failure`; -> the interaction ids marked.

    Raises TemporaryError when the database is down (the sender retries).
    """
    if not failure.provider_ids:
        return []
    try:
        async with hub.sessions() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(Interaction).where(
                        Interaction.channel == failure.channel,
                        Interaction.direction == "outbound",
                        Interaction.provider_id.in_(failure.provider_ids),
                    )
                )
            )
            for interaction in rows:
                if failure.permanent:
                    interaction.delivery_status = "failed"
                interaction.meta = {
                    **interaction.meta,
                    "bounce": {
                        "at": utcnow().isoformat(),
                        "recipient": failure.recipient,
                        "status": failure.status,
                        "reason": failure.reason[:500],
                        "permanent": failure.permanent,
                    },
                }
    except (OperationalError, DBAPIError, OSError) as exc:
        raise TemporaryError("the database is unavailable") from exc
    marked = [row.id for row in rows]
    for interaction in rows:
        hub.bus.publish(Event("delivery.failed", {"interaction_id": interaction.id, "ticket_id": interaction.ticket_id}))
    log.info("%s: delivery failure %s for %d of our messages", failure.channel, failure.status or "-", len(marked))
    return marked
