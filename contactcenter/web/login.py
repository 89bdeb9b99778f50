"""Signing people in and out of the browser workspace.

One message for every failed sign-in (unknown email, wrong password, no
password set, deactivated), and the password check runs even for an unknown
email, so neither the words nor the timing tell whether an account exists.
Attempts are limited per client address and per email typed.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import select

from contactcenter.db.models import Agent
from contactcenter.i18n import N_, gettext as _
from contactcenter.keys import HUB, LOGIN_ACCOUNT_LIMIT, LOGIN_ADDRESS_LIMIT
from contactcenter.identity.normalize import mask
from contactcenter.web.auth import check_password, hash_password
from contactcenter.web.ratelimit import RateLimiter
from contactcenter.web.sessions import (
    check_form,
    clear_session_cookie,
    current_person,
    private_page,
    safe_next,
    see_other,
    set_session_cookie,
)

log = logging.getLogger(__name__)

FAILED = N_("The email or password is not right.")
LIMITED = N_("Too many sign-in attempts. Please wait a few minutes and try again.")
_dummy_hash: list[str] = []  # made once, for unknown emails (same work as a real check)


def setup_login(app: web.Application) -> None:
    workspace = app[HUB].settings.workspace
    window = workspace.login_window_minutes * 60
    app[LOGIN_ADDRESS_LIMIT] = RateLimiter(workspace.login_attempts_per_address, window)
    app[LOGIN_ACCOUNT_LIMIT] = RateLimiter(workspace.login_attempts_per_account, window)
    app.router.add_get("/login", handle_login_form)
    app.router.add_post("/login", handle_login)
    app.router.add_post("/logout", handle_logout)


async def handle_login_form(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next", "/agent"))
    if await current_person(request) is not None:
        raise web.HTTPSeeOther(target)
    return private_page(request, None, "login.html", next=target, email="", error="")


async def handle_login(request: web.Request) -> web.Response:
    form = await request.post()
    check_form(request, form)
    email = str(form.get("email", "")).strip().lower()[:320]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/agent")))

    def refuse(message: str, status: int) -> web.Response:
        return private_page(request, None, "login.html", status=status, next=target, email=email, error=_(message))

    address_ok = request.app[LOGIN_ADDRESS_LIMIT].allow(request.remote or "unknown")
    if not address_ok or not request.app[LOGIN_ACCOUNT_LIMIT].allow(email):
        log.warning("login: rate limited for %s from %s", mask(email), request.remote)
        return refuse(LIMITED, 429)
    async with request.app[HUB].reads() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == email)) if email else None
    stored = agent.password_hash if agent is not None and agent.active and agent.password_hash else await _dummy()
    if not await check_password(password, stored) or agent is None or not agent.active:
        log.info("login: failed for %s from %s", mask(email), request.remote)
        return refuse(FAILED, 401)
    log.info("login: agent %s signed in", agent.id)
    response = see_other(target)
    set_session_cookie(request, response, agent)
    return response


async def handle_logout(request: web.Request) -> web.Response:
    form = await request.post()
    check_form(request, form)
    response = see_other("/login")
    clear_session_cookie(request, response)
    return response


async def _dummy() -> str:
    if not _dummy_hash:
        _dummy_hash.append(await hash_password("not a real password"))
    return _dummy_hash[0]
