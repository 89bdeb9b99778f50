"""A hub with every door open: the form, the JSON intake, SMTP, signed Twilio webhooks.

Acknowledgements are on, mail leaves through a real relay (aiosmtpd) and SMS
through the Twilio stand-in, so a test sees exactly what would reach people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from contactcenter.channels.smtp_server import SMTP_PORT
from sqlalchemy import func, select

from contactcenter.db.models import ContactPoint, InboundRecord, Interaction, OutboxMessage, Ticket
from contactcenter.keys import HUB
from contactcenter.outbound.outbox import OutboxWorker
from contactcenter.web import csrf
from tests.factories import settings_with
from tests.mail import Relay, send_mail
from tests.polling import processed
from tests.twilio_standin import params, post_signed, standin, twilio_settings  # noqa: F401

SMS = "/webhooks/twilio/sms"
# Headers our acknowledgements and replies carry, and nothing else (RFC 5322 + RFC 3834).
OUR_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type",
}


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def settings(settings, standin, relay):  # noqa: F811
    return settings_with(
        twilio_settings(settings, standin.url),
        email={"relay_port": relay.port, "relay_host": "127.0.0.1", "max_message_bytes": 2_000_000},
        tickets={"auto_acknowledge": True},
    )


async def open_form(client) -> tuple[str, str]:
    """-> (csrf token, cookie); the cookie is Secure (public_url is https), so it is sent by hand over loopback."""
    response = await client.get("/contact")
    page = await response.text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1), response.cookies[csrf.COOKIE_NAME].value


async def post_form(client, **fields: str):
    base = {"name": "", "email": "", "phone": "", "subject": "", "message": "Hello", "type": "question"}
    token, cookie = await open_form(client)
    response = await client.post(
        "/contact", data={**base, **fields, "csrf_token": token}, headers={"Cookie": f"{csrf.COOKIE_NAME}={cookie}"}
    )
    await processed(client.server.app[HUB])
    return response


async def send_smtp(client, message: EmailMessage | bytes, **envelope) -> str:
    answer = await send_mail(client.server.app[SMTP_PORT], message, **envelope)
    await processed(client.server.app[HUB])
    return answer


async def send_sms(client, **changes: str):
    return await post_signed(client, SMS, params("sms_inbound_basic", **changes))


async def deliver_all(hub) -> None:
    """Every due outbox message through its channel once (mail to the relay, SMS to the stand-in)."""
    await OutboxWorker(hub).deliver_due()


async def rows(hub, model, *where) -> list:
    async with hub.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def assert_nothing_half_written_or_lost(hub) -> None:
    """Every ticket has its contact on the timeline; nothing waits or failed for replay."""
    async with hub.sessions() as session:
        empty = await session.scalar(
            select(func.count()).select_from(Ticket).where(~Ticket.id.in_(select(Interaction.ticket_id).where(Interaction.ticket_id.is_not(None))))
        )
        stuck = list(await session.scalars(select(InboundRecord).where(InboundRecord.status.in_(("pending", "failed")))))
    assert empty == 0
    assert [(r.status, r.error[:200]) for r in stuck] == []


async def assert_outbound_only_to_own_identifiers(hub) -> None:
    """Mail only to the contact's own address, SMS only to numbers that wrote to us (verified)."""
    async with hub.sessions() as session:
        sent = list(await session.execute(select(OutboxMessage.channel, OutboxMessage.recipient, Interaction.customer_id).join(Interaction, Interaction.id == OutboxMessage.interaction_id)))
        points = {(p.kind, p.value): p for p in await session.scalars(select(ContactPoint))}
    for channel, recipient, customer_id in sent:
        point = points.get(("email" if channel == "email" else "phone", recipient))
        assert point is not None and point.customer_id == customer_id, (channel, recipient)
        if channel == "sms":
            assert point.evidence == "verified", recipient
