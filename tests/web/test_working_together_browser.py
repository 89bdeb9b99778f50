"""Two agents on one ticket, in two real browsers: each sees the other, "is replying", and the other's reply, live."""

from __future__ import annotations

import pytest

from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound, settings_with
from tests.web.browser_helpers import browser_sign_in, engine_of
from tests.web.workspace_helpers import add_agent


@pytest.fixture
def settings(settings):
    # A stream notices a browser that left when it next writes: every refresh.
    return settings_with(settings, workspace={"board_refresh_seconds": 2.0})


async def test_two_agents_see_each_other_and_each_others_replies(browser, client, hub, database_url):
    await add_agent(hub, name="Ada Agent")
    await add_agent(hub, email="bea@example.com", name="Bea Agent")
    ticket = await ingest(hub, make_inbound(subject="Refund for order 88", text="Please refund order 88."))
    path = str(client.make_url(f"/agent/tickets/{ticket.reference}"))

    ada_context, ada = await browser_sign_in(browser, client, "ada@example.com")
    bea_context, bea = await browser_sign_in(browser, client, "bea@example.com")
    await ada.goto(path)
    await bea.goto(path)
    await ada.locator("#viewers", has_text="Bea Agent also viewing this ticket").wait_for(timeout=10_000)
    await bea.locator("#viewers", has_text="Ada Agent also viewing this ticket").wait_for(timeout=10_000)

    await bea.type("#reply-text", "Refund is on")
    await ada.locator("#viewers", has_text="Bea Agent is replying").wait_for(timeout=10_000)
    await bea.fill("#reply-text", "Refund is on its way, 3-5 days.")
    await bea.click("#reply button[type=submit]")
    # No reload on Ada's side: Bea's reply arrives in her open timeline.
    await ada.locator("#timeline-items li", has_text="Refund is on its way, 3-5 days.").wait_for(timeout=10_000)
    assert "Bea Agent replied" in await ada.locator("#timeline-items li", has_text="Refund is on its way").inner_text()
    await ada.screenshot(path=screenshot_path(f"ticket-two-agents-{engine_of(database_url)}"), full_page=True)

    await ada.fill("#note-text", "Checked with billing: approved.")
    await ada.click("#note button[type=submit]")
    await bea.locator("#timeline-items li", has_text="Checked with billing: approved.").wait_for(timeout=10_000)
    # The status Ada's reply would change shows on Bea's page too once Ada changes it.
    await ada.select_option("#set-priority", "4")
    await ada.click("#settings button[type=submit]")
    await bea.locator("#ticket-head", has_text="urgent").wait_for(timeout=10_000)

    await bea_context.close()  # Bea leaves: Ada's page says so
    await ada.locator("#viewers:empty").wait_for(state="attached", timeout=10_000)
    await ada_context.close()
