"""The database itself keeps interactions append-only: a direct SQL rewrite fails on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contactcenter.contact import ChannelKind
from contactcenter.pipeline.run import ingest
from contactcenter.privacy.redact import redact_interactions
from tests.factories import make_inbound


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE interactions SET text = 'I never said that' WHERE id = :id",
        "UPDATE interactions SET subject = 'Other subject' WHERE id = :id",
        # Stamping the row redacted does not let a new text in: only blanks do.
        "UPDATE interactions SET text = 'forged', redacted_at = created_at WHERE id = :id",
        "DELETE FROM interactions WHERE id = :id",
    ],
)
async def test_a_direct_rewrite_of_what_a_customer_wrote_is_refused(hub, statement):
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="ada@example.com", text="My order 17 never came"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.engine.begin() as connection:
            await connection.execute(text(statement), {"id": result.interaction_id})
    async with hub.engine.connect() as connection:
        kept = (await connection.execute(text("SELECT text FROM interactions WHERE id = :id"), {"id": result.interaction_id})).scalar_one()
    assert kept == "My order 17 never came"


async def test_erasure_and_retention_may_still_blank_the_words(hub):
    result = await ingest(hub, make_inbound(channel=ChannelKind.EMAIL, email="ada@example.com", text="My order 17 never came"))
    async with hub.sessions() as session, session.begin():
        assert await redact_interactions(session, [result.interaction_id]) == 1
        # Moving the row to another customer (merge) is not a rewrite.
        await session.execute(text("UPDATE interactions SET ticket_id = ticket_id WHERE id = :id"), {"id": result.interaction_id})
    async with hub.engine.connect() as connection:
        row = (await connection.execute(text("SELECT subject, text, html, redacted_at FROM interactions WHERE id = :id"), {"id": result.interaction_id})).one()
    assert row[:3] == ("", "", "") and row.redacted_at is not None
