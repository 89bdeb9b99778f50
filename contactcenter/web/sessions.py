"""Who is using the browser workspace: signed session cookies for people.

The cookie holds `agent_id.expires.signature`; nothing is stored server-side.
The signature also covers the agent's current password hash, so changing a
password ends every session signed before it. Each request loads the agent,
so a deactivated agent or a changed role takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web

from contactcenter.db.models import Agent
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

    @property
    def principal(self) -> Principal:
        return Principal(actor=f"agent:{self.id}", role=self.role, agent_id=self.id)


def make_cookie_value(secret: str, agent: Agent, lifetime_seconds: float, now: float | None = None) -> str:
    expires = str(int((now if now is not None else time.time()) + lifetime_seconds))
    return f"{agent.id}.{expires}.{_sign(secret, str(agent.id), expires, agent.password_hash)}"


def read_cookie_value(value: str, now: float | None = None) -> tuple[int, int] | None:
    """(agent id, expiry) when the value is well formed and unexpired; the signature is checked later."""
    try:
        agent_id, expires, _signature = value.split(".")
        parsed = int(agent_id), int(expires)
    except ValueError:
        return None
    return parsed if parsed[1] > (now if now is not None else time.time()) else None


def signature_matches(secret: str, value: str, agent: Agent) -> bool:
    agent_id, expires, signature = value.split(".")
    return hmac.compare_digest(signature, _sign(secret, agent_id, expires, agent.password_hash))


def _sign(secret: str, agent_id: str, expires: str, password_hash: str) -> str:
    message = f"session:{agent_id}:{expires}:{password_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def current_person(request: web.Request) -> Person | None:
    value = request.cookies.get(COOKIE_NAME, "")
    parsed = read_cookie_value(value)
    if parsed is None:
        return None
    hub = request.app[HUB]
    async with hub.reads() as session:
        agent = await session.get(Agent, parsed[0])
    if agent is None or not agent.active or not agent.password_hash or not signature_matches(hub.secret_key, value, agent):
        return None
    # The workspace speaks the agent's language and shows times in their zone.
    reader = current_reader()
    set_reader(Reader(person_locale(agent.language, hub.settings.i18n, reader.locale), agent.timezone or "UTC"))
    return Person(id=agent.id, name=agent.name, email=agent.email, role=agent.role, presence=agent.presence)


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


def set_session_cookie(request: web.Request, response: web.StreamResponse, agent: Agent) -> None:
    hub = request.app[HUB]
    lifetime = hub.settings.workspace.session_hours * 3600
    response.set_cookie(
        COOKIE_NAME,
        make_cookie_value(hub.secret_key, agent, lifetime),
        max_age=int(lifetime),
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
