"""Search from the header box, and reviewing a duplicate: merge, then undo, from the pages (real browser)."""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.db.models import AuditEvent, Customer
from contactcenter.identity.merge import suggest_merge
from contactcenter.pipeline.run import ingest
from tests.browser import screenshot_path
from tests.factories import make_inbound
from tests.web.browser_helpers import browser_sign_in, engine_of, sideways_scroll
from tests.web.workspace_helpers import add_agent


async def test_a_word_from_one_message_finds_its_ticket_in_the_box_and_the_api(browser, client, hub, auth, database_url):
    await add_agent(hub)
    wanted = await ingest(hub, make_inbound(subject="Delivery", text="The courier left it with the concierge."))
    await ingest(hub, make_inbound(email="bob@example.org", name="Bob", subject="Delivery", text="The courier never came."))
    context, page = await browser_sign_in(browser, client, "ada@example.com", width=390, height=844)
    await page.fill("#search-q", "concierge")
    await page.press("#search-q", "Enter")
    await page.wait_for_selector("#tickets")
    assert await page.locator(".results li[data-reference]").evaluate_all("rows => rows.map(r => r.dataset.reference)") == [wanted.reference]
    assert await sideways_scroll(page) <= 0
    await page.screenshot(path=screenshot_path(f"search-{engine_of(database_url)}"), full_page=True)
    await page.click(f".results a[href='/agent/tickets/{wanted.reference}']")
    await page.wait_for_selector("#timeline-items")
    await context.close()

    found = await (await client.get("/api/v1/search", params={"q": "concierge"}, headers=auth)).json()
    assert [t["reference"] for t in found["tickets"]] == [wanted.reference]


async def test_a_supervisor_merges_a_suggestion_and_undoes_it_both_audited(browser, client, hub, database_url):
    await add_agent(hub, email="sam@example.com", name="Sam Super", role="supervisor")
    first = await ingest(hub, make_inbound(email="jon.smith@acme.example", name="Jon Smith", text="Invoice question"))
    second = await ingest(hub, make_inbound(email="j.smith@acme.example", name="Jonathan Smith", text="Second invoice question"))
    async with hub.sessions() as session, session.begin():
        await suggest_merge(session, first.customer_id, second.customer_id, ["similar names (85% alike)", "both use the email domain acme.example"], 0.8)

    context, page = await browser_sign_in(browser, client, "sam@example.com")
    await page.click("nav a[href='/agent/merge-suggestions']")
    review = page.locator("article.suggestion")
    await review.wait_for()
    text = await review.inner_text()
    assert "Jon Smith" in text and "Jonathan Smith" in text and "both use the email domain acme.example" in text
    assert "jon.smith@acme.example" in text and "j.smith@acme.example" in text  # side by side, with their addresses
    await page.screenshot(path=screenshot_path(f"merge-review-{engine_of(database_url)}"), full_page=True)

    await review.locator("button", has_text="Merge, keep Jon Smith").click()
    await page.wait_for_selector("text=Records merged")
    assert "j.smith@acme.example" in await page.inner_text(".side")  # the address moved to the record kept
    await page.click("#merges button[type=submit]")
    await page.wait_for_selector("text=Merge undone")
    assert "j.smith@acme.example" not in await page.inner_text(".side")
    await page.screenshot(path=screenshot_path(f"customer-unmerged-{engine_of(database_url)}"), full_page=True)
    await context.close()

    async with hub.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "customer").order_by(AuditEvent.id)))
        restored = await session.get(Customer, second.customer_id)
    assert "customer.merged" in actions and "customer.unmerged" in actions
    assert actions.index("customer.merged") < actions.index("customer.unmerged")
    assert restored.merged_into_id is None
