"""The widget on another site's page, in Chromium: a customer and an agent chat live."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from sqlalchemy import func, select

from contactcenter.app import create_app
from contactcenter.chat.sockets import CHAT_SOCKETS
from contactcenter.db.models import Interaction, Ticket
from tests.chat.helpers import chat_settings
from tests.polling import eventually
from tests.web.browser_helpers import browser_sign_in
from tests.web.workspace_helpers import add_agent


@pytest.fixture
async def site(aiohttp_server):
    """A third-party page on its own origin that embeds the widget of the hub at `site.hub["url"]`."""
    hub: dict[str, str] = {}

    async def page(request: web.Request) -> web.Response:
        hub_url = hub["url"]
        return web.Response(
            text=f'<!doctype html><html lang="{hub.get("lang", "en")}"><body><h1>Shop</h1>'
            f'<script src="{hub_url}/chat/widget.js"></script></body></html>',
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/", page)
    server = await aiohttp_server(app)
    server.hub = hub
    return server


async def count_chat(hub, text: str) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Interaction).where(Interaction.text == text))


async def test_a_customer_and_an_agent_chat_live_across_a_dropped_connection(browser, aiohttp_client, hub, site):
    origin = f"http://127.0.0.1:{site.port}"
    hub.settings = chat_settings(hub.settings, allowed_origins=[origin])
    app = create_app(hub.settings, hub)
    client = await aiohttp_client(app)
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    await add_agent(hub, presence="available")

    customer_context = await browser.new_context()
    customer = await customer_context.new_page()
    await customer.goto(f"{origin}/")
    await customer.click(".cc-chat-toggle")
    await customer.fill(".cc-chat-prechat input[name=name]", "Alice Visitor")
    await customer.fill(".cc-chat-prechat input[name=email]", "alice@example.com")
    await customer.keyboard.press("Enter")
    await customer.fill(".cc-chat-compose textarea", "Hello, my order 42 is late")
    await customer.keyboard.press("Enter")

    async def the_ticket():
        async with hub.sessions() as session:
            return await session.scalar(select(Ticket))

    ticket = await eventually(the_ticket, timeout=10, what="the chat ticket")
    _, agent = await browser_sign_in(browser, client, "ada@example.com")
    await agent.goto(str(client.make_url(f"/agent/tickets/{ticket.reference}")))
    await agent.locator("#timeline-items li", has_text="Hello, my order 42 is late").wait_for(timeout=10_000)
    await customer.fill(".cc-chat-compose textarea", "Are you there?")
    await customer.keyboard.press("Enter")
    await agent.locator("#timeline-items li", has_text="Are you there?").wait_for(timeout=10_000)  # live, no reload

    await agent.fill("#reply-text", "Yes, looking at order 42 now.")
    await agent.click("#reply button[type=submit]")
    started = time.monotonic()
    await customer.locator(".cc-chat-agent", has_text="Yes, looking at order 42 now.").wait_for(timeout=5_000)
    assert time.monotonic() - started < 1.0

    # The hub cuts the connection; both sides write while it is down or coming back.
    for connection in app[CHAT_SOCKETS].open_on(ticket.reference):
        await connection.close()
    await customer.fill(".cc-chat-compose textarea", "Written while cut off")
    await customer.keyboard.press("Enter")
    await agent.fill("#reply-text", "Answered while you were away.")
    await agent.click("#reply button[type=submit]")
    await customer.locator(".cc-chat-agent", has_text="Answered while you were away.").wait_for(timeout=10_000)
    await agent.locator("#timeline-items li", has_text="Written while cut off").wait_for(timeout=10_000)

    # A reload keeps the conversation, each message once (in the order the hub stored them:
    # the answer may come before what the customer wrote while cut off).
    await customer.reload()
    await customer.click(".cc-chat-toggle")
    await customer.locator(".cc-chat-agent", has_text="Answered while you were away.").wait_for(timeout=10_000)
    lines = await customer.locator(".cc-chat-log li").all_inner_texts()
    assert sorted(line.split(": ", 1)[1] for line in lines) == sorted([
        "Hello, my order 42 is late", "Are you there?", "Yes, looking at order 42 now.",
        "Written while cut off", "Answered while you were away.",
    ])
    for text in ("Hello, my order 42 is late", "Written while cut off", "Answered while you were away."):
        assert await count_chat(hub, text) == 1
    await customer_context.close()


async def test_a_page_of_a_disallowed_origin_gets_no_chat(browser, aiohttp_client, hub, site):
    hub.settings = chat_settings(hub.settings, allowed_origins=["https://shop.example"])
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"http://127.0.0.1:{site.port}/")
    await page.click(".cc-chat-toggle")
    await page.fill(".cc-chat-prechat input[name=name]", "Mallory")
    await page.keyboard.press("Enter")
    await page.locator(".cc-chat-status", has_text="Connection lost").wait_for(timeout=10_000)
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0


async def start_chat(browser, site, origin: str, *, init_script: str = ""):
    context = await browser.new_context()
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(f"{origin}/")
    await page.click(".cc-chat-toggle")
    await page.fill(".cc-chat-prechat input[name=name]", "Alice Visitor")
    await page.fill(".cc-chat-prechat input[name=email]", "alice@example.com")
    await page.keyboard.press("Enter")
    return context, page


async def first_ticket(hub):
    async def the_ticket():
        async with hub.sessions() as session:
            return await session.scalar(select(Ticket))

    return await eventually(the_ticket, timeout=10, what="the chat ticket")


async def test_where_websockets_are_blocked_the_widget_chats_over_server_sent_events(browser, aiohttp_client, hub, site):
    origin = f"http://127.0.0.1:{site.port}"
    hub.settings = chat_settings(hub.settings, allowed_origins=[origin])
    app = create_app(hub.settings, hub)
    client = await aiohttp_client(app)
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    await add_agent(hub, presence="available")
    customer_context, customer = await start_chat(browser, site, origin, init_script="window.WebSocket = undefined;")
    await customer.fill(".cc-chat-compose textarea", "Hello without a socket")
    await customer.keyboard.press("Enter")
    ticket = await first_ticket(hub)

    _, agent = await browser_sign_in(browser, client, "ada@example.com")
    await agent.goto(str(client.make_url(f"/agent/tickets/{ticket.reference}")))
    await agent.locator("#timeline-items li", has_text="Hello without a socket").wait_for(timeout=10_000)
    assert await agent.locator("#reply-channel").count() == 1 and await agent.get_by_text("By email to").count() == 0
    await customer.fill(".cc-chat-compose textarea", "Still there?")
    await customer.keyboard.press("Enter")
    await agent.locator("#timeline-items li", has_text="Still there?").wait_for(timeout=10_000)

    await eventually(lambda: app[CHAT_SOCKETS].open_on(ticket.reference), timeout=10, what="the widget's event stream on the ticket")
    assert all(connection.socket is None for connection in app[CHAT_SOCKETS].open_on(ticket.reference))  # no WebSocket at all
    await agent.fill("#reply-text", "Yes, over the event stream.")
    await agent.click("#reply button[type=submit]")
    started = time.monotonic()
    await customer.locator(".cc-chat-agent", has_text="Yes, over the event stream.").wait_for(timeout=5_000)
    assert time.monotonic() - started < 1.0

    # The hub cuts the stream; both sides write while it is down or coming back.
    for connection in app[CHAT_SOCKETS].open_on(ticket.reference):
        await connection.close()
    await customer.fill(".cc-chat-compose textarea", "Written while the stream was cut")
    await customer.keyboard.press("Enter")
    await agent.fill("#reply-text", "Answered while the stream was away.")
    await agent.click("#reply button[type=submit]")
    await customer.locator(".cc-chat-agent", has_text="Answered while the stream was away.").wait_for(timeout=10_000)
    await agent.locator("#timeline-items li", has_text="Written while the stream was cut").wait_for(timeout=10_000)
    await eventually(lambda: customer.evaluate("JSON.parse(localStorage.getItem(Object.keys(localStorage)[0])).pending.length === 0"),
                     timeout=10, what="every message acknowledged")

    await customer.reload()
    await customer.click(".cc-chat-toggle")
    await customer.locator(".cc-chat-agent", has_text="Answered while the stream was away.").wait_for(timeout=10_000)
    lines = await customer.locator(".cc-chat-log li").all_inner_texts()
    assert sorted(line.split(": ", 1)[1] for line in lines) == sorted([
        "Hello without a socket", "Still there?", "Yes, over the event stream.",
        "Written while the stream was cut", "Answered while the stream was away.",
    ])
    for text in ("Hello without a socket", "Written while the stream was cut", "Answered while the stream was away."):
        assert await count_chat(hub, text) == 1
    await customer_context.close()


async def test_typing_both_ways_an_attachment_and_the_agent_ending_the_chat(browser, aiohttp_client, hub, site, tmp_path):
    origin = f"http://127.0.0.1:{site.port}"
    hub.settings = chat_settings(hub.settings, allowed_origins=[origin])
    app = create_app(hub.settings, hub)
    client = await aiohttp_client(app)
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    await add_agent(hub, presence="available")
    customer_context, customer = await start_chat(browser, site, origin)
    await customer.fill(".cc-chat-compose textarea", "My parcel arrived broken")
    await customer.keyboard.press("Enter")
    ticket = await first_ticket(hub)
    _, agent = await browser_sign_in(browser, client, "ada@example.com")
    await agent.goto(str(client.make_url(f"/agent/tickets/{ticket.reference}")))
    await agent.locator("#timeline-items li", has_text="My parcel arrived broken").wait_for(timeout=10_000)

    # The visitor types: the agent's page says so; the agent types: the widget says so.
    await eventually(lambda: app[CHAT_SOCKETS].open_on(ticket.reference), timeout=10, what="the widget on the ticket")
    # Each side keeps typing, as a person does, until the other side shows it (signals are throttled).
    async def typing_shows(writer, field: str, reader, where: str, text: str) -> bool:
        await writer.locator(field).press("a")
        return await reader.locator(where, has_text=text).count() > 0

    await eventually(lambda: typing_shows(customer, ".cc-chat-compose textarea", agent, "#viewers", "The customer is typing"),
                     timeout=10, interval=0.2, what="the customer's typing on the agent's page")
    await eventually(lambda: typing_shows(agent, "#reply-text", customer, ".cc-chat-typing", "The agent is typing"),
                     timeout=10, interval=0.2, what="the agent's typing in the widget")
    await agent.fill("#reply-text", "")

    photo = tmp_path / "broken.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 2000)
    await customer.set_input_files(".cc-chat-compose input[type=file]", str(photo))
    await agent.locator("#timeline-items .attachments a", has_text="broken.png").wait_for(timeout=10_000)

    await agent.click("#end-chat button[type=submit]")
    await customer.locator(".cc-chat-status", has_text="The agent ended the chat.").wait_for(timeout=5_000)
    survey = customer.locator(".cc-chat-survey")
    await survey.wait_for(timeout=5_000)
    assert "/survey/" in await survey.get_attribute("href")
    await agent.locator("#timeline-items li", has_text="Chat ended by Ada Agent").wait_for(timeout=10_000)
    # The transcript stays on the timeline, message by message.
    for text in ("My parcel arrived broken",):
        assert await count_chat(hub, text) == 1
    await customer_context.close()


async def test_the_widget_speaks_chinese_and_works_from_the_keyboard(browser, aiohttp_client, hub, site):
    origin = f"http://127.0.0.1:{site.port}"
    hub.settings = chat_settings(hub.settings, allowed_origins=[origin])
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    site.hub["lang"] = "zh-CN"
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{origin}/")
    toggle = page.locator(".cc-chat-toggle")
    assert await toggle.inner_text() == "打开聊天"
    await toggle.focus()
    await page.keyboard.press("Enter")
    assert await toggle.get_attribute("aria-expanded") == "true"
    # Focus goes to the first field; every field has a label a screen reader reads.
    assert await page.evaluate("document.activeElement.name") == "name"
    assert await page.get_by_label("您的姓名").count() == 1
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.name") == "email"
    log = page.locator(".cc-chat-log")
    assert await log.get_attribute("role") == "log" and await log.get_attribute("aria-live") == "polite"
    await page.keyboard.press("Escape")
    assert await toggle.get_attribute("aria-expanded") == "false"
    assert await page.evaluate("document.activeElement.className") == "cc-chat-toggle"


BLOCKED_SOCKET = """
window.WebSocket = function () {  // a proxy that refuses the upgrade: the socket closes without opening
  var socket = this;
  socket.readyState = 3;
  socket.send = function () { throw new Error("not open"); };
  setTimeout(function () { if (socket.onclose) socket.onclose({ code: 1006 }); }, 0);
};
"""


async def test_a_websocket_that_never_opens_makes_the_widget_fall_back(browser, aiohttp_client, hub, site):
    origin = f"http://127.0.0.1:{site.port}"
    hub.settings = chat_settings(hub.settings, allowed_origins=[origin])
    app = create_app(hub.settings, hub)
    client = await aiohttp_client(app)
    site.hub["url"] = str(client.make_url("")).rstrip("/")
    await add_agent(hub, presence="available")
    customer_context, customer = await start_chat(browser, site, origin, init_script=BLOCKED_SOCKET)
    await customer.fill(".cc-chat-compose textarea", "Sent through the fallback")
    await customer.keyboard.press("Enter")
    ticket = await first_ticket(hub)
    await eventually(lambda: app[CHAT_SOCKETS].open_on(ticket.reference), timeout=10, what="the widget's event stream")
    assert await count_chat(hub, "Sent through the fallback") == 1
    await customer_context.close()
