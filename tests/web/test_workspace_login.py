"""Signing in to the browser workspace: sessions, roles, CSRF, rate limits, redirects."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from contactcenter.app import create_app
from sqlalchemy import update

from contactcenter.db.models import Agent, AgentSession, utcnow
from contactcenter.hub import Hub
from contactcenter.web import csrf, sessions
from contactcenter.web.auth import hash_password
from tests.factories import settings_with
from tests.web.workspace_helpers import PASSWORD, add_agent, csrf_token, sign_in


async def test_a_browser_without_a_session_is_sent_to_login_and_back(client, hub):
    await add_agent(hub)
    response = await client.get("/agent?status=open", allow_redirects=False)
    assert response.status == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/agent?status=open"]}

    response = await sign_in(client, next_path="/agent?status=open")
    assert response.status == 303 and response.headers["Location"] == "/agent?status=open"
    cookie = response.cookies[sessions.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert int(cookie["max-age"]) == int(hub.settings.workspace.session_hours * 3600)
    page = await client.get("/agent?status=open")
    assert page.status == 200 and "Ada Agent" in await page.text()


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, hub):
    await add_agent(hub)
    wrong = await sign_in(client, password="not the password")
    unknown = await sign_in(client, email="nobody@example.com")
    assert wrong.status == unknown.status == 401
    assert "The email or password is not right." in await wrong.text()
    assert "The email or password is not right." in await unknown.text()
    assert sessions.COOKIE_NAME not in wrong.cookies and sessions.COOKIE_NAME not in unknown.cookies
    assert (await client.get("/agent", allow_redirects=False)).status == 303


async def test_an_inactive_agent_cannot_sign_in(client, hub):
    await add_agent(hub, active=False)
    response = await sign_in(client)
    assert response.status == 401 and "not right" in await response.text()


@pytest.fixture
def limited(settings):
    return settings_with(
        settings,
        workspace={"login_attempts_per_account": 3, "login_attempts_per_address": 5, "login_delay_seconds": 30.0},
    )


async def test_failed_sign_ins_slow_down_per_account_then_per_address(aiohttp_client, limited, database_url):
    hub = Hub.create(limited, database_url)
    try:
        client = await aiohttp_client(create_app(limited, hub, workers=False))
        await add_agent(hub)
        statuses = [(await sign_in(client, password="guess")).status for _ in range(3)]
        # The account is being guessed at: the next attempt waits, even with the right password (capped for the owner).
        slowed = await sign_in(client)
        assert statuses == [401, 401, 401] and slowed.status == 429
        assert "Wait 5 seconds" in await slowed.text() and slowed.headers["Retry-After"] == "5"  # the account's cap
        # Other accounts from the same address: two more failures, then the address waits too.
        assert (await sign_in(client, email="other@example.com", password="x")).status == 401
        assert (await sign_in(client, email="third@example.com", password="x")).status == 401
        assert (await sign_in(client, email="fourth@example.com", password="x")).status == 429
    finally:
        await hub.close()


@pytest.mark.parametrize("target", ["//evil.example/agent", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
async def test_next_never_leaves_the_site(client, hub, target):
    await add_agent(hub)
    response = await sign_in(client, next_path=target)
    assert response.status == 303 and response.headers["Location"] == "/agent"


async def test_an_agent_gets_403_on_supervisor_pages(client, hub):
    await add_agent(hub)
    await sign_in(client)
    for path in ("/supervisor", "/supervisor/events", "/supervisor/reports"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
        assert "supervisor role" in await response.text()


async def test_a_supervisor_may_use_agent_pages(client, hub):
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await sign_in(client, email="sam@example.com", next_path="/supervisor")
    assert (await client.get("/agent")).status == 200
    assert (await client.get("/supervisor")).status == 200


async def test_posts_without_a_valid_csrf_token_are_refused(client, hub):
    await add_agent(hub)
    page = await (await client.get("/login")).text()
    response = await client.post("/login", data={"email": "ada@example.com", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403 and sessions.COOKIE_NAME not in response.cookies
    # A token issued to another browser's cookie is no good either.
    token = csrf_token(page)
    client.session.cookie_jar.clear()
    response = await client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 403


async def test_sign_out_ends_the_session(client, hub):
    await add_agent(hub)
    await sign_in(client)
    page = await (await client.get("/agent")).text()
    response = await client.post("/logout", data={"csrf_token": csrf_token(page)}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await client.get("/agent", allow_redirects=False)).status == 303


async def test_sessions_expire_and_end_when_the_password_changes(client, hub):
    agent_id = await add_agent(hub)
    await sign_in(client)
    assert (await client.get("/agent", allow_redirects=False)).status == 200
    async with hub.sessions() as session, session.begin():
        await session.execute(update(AgentSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get("/agent", allow_redirects=False)).status == 303

    await sign_in(client)
    assert (await client.get("/agent", allow_redirects=False)).status == 200
    async with hub.sessions() as session, session.begin():
        (await session.get(Agent, agent_id)).password_hash = await hash_password("a new password")
    assert (await client.get("/agent", allow_redirects=False)).status == 303


async def test_a_forged_session_cookie_is_ignored(client, hub):
    await add_agent(hub, role="admin")
    client.session.cookie_jar.update_cookies({sessions.COOKIE_NAME: "a" * 43})
    assert (await client.get("/supervisor", allow_redirects=False)).status == 303


async def test_cookies_are_secure_behind_https(aiohttp_client, settings, database_url):
    secure = settings_with(settings, http={"public_url": "https://cc.example.com"})
    hub = Hub.create(secure, database_url)
    try:
        client = await aiohttp_client(create_app(secure, hub, workers=False))
        await add_agent(hub)
        form = await client.get("/login")
        csrf_cookie = form.cookies[csrf.COOKIE_NAME]
        assert csrf_cookie["secure"] and csrf_cookie["httponly"]
        # The test talks plain HTTP, so the browser side would not send a
        # Secure cookie back; hand it over as a header instead.
        response = await client.post(
            "/login",
            data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token(await form.text())},
            headers={"Cookie": f"{csrf.COOKIE_NAME}={csrf_cookie.value}"},
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.cookies[sessions.COOKIE_NAME]["secure"]
    finally:
        await hub.close()


async def test_pages_carry_a_strict_content_security_policy(client, hub):
    response = await client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_the_start_page_leads_people_to_their_workspace_and_customers_to_the_form(client, hub):
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/contact"
    await add_agent(hub, email="sam@example.com", role="supervisor")
    await sign_in(client, email="sam@example.com")
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/supervisor"
