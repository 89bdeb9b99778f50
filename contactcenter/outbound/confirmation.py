"""Confirming a typed address with one click, before it gets anything with the sender's words.

With `[tickets] confirm_claimed_addresses = true`, a contact whose reply
address was typed (web form, JSON intake) first gets only the fixed-text
`address_confirmation` mail: no subject, name or message of the sender in it,
so it is useless for phishing. Its link names the ticket and the address,
signed with the hub's secret (HMAC-SHA256), valid `VALID_SECONDS`. The page
behind it asks for a click (a POST: mail scanners that follow links must not
confirm), which marks the contact point verified and queues the usual
acknowledgement on that ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import do_reply_to
from contactcenter.db.models import ContactPoint, Ticket
from contactcenter.events import Event
from contactcenter.outbound.messages import render_message
from contactcenter.settings import Settings

VALID_SECONDS = 7 * 24 * 3600


def sign_confirmation(secret: str, ticket_id: int, address: str, now: float | None = None) -> str:
    issued = str(int(now if now is not None else time.time()))
    encoded = base64.urlsafe_b64encode(address.encode()).decode().rstrip("=")
    return f"{ticket_id}.{encoded}.{issued}.{_sign(secret, ticket_id, address, issued)}"


def read_confirmation(secret: str, token: str, now: float | None = None) -> tuple[int, str] | None:
    """(ticket id, address) of a valid, fresh token; None for anything else."""
    try:
        ticket_text, encoded, issued, signature = token.split(".")
        address = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        ticket_id, age = int(ticket_text), (now if now is not None else time.time()) - int(issued)
    except (ValueError, UnicodeDecodeError):
        return None
    if not (ticket_text.isascii() and issued.isascii()):
        return None
    if not hmac.compare_digest(signature, _sign(secret, ticket_id, address, issued)) or not 0 <= age <= VALID_SECONDS:
        return None
    return ticket_id, address


def confirmation_url(settings: Settings, secret: str, ticket_id: int, address: str) -> str:
    return f"{settings.http.public_url.rstrip('/')}/contact/confirm/{sign_confirmation(secret, ticket_id, address)}"


def _sign(secret: str, ticket_id: int, address: str, issued: str) -> str:
    message = f"confirm:{ticket_id}:{address}:{issued}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def do_confirm_address(
    session: AsyncSession, settings: Settings, ticket_id: int, address: str
) -> tuple[Ticket | None, list[Event]]:
    """Mark the address verified and acknowledge its ticket; a second click changes nothing.

    -> (the ticket, events to publish); (None, []) when the ticket or the address is gone.
    """
    ticket = await session.get(Ticket, ticket_id)
    point = await session.scalar(select(ContactPoint).where(ContactPoint.kind == "email", ContactPoint.value == address))
    if ticket is None or point is None or point.customer_id != ticket.customer_id:
        return None, []
    if point.evidence == "verified":
        return ticket, []
    point.evidence = "verified"
    text, html = render_message("acknowledgement", name="", reference=ticket.reference, subject=ticket.subject)
    _, _, events = await do_reply_to(session, settings, ticket, "email", address, text, html=html, kind="acknowledgement")
    return ticket, events
