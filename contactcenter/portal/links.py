"""One-time sign-in links: asked for with an address, mailed through the outbox, spent once.

What the form tells the visitor is the same whether the address is known or
not, and whether a link went out or the address's `[portal] links_per_hour`
were used up: the page must not tell anyone which addresses we hold. A link
goes only to the contact point the typed address matched, never to what was
typed. The token is 256 random bits in the link; only its SHA-256 is stored
(`PortalLink.token_hash`), and the copy of the mail on the customer's timeline
shows the link as removed. (The outbox row holds the mail as sent until the
worker delivers it, as for every message; the link in it expires within
`[portal] link_minutes`.)
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit, customer_locale, make_message_id
from contactcenter.contact import ChannelKind, OutboundMessage
from contactcenter.db.models import ContactPoint, Customer, Interaction, OutboxMessage, PortalLink, PortalSession, utcnow
from contactcenter.events import Event
from contactcenter.i18n import gettext, reading_as
from contactcenter.identity.normalize import fold_plus_tag, mask
from contactcenter.outbound.messages import render_message
from contactcenter.settings import Settings

log = logging.getLogger(__name__)

LINK_KIND = "portal_link"  # Interaction.meta["kind"] of the sign-in mail
LINK_PATH = "/portal/link/"
# What the timeline's copy of the mail shows in place of the link.
LINK_REMOVED = "[…]"
# Addresses no mail is ever sent to (RFC 2606): the chat's anonymous visitors have one.
UNDELIVERABLE_SUFFIX = ".invalid"
MAX_TOKEN_CHARS = 64


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_token_shaped(token: str) -> bool:
    """A token as new_token writes them (URL-safe base64); anything else is not looked up."""
    bare = token.replace("-", "").replace("_", "")
    return 0 < len(token) <= MAX_TOKEN_CHARS and bare.isascii() and bare.isalnum()


async def find_address(session: AsyncSession, settings: Settings, email: str) -> ContactPoint | None:
    """The email contact point a typed (normalised) address stands for, when a live customer holds it."""
    value = fold_plus_tag(email, settings.identity.plus_tag_domains)
    if value.endswith(UNDELIVERABLE_SUFFIX):
        return None
    point = await session.scalar(select(ContactPoint).where(ContactPoint.kind == "email", ContactPoint.value == value))
    return point


async def live_customer(session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer, or the record it was merged into; None when erased or missing."""
    for _ in range(10):
        customer = await session.get(Customer, customer_id)
        if customer is None or customer.erased_at is not None:
            return None
        if customer.merged_into_id is None:
            return customer
        customer_id = customer.merged_into_id
    return None


async def do_send_link(session: AsyncSession, settings: Settings, email: str, *, locale: str, now: datetime | None = None) -> list[Event]:
    """Queue a sign-in link to the customer holding `email`, within the hour's limit; -> events to publish.

    Nothing (and no sign of it) when nobody holds the address or its links
    for the hour are used up.
    """
    now = now or utcnow()
    point = await find_address(session, settings, email)
    customer = await live_customer(session, point.customer_id) if point is not None else None
    if point is None or customer is None:
        return []
    recent = await session.scalar(
        select(func.count()).select_from(PortalLink).where(PortalLink.email == point.value, PortalLink.created_at >= now - timedelta(hours=1))
    )
    if (recent or 0) >= settings.portal.links_per_hour:
        log.info("portal: link for %s not sent: %d in the last hour", mask(point.value), recent)
        return []
    token = new_token()
    session.add(
        PortalLink(
            token_hash=hash_token(token), customer_id=customer.id, email=point.value, created_at=now,
            expires_at=now + timedelta(minutes=settings.portal.link_minutes),
        )
    )
    language = customer_locale(settings, customer.language) if customer.language else locale
    link = f"{settings.http.public_url.rstrip('/')}{LINK_PATH}{token}"
    values = {"name": customer.name, "minutes": int(settings.portal.link_minutes)}
    text, html = render_message("portal_link", locale=language, link=link, **values)
    kept_text, _ = render_message("portal_link", locale=language, link=LINK_REMOVED, **values)
    with reading_as(language):
        subject = gettext("Your sign-in link")
    message_id = make_message_id(settings.email.from_address)
    interaction = Interaction(
        ticket_id=None, customer_id=customer.id, channel=ChannelKind.EMAIL, direction="outbound", provider_id=message_id,
        subject=subject, text=kept_text, delivery_status="queued", meta={"kind": LINK_KIND, "to": point.value}, created_at=now,
    )
    session.add(interaction)
    await session.flush()
    message = OutboundMessage(
        channel=ChannelKind.EMAIL, to=point.value, text=text, html=html, subject=subject, message_id=message_id,
        auto_submitted=True, language=language, interaction_id=interaction.id,
    )
    outbox = OutboxMessage(
        interaction_id=interaction.id, channel=ChannelKind.EMAIL, recipient=point.value, payload=message.to_json(), next_attempt_at=now
    )
    session.add(outbox)
    await session.flush()
    log.info("portal: sign-in link queued for customer %s to %s", customer.id, mask(point.value))
    return [Event("outbox.queued", {"outbox_id": outbox.id, "channel": ChannelKind.EMAIL})]


async def find_usable_link(session: AsyncSession, token: str, now: datetime | None = None) -> PortalLink | None:
    """The link behind `token` while it can still be spent (unused, unexpired); reads only."""
    if not is_token_shaped(token):
        return None
    link = await session.scalar(select(PortalLink).where(PortalLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= (now or utcnow()):
        return None
    return link


async def do_use_link(session: AsyncSession, settings: Settings, token: str, now: datetime | None = None) -> str | None:
    """Spend the link and start a portal session; -> the session cookie's value, None when the link does not work.

    One conditional UPDATE spends it, so of two clicks racing (two tabs, two
    hub processes) exactly one signs in. The address must still belong to the
    customer (not erased, not moved by a merge to someone else).
    """
    now = now or utcnow()
    if not is_token_shaped(token):
        return None
    digest = hash_token(token)
    spent = await session.execute(
        update(PortalLink)
        .where(PortalLink.token_hash == digest, PortalLink.used_at.is_(None), PortalLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        return None
    link = await session.scalar(select(PortalLink).where(PortalLink.token_hash == digest))
    assert link is not None
    point = await find_address(session, settings, link.email)
    customer = await live_customer(session, point.customer_id) if point is not None else None
    owner = await live_customer(session, link.customer_id)
    if customer is None or owner is None or customer.id != owner.id:
        return None
    cookie = new_token()
    session.add(
        PortalSession(
            token_hash=hash_token(cookie), customer_id=customer.id, email=link.email, created_at=now,
            expires_at=now + timedelta(days=settings.portal.session_days),
        )
    )
    audit(session, f"customer:{customer.id}", "portal.signed_in", customer, email=link.email)
    return cookie
