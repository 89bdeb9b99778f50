"""Large mail through the SMTP receiver: spooled to disk, attachments stored once.

A message beyond `[email] spool_bytes` is received into a file; the accepted
contact is stored without its attachments' bytes (the raw mail beside it holds
them) and they are read from the raw mail when it is processed, also after a
crash left it pending.
"""

from __future__ import annotations

import hashlib
import json
import os
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, event, select

from contactcenter.app import create_app
from contactcenter.channels.email_accept import build_contact
from contactcenter.channels.email_parse import AttachmentLimits, parse_email
from contactcenter.channels.smtp_server import SMTP_PORT
from contactcenter.db.models import Attachment, AttachmentBlob, InboundRecord, Interaction
from tests.factories import settings_with
from tests.mail import make_mail, send_mail
from tests.polling import processed

FILES = {"report.pdf": os.urandom(300_000), "photo.jpg": os.urandom(200_000)}
# Lines that start with a dot travel with one more (RFC 5321 §4.5.2), and one looks like the end of data.
TEXT = "Hello,\n.leading dot\n..two dots\n.\nthe line above was a lone dot\n"


@pytest.fixture
def settings(settings):
    return settings_with(settings, email={"spool_bytes": 4096, "max_message_bytes": 2_000_000})


def mail_with_files(message_id: str = "<spooled@example.org>") -> EmailMessage:
    mail = make_mail(sender="carol@example.org", subject="Files attached", text=TEXT, message_id=message_id)
    for name, content in FILES.items():
        mail.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return mail


async def stored_files(hub) -> dict[str, bytes]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Attachment.filename, AttachmentBlob.content).join(AttachmentBlob, AttachmentBlob.sha256 == Attachment.sha256)
        )
        return {name: content for name, content in rows}


async def test_a_large_mail_is_spooled_and_stored_whole_with_its_dots(client, hub):
    records: list[dict] = []

    def keep(_conn, _cursor, statement: str, parameters, _context, executemany: bool) -> None:
        # Whatever engine stores it (the SQLite writer's own, or PostgreSQL's): the contact column's JSON.
        if statement.startswith("INSERT INTO inbound_records"):
            for row in parameters if executemany else [parameters]:
                records.extend(json.loads(v) for v in (row.values() if isinstance(row, dict) else row) if isinstance(v, str) and v.startswith("{"))

    event.listen(Engine, "before_cursor_execute", keep)
    try:
        answer = await send_mail(client.server.app[SMTP_PORT], mail_with_files())
    finally:
        event.remove(Engine, "before_cursor_execute", keep)
    assert "OK" in answer
    await processed(hub)

    assert await stored_files(hub) == FILES
    async with hub.sessions() as session:
        interaction = await session.scalar(select(Interaction))
    assert interaction.text.strip() == TEXT.strip()
    # The pending record kept the attachments once, in the raw mail, not again in the contact.
    (contact,) = records
    assert contact["attachments"] == [] and contact["attachments_in_raw"] is True
    assert len(str(contact)) < 10_000
    assert not list((hub.settings.data_dir() / "spool").iterdir())  # the spool file is gone


async def test_a_mail_a_crash_left_pending_is_processed_with_its_attachments(aiohttp_client, hub):
    # What `kill -9` after the 250 and before processing leaves: the raw mail and the contact without attachments.
    raw = mail_with_files("<left-behind@example.org>").as_bytes()
    limits = AttachmentLimits(hub.settings.email.max_attachment_bytes, hub.settings.email.max_attachments)
    contact = build_contact(
        parse_email(raw, limits), hub.settings, raw=raw, recipients=["support@example.com"], source="smtp", envelope_from=None
    ).without_attachments()
    async with hub.sessions() as session, session.begin():
        session.add(InboundRecord(channel="email", provider_id=contact.provider_id, raw=raw, contact=contact.to_json(), status="pending"))

    await aiohttp_client(create_app(hub.settings, hub))  # serve, with its workers: they pick it up
    await processed(hub)

    files = await stored_files(hub)
    assert {name: hashlib.sha256(c).hexdigest() for name, c in files.items()} == {
        name: hashlib.sha256(c).hexdigest() for name, c in FILES.items()
    }
    async with hub.sessions() as session:
        assert await session.scalar(select(InboundRecord)) is None
