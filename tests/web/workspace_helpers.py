"""Driving the browser workspace like a browser: sign in, read a form's CSRF token, post."""

from __future__ import annotations

import asyncio
import json
import re

from contactcenter.db.models import Agent
from contactcenter.web.auth import hash_password

PASSWORD = "correct horse battery"


async def add_agent(hub, email: str = "ada@example.com", role: str = "agent", name: str = "Ada Agent", **extra) -> int:
    async with hub.sessions() as session, session.begin():
        agent = Agent(email=email, name=name, role=role, password_hash=await hash_password(PASSWORD), **extra)
        session.add(agent)
    return agent.id


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def sign_in(client, email: str = "ada@example.com", password: str = PASSWORD, next_path: str = "/agent"):
    page = await (await client.get("/login")).text()
    return await client.post(
        "/login",
        data={"email": email, "password": password, "next": next_path, "csrf_token": csrf_token(page)},
        allow_redirects=False,
    )


async def form_token(client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return csrf_token(await response.text())


async def next_event(response, name: str, deadline: float) -> dict:
    """The data of the next server-sent event called `name`; fails when none comes in time."""
    async with asyncio.timeout(deadline):
        current = ""
        while True:
            line = (await response.content.readline()).decode()
            if line == "":
                raise AssertionError("the stream ended")
            if line.startswith("event: "):
                current = line[7:].strip()
            elif line.startswith("data: ") and current == name:
                return json.loads(line[6:])
