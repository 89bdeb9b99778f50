"""Sessions end on the server: logout, a password change and an admin's revocation;
guessing slows down per address and account without locking the owner out."""

from __future__ import annotations

import aiohttp

from contactcenter.web import sessions
from tests.polling import eventually
from tests.web.workspace_helpers import PASSWORD, add_agent, csrf_token, form_token, sign_in


async def test_a_copied_session_cookie_stops_working_after_logout(client, hub):
    await add_agent(hub)
    await sign_in(client)
    copied = {"Cookie": f"{sessions.COOKIE_NAME}={_session_cookie(client)}"}
    async with aiohttp.ClientSession() as thief:
        assert (await thief.get(client.make_url("/agent"), headers=copied, allow_redirects=False)).status == 200
        await client.post("/logout", data={"csrf_token": await form_token(client, "/agent")}, allow_redirects=False)
        response = await thief.get(client.make_url("/agent"), headers=copied, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")


def _session_cookie(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[sessions.COOKIE_NAME].value


async def test_changing_the_password_ends_every_session(client, hub):
    await add_agent(hub)
    await sign_in(client)
    copied = {"Cookie": f"{sessions.COOKIE_NAME}={_session_cookie(client)}"}
    async with aiohttp.ClientSession() as other:
        assert (await other.get(client.make_url("/agent"), headers=copied, allow_redirects=False)).status == 200
    token = await form_token(client, "/agent/password")
    short = await client.post("/agent/password", data={"csrf_token": token, "current": PASSWORD, "new": "short", "repeat": "short"})
    assert short.status == 400 and "at least 10 characters" in await short.text()
    new = "a much longer password"
    response = await client.post(
        "/agent/password", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new}, allow_redirects=False
    )
    assert response.status == 303
    async with aiohttp.ClientSession() as old:
        assert (await old.get(client.make_url("/agent"), headers=copied, allow_redirects=False)).status == 303
    assert (await sign_in(client)).status == 401
    assert (await sign_in(client, password=new)).status == 303


async def test_an_admin_sees_sessions_and_ends_one(aiohttp_client, client, hub):
    await add_agent(hub)
    await add_agent(hub, email="root@example.com", role="admin", name="Rita Root")
    agent = await aiohttp_client(client.server)
    await sign_in(agent)
    assert (await agent.get("/agent")).status == 200
    await sign_in(client, email="root@example.com")
    page = await client.get("/admin/sessions")
    text = await page.text()
    assert page.status == 200 and "Ada Agent" in text and "Rita Root" in text
    ada_session = text.split("Ada Agent")[0].rsplit('data-session="', 1)[1].split('"')[0]
    response = await client.post(f"/admin/sessions/{ada_session}/revoke", data={"csrf_token": csrf_token(text)}, allow_redirects=False)
    assert response.status == 303
    assert (await agent.get("/agent", allow_redirects=False)).status == 303
    assert "Ada Agent" not in await (await client.get("/admin/sessions")).text()
    assert (await agent.get("/admin/sessions", allow_redirects=False)).status == 303
    await sign_in(agent)
    assert (await agent.get("/admin/sessions", allow_redirects=False)).status == 403


async def _sign_in_from(client, address: str, password: str) -> int:
    """A sign-in from another loopback address (Linux routes all of 127/8 to this host)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        page = await (await browser.get(client.make_url("/login"))).text()
        response = await browser.post(
            client.make_url("/login"),
            data={"email": "ada@example.com", "password": password, "csrf_token": csrf_token(page)},
            allow_redirects=False,
        )
        return response.status


async def test_ten_wrong_passwords_from_one_address_do_not_lock_the_owner_out(client, hub):
    await add_agent(hub)
    wrong = [await _sign_in_from(client, "127.0.0.2", "guess") for _ in range(10)]
    assert set(wrong) <= {401, 429} and 401 in wrong
    assert await _sign_in_from(client, "127.0.0.2", PASSWORD) == 429  # the guesser waits
    # The owner, elsewhere, waits a few seconds at most (the account's delay is capped).
    await eventually(lambda: _signed_in_from_elsewhere(client), timeout=hub.settings.workspace.login_account_max_delay_seconds + 3, interval=0.3, what="the owner signed in")


async def _signed_in_from_elsewhere(client) -> bool:
    return await _sign_in_from(client, "127.0.0.3", PASSWORD) == 303
