"""The public contact form, driven like a browser: GET, fill in, POST."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from contactcenter.db.models import Interaction, Ticket

FIELDS = {"name": "Dana Roe", "email": "dana@example.com", "phone": "", "subject": "Broken zip", "message": "The zip on my bag broke.", "type": "complaint"}


async def open_form(client) -> str:
    response = await client.get("/contact")
    assert response.status == 200
    page = await response.text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def count(hub, model) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_submitting_the_form_shows_the_ticket_reference(client, hub):
    token = await open_form(client)
    response = await client.post("/contact", data={**FIELDS, "csrf_token": token})
    assert response.status == 200
    page = await response.text()
    reference = re.search(r'data-reference="(CC-\d{6})"', page).group(1)
    async with hub.sessions() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket.reference == reference and ticket.type == "complaint"


async def test_the_same_form_posted_twice_is_one_contact(client, hub):
    token = await open_form(client)
    first = await client.post("/contact", data={**FIELDS, "csrf_token": token})
    second = await client.post("/contact", data={**FIELDS, "csrf_token": token})
    assert first.status == second.status == 200
    assert await count(hub, Interaction) == 1


async def test_field_errors_show_next_to_fields_and_keep_input(client, hub):
    token = await open_form(client)
    response = await client.post("/contact", data={**FIELDS, "email": "dana@", "message": "", "csrf_token": token})
    assert response.status == 400
    page = await response.text()
    assert 'id="email-error"' in page and 'id="message-error"' in page
    assert 'value="Broken zip"' in page  # what the person typed is still there
    assert await count(hub, Interaction) == 0


async def test_post_without_csrf_token_is_refused(client, hub):
    await open_form(client)
    response = await client.post("/contact", data=FIELDS)
    assert response.status == 400
    assert "expired" in await response.text()
    # A token minted for another browser's cookie does not work either.
    token = await open_form(client)
    client.session.cookie_jar.clear()
    response = await client.post("/contact", data={**FIELDS, "csrf_token": token})
    assert response.status == 400
    assert await count(hub, Interaction) == 0


async def test_honeypot_drops_bots_quietly(client, hub):
    token = await open_form(client)
    response = await client.post("/contact", data={**FIELDS, "website": "http://spam.example", "csrf_token": token})
    assert response.status == 200
    assert await count(hub, Interaction) == 0


async def test_rate_limit_per_address(client, hub):
    limit = hub.settings.web.rate_limit_per_minute
    statuses = []
    for _ in range(limit + 2):
        token = await open_form(client)
        statuses.append((await client.post("/contact", data={**FIELDS, "csrf_token": token})).status)
    assert statuses[:limit] == [200] * limit
    assert statuses[limit:] == [429, 429]
    assert await count(hub, Interaction) == limit


async def test_oversized_post_is_refused(client, hub):
    token = await open_form(client)
    response = await client.post("/contact", data={**FIELDS, "message": "x" * 1_000_000, "csrf_token": token})
    assert response.status == 413
    assert "too large" in await response.text()
    assert await count(hub, Interaction) == 0


async def test_page_is_escaped_and_framing_is_forbidden(client):
    token = await open_form(client)
    response = await client.post("/contact", data={**FIELDS, "email": "<script>alert(1)</script>", "csrf_token": token})
    page = await response.text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
