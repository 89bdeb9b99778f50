"""Retention: interactions past `[retention] interactions_days` lose their words, newer ones keep them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from contactcenter.contact import Attachment, ChannelKind
from contactcenter.db.models import AuditEvent, Interaction, utcnow
from contactcenter.pipeline.run import ingest
from contactcenter.privacy.retention import apply_retention
from contactcenter.settings import ConfigError
from tests.factories import make_inbound, settings_with


@pytest.fixture
def settings(settings):
    return settings_with(settings, retention={"interactions_days": 30})


async def test_old_interactions_are_redacted_and_new_ones_kept(client, hub, auth):
    old = make_inbound(
        channel=ChannelKind.EMAIL,
        email="olga@example.com",
        text="Old complaint about order 17",
        attachments=(Attachment(filename="old.pdf", content_type="application/pdf", content=b"old"),),
    )
    new = make_inbound(channel=ChannelKind.EMAIL, email="nina@example.com", text="New question about order 99")
    old_result, new_result = await ingest(hub, old), await ingest(hub, new)
    async with hub.sessions() as session, session.begin():
        # The clock of the timeline is the interaction's own time.
        row = await session.get(Interaction, old_result.interaction_id)
        row.created_at = utcnow() - timedelta(days=45)

    assert await apply_retention(hub) == 1
    assert await apply_retention(hub) == 0  # nothing is redacted twice

    old_body = await (await client.get(f"/api/v1/tickets/{old_result.ticket_id}", headers=auth)).json()
    new_body = await (await client.get(f"/api/v1/tickets/{new_result.ticket_id}", headers=auth)).json()
    [old_shown] = [i for i in old_body["interactions"] if i["direction"] == "inbound"]
    [new_shown] = [i for i in new_body["interactions"] if i["direction"] == "inbound"]
    assert (old_shown["text"], old_shown["attachments"]) == ("", [])
    assert new_shown["text"] == "New question about order 99"
    assert old_body["channel"] == "email" and old_body["status"] == new_body["status"]  # the shell stays
    async with hub.sessions() as session:
        [event] = await session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.redacted"))
    assert event.actor == "system" and event.details["interactions"] == 1


def test_a_negative_retention_period_is_a_configuration_error(settings):
    from contactcenter.settings import _check

    with pytest.raises(ConfigError, match=r"\[retention\]"):
        _check(settings_with(settings, retention={"interactions_days": -1}))
