"""The portal in Chromium at phone width: ask for a link, follow it from the mail, answer a ticket, close it."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction, Ticket
from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound, settings_with
from tests.mail import deliver_until
from tests.portal.helpers import LINK


async def test_a_customer_signs_in_by_mail_answers_and_closes_a_ticket(browser, client, hub, relay, database_url):
    hub.settings = settings_with(hub.settings, http={"public_url": str(client.make_url("")).rstrip("/")})
    mine = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="dana@example.com", evidence="verified", subject="Broken zip"))
    theirs = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="bob@example.org", evidence="verified", subject="Bob's matter"))

    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(str(client.make_url("/portal")))
    await page.fill("input[name=email]", "dana@example.com")
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-link-sent]")

    await deliver_until(hub, relay, 1)
    link = LINK.search(relay.messages[0].get_body(("html",)).get_content())
    assert link is not None
    await page.goto(f"{client.make_url('')}".rstrip("/") + link.group(0))
    await page.click("button[type=submit]")  # the link page's one button: "Sign in"
    await page.wait_for_selector(f"[data-reference='{mine.reference}']")
    body = await page.inner_text("body")
    assert "Broken zip" in body and theirs.reference not in body and "Bob's matter" not in body
    cookie = next(c for c in await context.cookies() if c["name"] == "cc_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/portal"

    await page.click(f"[data-reference='{mine.reference}'] a")
    await page.fill("textarea[name=message]", "It broke again today.")
    await page.click("form[action$='/answer'] button[type=submit]")
    await page.wait_for_selector(".notice")
    assert "It broke again today." in await page.inner_text(".conversation")
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the ticket page scrolls sideways by {overflow} px at 390 px"
    engine = database_url.partition(":")[0].partition("+")[0]
    await page.screenshot(path=screenshot_path(f"portal-ticket-{engine}"), full_page=True)

    await page.click("form[action$='/close'] button[type=submit]")
    await page.wait_for_selector("[data-status='resolved']")
    async with hub.sessions() as session:
        ticket = await session.get(Ticket, mine.ticket_id)
        answers = list(await session.scalars(select(Interaction).where(Interaction.text == "It broke again today.")))
    assert ticket.status == "resolved"
    assert [(a.ticket_id, a.channel, a.direction, a.match_evidence) for a in answers] == [(mine.ticket_id, "web", "inbound", "verified")]

    await page.click("text=Sign out")
    await page.wait_for_selector("input[name=email]")
    await context.close()
