"""In a real browser: a supervisor gives a waiting ticket to an agent from the board,
and the agent's open inbox shows it without a reload."""

from __future__ import annotations

import re

from sqlalchemy import select

from contactcenter.db.models import Queue
from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound
from tests.web.workspace_helpers import PASSWORD, add_agent


async def signed_in_page(browser, client, email: str, path: str, viewport=None):
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(str(client.make_url(f"/login?next={path}")))
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"**{path}")
    return context, page


async def test_a_reassigned_ticket_appears_in_the_agents_inbox_without_a_reload(browser, client, hub, database_url):
    await add_agent(hub, email="sam@example.com", name="Sam Supervisor", role="supervisor")
    await add_agent(hub, email="ada@example.com", name="Ada Agent", presence="available")
    result = await ingest(hub, make_inbound(email="dana@example.com", subject="Broken zip"))
    reference = f"CC-{result.ticket_id:06d}"
    async with hub.sessions() as session:
        queue_id = await session.scalar(select(Queue.id).where(Queue.name == "general"))

    agent_context, inbox = await signed_in_page(browser, client, "ada@example.com", "/agent")
    mine = inbox.locator("#mine + table tbody")
    assert reference not in await mine.inner_text()
    await inbox.evaluate("window.__loadedOnce = true")  # gone if the page reloads

    boss_context, board = await signed_in_page(browser, client, "sam@example.com", "/supervisor")
    engine = database_url.partition(":")[0].partition("+")[0]
    await board.screenshot(path=screenshot_path(f"board-{engine}"), full_page=True)
    await board.click(f"tr[data-queue='{queue_id}'] th a")
    await board.wait_for_url(f"**/supervisor/queues/{queue_id}")
    row = board.locator(f"tr[data-reference='{reference}']")
    await row.locator("select[name=target]").select_option(label="Ada Agent (available)")
    await row.locator("button[type=submit]").click()
    await board.wait_for_selector("p.notice")
    await board.screenshot(path=screenshot_path(f"board-queue-{engine}"), full_page=True)

    # Locators wait without evaluating strings, which the page's CSP forbids.
    await inbox.locator(f"#mine + table tbody tr[data-reference='{reference}']").wait_for(timeout=10000)
    assert await inbox.evaluate("window.__loadedOnce === true"), "the inbox reloaded instead of updating"
    await inbox.screenshot(path=screenshot_path(f"inbox-live-{engine}"), full_page=True)

    from playwright.async_api import expect  # here: the browser fixture skips when Playwright is missing

    wall = await boss_context.new_page()
    await wall.set_viewport_size({"width": 1600, "height": 900})
    await wall.goto(str(client.make_url("/supervisor/wallboard")))
    await expect(wall.locator("#live-state")).to_have_text(re.compile(r"^live"), timeout=10000)
    assert await wall.locator("[data-total=waiting]").inner_text() == "0"
    await wall.screenshot(path=screenshot_path(f"wallboard-{engine}"))
    await agent_context.close()
    await boss_context.close()
