"""After erasure the agent's pages show the ticket's shell and none of the customer's words."""

from __future__ import annotations

from contactcenter.contact import ChannelKind
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound
from tests.web.workspace_helpers import add_agent, sign_in


async def test_the_ticket_page_shows_nothing_of_an_erased_customer(client, hub, auth):
    contact = make_inbound(channel=ChannelKind.EMAIL, email="erin@example.com", name="Erin Blake", evidence="verified",
                           subject="Refund for order 4411", text="Please refund order 4411 to my card ending 9921.")
    result = await ingest(hub, contact)
    await add_agent(hub)
    assert (await sign_in(client)).status in (302, 303)
    page = await client.get(f"/agent/tickets/{result.reference}")
    before = await page.text()
    assert "order 4411" in before and "erin@example.com" in before

    erased = await client.post(f"/api/v1/customers/{result.customer_id}/erase", json={"reason": "her request"}, headers=auth)
    assert erased.status == 200

    page = await client.get(f"/agent/tickets/{result.reference}")
    assert page.status == 200
    after = await page.text()
    assert result.reference in after
    for words in ("4411", "9921", "erin@example.com", "Erin Blake"):
        assert words not in after
    inbox = await (await client.get("/agent")).text()
    assert "4411" not in inbox and "Erin" not in inbox
