"""The public contact form in a real browser, at phone width: a customer fills it in and sees their reference."""

from __future__ import annotations

import re

from tests.browser import screenshot_path


async def test_a_customer_on_a_phone_sends_the_form_and_sees_the_reference(browser, client, database_url):
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(str(client.make_url("/contact")))
    await page.fill("input[name=name]", "Dana Roe")
    await page.fill("input[name=email]", "dana@example.com")
    await page.fill("input[name=subject]", "Broken zip")
    await page.fill("textarea[name=message]", "The zip on my bag broke.")
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the form scrolls sideways by {overflow} px at 390 px"
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-reference]")
    reference = await page.get_attribute("[data-reference]", "data-reference")
    assert re.fullmatch(r"CC-\d{6}", reference)
    assert reference in await page.inner_text("body")
    engine = database_url.partition(":")[0].partition("+")[0]
    await page.screenshot(path=screenshot_path(f"contact-sent-{engine}"), full_page=True)
    await context.close()
