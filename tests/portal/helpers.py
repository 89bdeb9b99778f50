"""Signing a customer in to the portal the way a browser does: ask for the link, open it, press the button."""

from __future__ import annotations

import re

from sqlalchemy import select

from contactcenter.db.models import OutboxMessage
from contactcenter.portal.visitors import COOKIE_NAME
from tests.web.workspace_helpers import csrf_token

LINK = re.compile(r"/portal/link/([A-Za-z0-9_-]+)")


async def ask_for_link(client, email: str):
    page = await (await client.get("/portal")).text()
    return await client.post("/portal/sign-in", data={"email": email, "csrf_token": csrf_token(page)})


async def queued_link_token(hub, email: str) -> str:
    """The token of the latest sign-in link queued for `email` (read from the outbox, before any relay)."""
    async with hub.sessions() as session:
        payloads = list(await session.scalars(select(OutboxMessage.payload).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id)))
    tokens = [m.group(1) for p in payloads if (m := LINK.search(p.get("text", "")))]
    assert tokens, f"no sign-in link queued for {email}"
    return tokens[-1]


async def use_link(client, token: str):
    page = await client.get(f"/portal/link/{token}")
    text = await page.text()
    if page.status != 200:
        return page
    return await client.post(f"/portal/link/{token}", data={"csrf_token": csrf_token(text)}, allow_redirects=False)


async def sign_in(client, hub, email: str) -> str:
    """Sign `email`'s customer in on `client`; -> the portal cookie's value."""
    asked = await ask_for_link(client, email)
    assert asked.status == 200, await asked.text()
    response = await use_link(client, await queued_link_token(hub, email))
    assert response.status == 303, await response.text()
    return response.cookies[COOKIE_NAME].value
