"""Driving the workspace in the real browser: sign in, read what the page shows, check widths."""

from __future__ import annotations

from tests.web.workspace_helpers import PASSWORD


async def browser_sign_in(browser, client, email: str, *, width: int = 1280, height: int = 900):
    """A fresh browser context signed in as `email`; returns (context, page) on the inbox."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    await page.goto(str(client.make_url("/login")))
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_selector("#inbox-lists")
    return context, page


async def sideways_scroll(page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits the window)."""
    return await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def engine_of(database_url: str) -> str:
    return database_url.partition(":")[0].partition("+")[0]
