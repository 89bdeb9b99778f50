"""Who is using the browser workspace: sessions kept in the database.

The cookie holds 256 random bits; the database keeps only their SHA-256, with
the agent, the expiry and a stamp of the password hash at sign-in. Signing
out, changing the password, or an admin's revocation ends a session on the
server at once, in every hub process: a copied cookie is worth nothing after.
Each request loads the agent, so a deactivated agent or a changed role takes
effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Agent, AgentSession, utcnow
from contactcenter.errors import ForbiddenError
from contactcenter.i18n import Reader, current_reader, gettext as _, set_reader
from contactcenter.keys import HUB
from contactcenter.web import csrf
from contactcenter.web.auth import Principal
from contactcenter.web.locale import person_locale
from contactcenter.web.pages import render_page

COOKIE_NAME = "cc_session"


@dataclass(frozen=True, slots=True)
class Person:
    """The signed-in agent, as pages need it (read outside any session)."""

    id: int
    name: str
    email: str
    role: str
    presence: str
    session_id: int = 0

    @property
    def principal(self) -> Principal:
        return Principal(actor=f"agent:{self.id}", role=self.role, agent_id=self.id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_stamp(agent: Agent) -> str:
    return hashlib.sha256(f"stamp:{agent.password_hash}".encode()).hexdigest()


def create_session(session: AsyncSession, agent: Agent, *, hours: float, address: str, user_agent: str) -> str:
    """A new sign-in for `agent`; returns the cookie value (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            token_hash=token_hash(token),
            agent_id=agent.id,
            password_stamp=password_stamp(agent),
            address=address[:64],
            user_agent=user_agent[:300],
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return token


async def end_sessions(session: AsyncSession, *, agent_id: int | None = None, session_id: int | None = None) -> int:
    """Revoke one session, or every session of one agent; returns how many ended."""
    query = update(AgentSession).where(AgentSession.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(AgentSession.id == session_id)
    if agent_id is not None:
        query = query.where(AgentSession.agent_id == agent_id)
    result = await session.execute(query.values(revoked_at=utcnow()))
    return result.rowcount or 0


CURRENT = select(Agent, AgentSession).join(AgentSession, AgentSession.agent_id == Agent.id)


async def current_person(request: web.Request) -> Person | None:
    token = request.cookies.get(COOKIE_NAME, "")
    if not token or len(token) > 100:
        return None
    async with request.app[HUB].reads() as session:
        row = (await session.execute(CURRENT.where(AgentSession.token_hash == token_hash(token)))).first()
    if row is None:
        return None
    agent, signed_in = row
    if signed_in.revoked_at is not None or signed_in.expires_at <= utcnow():
        return None
    if not agent.active or not agent.password_hash or signed_in.password_stamp != password_stamp(agent):
        return None
    # The workspace speaks the agent's language and shows times in their zone.
    reader = current_reader()
    set_reader(Reader(person_locale(agent.language, request.app[HUB].settings.i18n, reader.locale), agent.timezone or "UTC"))
    return Person(
        id=agent.id, name=agent.name, email=agent.email, role=agent.role, presence=agent.presence, session_id=signed_in.id
    )


async def require_person(request: web.Request, role: str) -> Person:
    """The signed-in person holding at least `role`.

    A browser that is not signed in is sent to the login page and brought back
    afterwards; a signed-in person without the role gets 403.
    """
    person = await current_person(request)
    if person is None:
        target = request.path_qs if request.method == "GET" else request.path
        raise web.HTTPSeeOther(f"/login?next={quote(target, safe='/')}")
    if not person.principal.has_role(role):
        raise ForbiddenError(_("This page is for the {role} role; you are signed in as {current}.", role=_(role), current=_(person.role)))
    return person


def safe_next(target: str) -> str:
    """Only a path on this site: never `//evil.example` or `https://…` (an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/agent"
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/agent"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/agent"
    return target


def is_secure(request: web.Request) -> bool:
    return request.app[HUB].settings.http.public_url.startswith("https://")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    hub = request.app[HUB]
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(hub.settings.workspace.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=is_secure(request),
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE_NAME, path="/", secure=is_secure(request), httponly=True, samesite="Lax")


def form_token(request: web.Request, response_cookies: dict[str, str]) -> str:
    """A CSRF token for a form on this page; the cookie it needs goes into `response_cookies`."""
    cookie = request.cookies.get(csrf.COOKIE_NAME) or response_cookies.get(csrf.COOKIE_NAME) or csrf.new_cookie_value()
    response_cookies[csrf.COOKIE_NAME] = cookie
    return csrf.issue_token(request.app[HUB].secret_key, cookie)


def set_csrf_cookie(request: web.Request, response: web.StreamResponse, cookies: dict[str, str]) -> None:
    if csrf.COOKIE_NAME in cookies and request.cookies.get(csrf.COOKIE_NAME) != cookies[csrf.COOKIE_NAME]:
        response.set_cookie(
            csrf.COOKIE_NAME,
            cookies[csrf.COOKIE_NAME],
            max_age=30 * 24 * 3600,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=is_secure(request),
        )


def check_form(request: web.Request, form: Mapping[str, object]) -> None:
    """Refuse a post whose CSRF token does not match this browser's cookie."""
    token = str(form.get("csrf_token", ""))
    cookie = request.cookies.get(csrf.COOKIE_NAME, "")
    if csrf.check_token(request.app[HUB].secret_key, token, cookie) is None:
        raise ForbiddenError(_("This form has expired or did not come from this site. Reload the page and try again."), code="csrf")


def private_page(request: web.Request, person: Person | None, name: str, *, status: int = 200, **values: object) -> web.Response:
    """A workspace page: CSRF token for its forms, never cached (it shows customer data)."""
    cookies: dict[str, str] = {}
    token = form_token(request, cookies)
    response = render_page(name, status=status, person=person, csrf_token=token, path=request.path, **values)
    response.headers["Cache-Control"] = "no-store"
    set_csrf_cookie(request, response, cookies)
    return response


def see_other(location: str) -> web.Response:
    """303 after a post, so reloading the next page does not post again."""
    return web.Response(status=303, headers={"Location": location})
