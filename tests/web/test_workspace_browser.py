"""An agent's day in a real browser (Debian Chromium via Playwright), on both databases.

Sign in, go available, get a ticket that came by signed Twilio SMS, see the
customer's earlier email, answer by SMS through the Twilio stand-in, and watch
the customer's next SMS arrive on the open page without a reload. Then the
same pages at phone width.
"""

from __future__ import annotations

import time

import pytest

from contactcenter.app import create_app
from contactcenter.contact import ChannelKind
from contactcenter.identity.customers import do_add_contact_point
from contactcenter.db import queries
from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound, settings_with
from tests.polling import eventually
from tests.twilio_standin import params, sign, standin, twilio_settings  # noqa: F401
from tests.web.browser_helpers import browser_sign_in, engine_of, sideways_scroll
from tests.web.workspace_helpers import add_agent

DANA = "+12065550143"  # the sender of the captured SMS
# Signatures are checked against the public URL; plain http keeps the session
# cookie usable on the test's loopback address.
PUBLIC = "http://hub.example.test"


@pytest.fixture
def settings(settings, standin):
    return settings_with(twilio_settings(settings, standin.url), http={"public_url": PUBLIC})


async def _post_sms(client, **changes: str):
    body = params("sms_inbound_basic", **changes)
    return await client.post("/webhooks/twilio/sms", data=body, headers={"X-Twilio-Signature": sign(PUBLIC + "/webhooks/twilio/sms", body)})


async def test_an_agent_answers_an_sms_ticket_and_sees_the_next_sms_arrive_live(browser, aiohttp_client, hub, standin, database_url):
    client = await aiohttp_client(create_app(hub.settings, hub))  # with the assigner and the outbox worker
    await add_agent(hub, name="Ada Agent", presence="offline")
    earlier = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="dana@example.com", name="Dana Roe", evidence="verified",
                                             subject="Where is order 4411?", text="I ordered the blue lamp last week."))
    async with hub.sessions() as session, session.begin():
        customer = await queries.get_customer(session, earlier.customer_id)
        await do_add_contact_point(session, customer, "phone", "(206) 555-0143", hub.settings.identity, "agent:1")
        (await queries.get_ticket(session, earlier.ticket_id)).status = "resolved"  # answered last week

    context, page = await browser_sign_in(browser, client, "ada@example.com")
    await page.select_option("#presence-select", "available")
    await page.click("form.presence button[type=submit]")
    await page.wait_for_selector("#presence-select option[value=available][selected]", state="attached")

    assert (await _post_sms(client)).status == 200
    # The inbox follows the hub: the assigned SMS ticket shows up under "Assigned to you" by itself.
    mine = page.locator("#inbox-lists table.inbox").first.locator("tr[data-reference]")
    await mine.first.wait_for(timeout=15_000)
    reference = await mine.first.get_attribute("data-reference")
    assert reference != earlier.reference
    await page.screenshot(path=screenshot_path(f"inbox-{engine_of(database_url)}"), full_page=True)

    await page.click(f"a[href='/agent/tickets/{reference}']")
    timeline = page.locator("#timeline-items")
    await timeline.wait_for()
    text = await timeline.inner_text()
    assert "I ordered the blue lamp last week." in text and "order #4411 hasn't arrived" in text  # email and SMS, one timeline
    assert "email" in await page.locator("#timeline-items li:has-text('blue lamp') .item-head").inner_text()

    await page.select_option("#reply-to", f"phone:{DANA}")
    await page.fill("#reply-text", "It left our warehouse today.")
    await page.click("#reply button[type=submit]")
    await page.wait_for_selector("text=Reply queued")
    await eventually(lambda: any(m["Body"] == "It left our warehouse today." for m in standin.accepted), timeout=30, what="the SMS at Twilio")
    sent = next(m for m in standin.accepted if m["Body"] == "It left our warehouse today.")
    assert sent["To"] == DANA

    answered = time.monotonic()
    response = await _post_sms(client, MessageSid="SM" + "7" * 32, SmsSid="SM" + "7" * 32, Body="Great, thanks a lot!")
    assert response.status == 200
    left = max(0.0, 2.0 - (time.monotonic() - answered))
    # No reload: the entry arrives through the page's event stream within 2 s of Twilio's 200.
    await page.locator("#timeline-items li", has_text="Great, thanks a lot!").wait_for(timeout=left * 1000)
    await page.screenshot(path=screenshot_path(f"ticket-{engine_of(database_url)}"), full_page=True)
    await context.close()

    phone, narrow = await browser_sign_in(browser, client, "ada@example.com", width=390, height=844)
    assert await sideways_scroll(narrow) <= 0, "the inbox scrolls sideways at 390 px"
    await narrow.screenshot(path=screenshot_path(f"inbox-390-{engine_of(database_url)}"), full_page=True)
    await narrow.goto(str(client.make_url(f"/agent/tickets/{reference}")))
    await narrow.wait_for_selector("#timeline-items")
    assert await sideways_scroll(narrow) <= 0, "the ticket page scrolls sideways at 390 px"
    await narrow.screenshot(path=screenshot_path(f"ticket-390-{engine_of(database_url)}"), full_page=True)
    await narrow.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    assert await sideways_scroll(narrow) <= 0, "the ticket page scrolls sideways at tablet width"
    await phone.close()
