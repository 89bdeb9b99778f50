"""Signing people in and out of the browser workspace, and changing passwords.

One message for every failed sign-in (unknown email, wrong password, no
password set, deactivated), and the password check runs even for an unknown
email, so neither the words nor the timing tell whether an account exists.
Repeated failures slow down per address and per account (web/throttle.py);
signing out and changing the password end sessions on the server.
"""

from __future__ import annotations

import logging
import math

from aiohttp import web
from sqlalchemy import select

from contactcenter.actions import audit
from contactcenter.db.models import Agent, AgentSession, utcnow
from contactcenter.identity.normalize import mask
from contactcenter.keys import HUB
from contactcenter.web import throttle
from contactcenter.web.auth import check_password, hash_password
from contactcenter.web.sessions import (
    COOKIE_NAME,
    check_form,
    clear_session_cookie,
    create_session,
    current_person,
    end_sessions,
    private_page,
    require_person,
    safe_next,
    see_other,
    set_session_cookie,
    token_hash,
)

log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 10
_dummy_hash: list[str] = []  # made once, for unknown emails (same work as a real check)


def setup_login(app: web.Application) -> None:
    app.router.add_get("/login", handle_login_form)
    app.router.add_post("/login", handle_login)
    app.router.add_post("/logout", handle_logout)
    app.router.add_get("/agent/password", handle_password_form)
    app.router.add_post("/agent/password", handle_password_change)


async def handle_login_form(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next", "/agent"))
    if await current_person(request) is not None:
        raise web.HTTPSeeOther(target)
    return private_page(request, None, "login.html", next=target, email="", error="", wait=0)


async def handle_login(request: web.Request) -> web.Response:
    form = await request.post()
    check_form(request, form)
    hub = request.app[HUB]
    email = str(form.get("email", "")).strip().lower()[:320]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/agent")))
    address = request.remote or "unknown"
    limits = throttle.limits_for(hub.settings.workspace, address, email)

    def refuse(error: str, status: int, wait: int = 0) -> web.Response:
        response = private_page(request, None, "login.html", status=status, next=target, email=email, error=error, wait=wait)
        if wait:
            response.headers["Retry-After"] = str(wait)
        return response

    async with hub.reads() as session:
        wait = await throttle.seconds_to_wait(session, hub.settings.workspace, limits, utcnow())
        agent = await session.scalar(select(Agent).where(Agent.email == email)) if email and wait <= 0 else None
    if wait > 0:
        log.warning("login: slowed down for %s from %s (%.1f s)", mask(email), address, wait)
        return refuse("wait", 429, max(1, math.ceil(wait)))
    stored = agent.password_hash if agent is not None and agent.active and agent.password_hash else await _dummy()
    if not await check_password(password, stored) or agent is None or not agent.active:
        log.info("login: failed for %s from %s", mask(email), address)
        async with hub.sessions() as session, session.begin():
            await throttle.record_failure(session, hub.settings.workspace, limits, utcnow())
        return refuse("failed", 401)
    async with hub.sessions() as session, session.begin():
        token = create_session(
            session, agent, hours=hub.settings.workspace.session_hours, address=address, user_agent=request.headers.get("User-Agent", "")
        )
    log.info("login: agent %s signed in", agent.id)
    response = see_other(target)
    set_session_cookie(request, response, token)
    return response


async def handle_logout(request: web.Request) -> web.Response:
    form = await request.post()
    check_form(request, form)
    if token := request.cookies.get(COOKIE_NAME, ""):
        async with request.app[HUB].sessions() as session, session.begin():
            signed_in = await session.scalar(select(AgentSession).where(AgentSession.token_hash == token_hash(token)))
            if signed_in is not None:
                await end_sessions(session, session_id=signed_in.id)
    response = see_other("/login")
    clear_session_cookie(request, response)
    return response


async def handle_password_form(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    return private_page(request, person, "agent_password.html", error="")


async def handle_password_change(request: web.Request) -> web.Response:
    """A new password ends every session of the agent, this one too: they sign in again with it."""
    person = await require_person(request, "agent")
    form = await request.post()
    check_form(request, form)
    hub = request.app[HUB]
    current, new = str(form.get("current", ""))[:1024], str(form.get("new", ""))[:1024]
    if len(new) < MIN_PASSWORD_CHARS or new != str(form.get("repeat", "")):
        return private_page(request, person, "agent_password.html", status=400, error="weak")
    async with hub.sessions() as session, session.begin():
        agent = await session.get(Agent, person.id)
        if agent is None or not await check_password(current, agent.password_hash or await _dummy()):
            return private_page(request, person, "agent_password.html", status=400, error="current")
        agent.password_hash = await hash_password(new)
        await end_sessions(session, agent_id=agent.id)
        audit(session, person.principal.actor, "agent.password_changed", agent)
    response = see_other("/login?changed=1")
    clear_session_cookie(request, response)
    return response


async def _dummy() -> str:
    if not _dummy_hash:
        _dummy_hash.append(await hash_password("not a real password"))
    return _dummy_hash[0]
