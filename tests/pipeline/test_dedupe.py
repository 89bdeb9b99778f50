"""A repeat is the same contact on the same channel; the same id on another channel is another contact.

Provider ids are only unique per provider: an email's Message-ID may equal an
SMS sid, and an integrator's external id on the JSON API says nothing about the
web form. Both must reach the agents.
"""

from __future__ import annotations

from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction
from contactcenter.pipeline.run import ingest
from tests.factories import make_inbound

SHARED_ID = "SM0123456789abcdef0123456789abcdef"


async def interactions(hub) -> list[tuple[str, str]]:
    async with hub.sessions() as session:
        return [(i.channel, i.text) for i in await session.scalars(select(Interaction).order_by(Interaction.id))]


async def test_an_email_and_an_sms_with_the_same_id_are_two_contacts(hub):
    sms = await ingest(hub, make_inbound(channel=ChannelKind.SMS, email=None, phone="+14155550100", evidence="verified", provider_id=SHARED_ID, text="By text"))
    email = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, provider_id=SHARED_ID, text="By mail"))
    assert (sms.duplicate, email.duplicate) == (False, False)
    assert email.interaction_id != sms.interaction_id
    assert await interactions(hub) == [("sms", "By text"), ("email", "By mail")]
    # The same email again is the repeat it looks like.
    again = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, provider_id=SHARED_ID, text="By mail"))
    assert (again.duplicate, again.interaction_id) == (True, email.interaction_id)
    assert len(await interactions(hub)) == 2


async def test_an_api_contact_and_a_web_contact_with_one_external_id_are_both_kept(client, hub, auth):
    answers = []
    for channel in ("api", "web", "web"):
        body = {"channel": channel, "external_id": "order-77", "email": "dana@example.com", "message": f"Via {channel}"}
        answers.append(await client.post("/api/v1/contacts", json=body, headers=auth))
    assert [a.status for a in answers] == [201, 201, 200]  # the third is the web contact again
    first, second, third = [await a.json() for a in answers]
    assert first["interaction_id"] != second["interaction_id"] == third["interaction_id"]
    assert await interactions(hub) == [("api", "Via api"), ("web", "Via web")]
