"""Who is signed in to the portal: a cookie holding 256 random bits, the database only their SHA-256.

The cookie is HttpOnly, SameSite=Lax, limited to `/portal` and Secure when
the hub is served over https (`[http] public_url`), like the workspace's.
Signing out revokes the session row, so a copied cookie stops working at once
in every hub process; erasing the customer deletes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import PortalSession, utcnow
from contactcenter.keys import HUB
from contactcenter.portal.links import MAX_TOKEN_CHARS, hash_token, live_customer
from contactcenter.web.sessions import is_secure

COOKIE_NAME = "cc_portal"
COOKIE_PATH = "/portal"


@dataclass(frozen=True, slots=True)
class Visitor:
    """The signed-in customer, as the pages need them (read outside any session)."""

    session_id: int
    customer_id: int
    email: str  # the address the link went to: answers come from it
    name: str

    @property
    def actor(self) -> str:
        return f"customer:{self.customer_id}"


async def current_visitor(request: web.Request) -> Visitor | None:
    token = request.cookies.get(COOKIE_NAME, "")
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    async with request.app[HUB].reads() as session:
        row = await session.scalar(select(PortalSession).where(PortalSession.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        # Merged since signing in: the tickets moved to the record that stays.
        customer = await live_customer(session, row.customer_id)
    if customer is None:
        return None
    return Visitor(session_id=row.id, customer_id=customer.id, email=row.email, name=customer.name)


async def require_visitor(request: web.Request) -> Visitor:
    """The signed-in customer; anyone else is sent to the portal's sign-in form."""
    visitor = await current_visitor(request)
    if visitor is None:
        raise web.HTTPSeeOther("/portal")
    return visitor


async def do_sign_out(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(PortalSession).where(PortalSession.id == session_id, PortalSession.revoked_at.is_(None)).values(revoked_at=utcnow())
    )


def set_visitor_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    days = request.app[HUB].settings.portal.session_days
    response.set_cookie(
        COOKIE_NAME, token, max_age=int(days * 86400), path=COOKIE_PATH, httponly=True, samesite="Lax", secure=is_secure(request)
    )


def clear_visitor_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE_NAME, path=COOKIE_PATH, secure=is_secure(request), httponly=True, samesite="Lax")
