"""Issue 3 acceptance: mail in through the hub's SMTP port, out through a real relay."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import func, select

from contactcenter.channels.smtp_server import SMTP_PORT
from contactcenter.app import create_app
from contactcenter.db.engine import create_engine, create_sessionmaker
from contactcenter.db.models import ContactPoint, InboundRecord, Interaction, OutboxMessage, Ticket
from contactcenter.hub import Hub
from contactcenter.outbound.outbox import OutboxWorker
from contactcenter.pipeline.run import writer_of
from contactcenter.settings import ImapMailbox, Settings, load_settings
from contactcenter.web.auth import create_api_token
from tests.factories import settings_with
from tests.hubprocess import HubProcess, free_port
from tests.imap_server import PASSWORD, USER, Dovecot, require_dovecot
from tests.mail import SUPPORT, Relay, deliver_until, make_mail, send_mail
from tests.polling import eventually, processed


@dataclass
class MailHub:
    hub: Hub
    client: object
    smtp_port: int
    relay: Relay

    async def send(self, message: EmailMessage | bytes, **envelope: Any) -> str:
        """Through the hub's SMTP receiver; returns the answer once the mail is processed."""
        answer = await send_mail(self.smtp_port, message, **envelope)
        await processed(self.hub)
        return answer

    async def tickets(self) -> list[Ticket]:
        async with self.hub.sessions() as session:
            return list(await session.scalars(select(Ticket).order_by(Ticket.id)))

    async def inbound(self, ticket_id: int) -> list[Interaction]:
        async with self.hub.sessions() as session:
            return list(
                await session.scalars(
                    select(Interaction).where(Interaction.ticket_id == ticket_id, Interaction.direction == "inbound").order_by(Interaction.id)
                )
            )


@pytest.fixture
def relay() -> Relay:
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
async def mail_hub(aiohttp_client, settings: Settings, database_url: str, relay: Relay) -> AsyncIterator[MailHub]:
    settings = settings_with(
        settings,
        email={"relay_port": relay.port, "relay_host": "127.0.0.1", "max_message_bytes": 1_000_000},
        tickets={"auto_acknowledge": True},
        outbox={"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05},
    )
    hub = Hub.create(settings, database_url)
    client = await aiohttp_client(create_app(settings, hub, workers=False))
    yield MailHub(hub=hub, client=client, smtp_port=client.app[SMTP_PORT], relay=relay)
    await hub.close()


async def test_mail_opens_a_ticket_whose_acknowledgement_replies_thread_back(mail_hub: MailHub) -> None:
    first = make_mail(sender="Alice Example <alice@example.com>")
    answer = await mail_hub.send(first)
    assert answer.startswith("2.0.0 OK")

    async with mail_hub.hub.sessions() as session:
        point = await session.scalar(select(ContactPoint).where(ContactPoint.value == "alice@example.com"))
    assert point is not None
    (ticket,) = await mail_hub.tickets()
    assert ticket.customer_id == point.customer_id and ticket.subject == "My printer is on fire"

    await deliver_until(mail_hub.hub, mail_hub.relay, 1)
    ack = mail_hub.relay.messages[0]
    assert mail_hub.relay.envelopes[0][1] == ["alice@example.com"]
    assert "[CC-000001]" in ack["Subject"]
    assert ack["In-Reply-To"] == first["Message-ID"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "CC-000001" in ack.get_body(("plain",)).get_content()

    # A reply as a mail client writes it: threading headers, quoted history.
    reply = make_mail(
        sender="alice@example.com",
        subject=f"Re: {ack['Subject']}",
        text="It is still burning.\n\nOn Mon, 1 Jan 2024, support wrote:\n> Thank you for contacting us.",
        headers={"In-Reply-To": ack["Message-ID"], "References": f"{first['Message-ID']} {ack['Message-ID']}"},
    )
    await mail_hub.send(reply)
    # A reply whose client dropped the headers but kept the subject.
    stripped = make_mail(sender="alice@example.com", subject="Re: My printer is on fire [CC-000001]", text="Now it is out.")
    await mail_hub.send(stripped)

    assert len(await mail_hub.tickets()) == 1
    async with mail_hub.hub.sessions() as session:
        point = await session.scalar(select(ContactPoint).where(ContactPoint.value == "alice@example.com"))
    assert point.evidence == "verified"  # she answered mail we sent to that address
    inbound = await mail_hub.inbound(1)
    assert [i.match_evidence for i in inbound] == ["claimed", "verified", "claimed"]
    assert [i.text for i in inbound[1:]] == ["It is still burning.", "Now it is out."]
    assert inbound[1].meta["quoted_text"].startswith("On Mon, 1 Jan 2024")
    # Follow-ups are not acknowledged again.
    await OutboxWorker(mail_hub.hub).deliver_due()
    assert len(mail_hub.relay.messages) == 1


async def test_subject_reference_from_another_customer_opens_their_own_ticket(mail_hub: MailHub) -> None:
    alice_mail = make_mail(sender="alice@example.com")
    await mail_hub.send(alice_mail)
    await mail_hub.send(make_mail(sender="mallory@example.net", subject="Re: [CC-000001] add me", text="Injected"))

    tickets = await mail_hub.tickets()
    assert len(tickets) == 2
    assert [i.text for i in await mail_hub.inbound(1)] == ["Hello,\n\nmy printer is on fire. What now?\n\nAlice"]
    assert [i.text for i in await mail_hub.inbound(2)] == ["Injected"]
    assert tickets[1].customer_id != tickets[0].customer_id


async def test_replies_from_many_customers_to_one_message_do_not_collapse(mail_hub: MailHub) -> None:
    bulk = make_mail(sender="alice@example.com", to=f"{SUPPORT}", subject="Party on Friday")
    await mail_hub.send(bulk)
    for name in ("carol", "dave"):
        reply = make_mail(sender=f"{name}@example.org", subject="Re: Party on Friday", text=f"{name} is in", headers={"In-Reply-To": bulk["Message-ID"]})
        await mail_hub.send(reply)
    tickets = await mail_hub.tickets()
    assert len(tickets) == 3
    assert len({t.customer_id for t in tickets}) == 3
    # Someone the customer put in Cc takes part in the ticket.
    cc_mail = make_mail(sender="alice@example.com", subject="Budget", headers={"Cc": "erin@example.org"})
    await mail_hub.send(cc_mail)
    await mail_hub.send(
        make_mail(sender="erin@example.org", subject="Re: Budget", text="Agreed.", headers={"In-Reply-To": cc_mail["Message-ID"]}),
    )
    tickets = await mail_hub.tickets()
    assert len(tickets) == 4
    inbound = await mail_hub.inbound(tickets[3].id)
    assert [i.text for i in inbound][-1] == "Agreed."
    assert inbound[0].meta["cc"] == ["erin@example.org"]


async def test_acknowledgements_share_one_relay_connection_and_a_closed_one_is_opened_again(mail_hub: MailHub) -> None:
    for n in range(3):
        await mail_hub.send(make_mail(sender=f"customer{n}@example.com"))
    await deliver_until(mail_hub.hub, mail_hub.relay, 3)
    assert len(set(mail_hub.relay.peers)) == 1  # one session: no handshake, EHLO and QUIT per message

    mail_hub.relay.stop()  # the relay goes away (or closes an idle session) and comes back
    mail_hub.relay.start()
    await mail_hub.send(make_mail(sender="customer3@example.com"))
    await deliver_until(mail_hub.hub, mail_hub.relay, 4)
    assert len(set(mail_hub.relay.peers)) == 2
    async with mail_hub.hub.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage.status))) == ["sent"] * 4


async def test_relay_down_replies_wait_and_go_out_once(mail_hub: MailHub) -> None:
    mail_hub.relay.stop()  # the relay is down from the start
    await mail_hub.send(make_mail(sender="alice@example.com"))
    async with mail_hub.hub.sessions() as session, session.begin():
        token = await create_api_token(session, "agent", "admin")
    for text in ("First answer", "Second answer"):
        response = await mail_hub.client.post(
            "/api/v1/tickets/1/replies", json={"text": text}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status in (200, 201), await response.text()

    worker = OutboxWorker(mail_hub.hub)
    assert await worker.deliver_due() == 3
    async with mail_hub.hub.sessions() as session:
        statuses = list(await session.scalars(select(OutboxMessage.status)))
    assert statuses == ["pending"] * 3  # failed attempt, waiting to retry

    mail_hub.relay.start()
    await deliver_until(mail_hub.hub, mail_hub.relay, 3)
    for _ in range(3):
        await worker.deliver_due()
    assert len(mail_hub.relay.messages) == 3
    assert len({m["Message-ID"] for m in mail_hub.relay.messages}) == 3
    bodies = [m.get_body(("plain",)).get_content().strip() for m in mail_hub.relay.messages]
    assert bodies.count("First answer") == 1 and bodies.count("Second answer") == 1
    async with mail_hub.hub.sessions() as session:
        assert set(await session.scalars(select(OutboxMessage.status))) == {"sent"}


async def test_out_of_office_and_bounce_open_no_ticket_and_send_nothing(mail_hub: MailHub) -> None:
    await mail_hub.send(make_mail(sender="alice@example.com"))
    await deliver_until(mail_hub.hub, mail_hub.relay, 1)
    ack = mail_hub.relay.messages[0]

    out_of_office = make_mail(
        sender="alice@example.com",
        subject=f"Automatic reply: {ack['Subject']}",
        text="I am out of the office until Monday.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": ack["Message-ID"]},
    )
    await mail_hub.send(out_of_office)
    # An auto-reply that threads nowhere still gets no answer.
    await mail_hub.send(
        make_mail(sender="bob@example.org", subject="Out of Office: hello", text="Away.", headers={"X-Autoreply": "yes"}),
    )
    bounce = _bounce_for(ack)
    answer = await mail_hub.send(bounce, sender="", recipients=[SUPPORT])
    assert answer.startswith("OK") or "OK" in answer

    tickets = await mail_hub.tickets()
    assert len(tickets) == 2  # Alice's, and Bob's auto-reply that matched no ticket
    await OutboxWorker(mail_hub.hub).deliver_due()
    assert len(mail_hub.relay.messages) == 1
    async with mail_hub.hub.sessions() as session:
        ack_row = await session.scalar(select(Interaction).where(Interaction.provider_id == ack["Message-ID"]))
        assert ack_row.delivery_status == "failed"
        assert ack_row.meta["bounce"]["status"] == "5.1.1"
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_receiver_refuses_unknown_mailboxes_and_oversized_mail(mail_hub: MailHub, database_url: str) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await mail_hub.send(make_mail(to="nobody@example.com"), recipients=["nobody@example.com"])
    assert refused.value.recipients[0].code == 550

    big = make_mail(text="x" * 100)
    big.add_attachment(b"\0" * (mail_hub.hub.settings.email.max_message_bytes + 10), maintype="application", subtype="octet-stream", filename="big.bin")
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await mail_hub.send(big)
    assert too_big.value.code == 552
    assert await mail_hub.tickets() == []


def _bounce_for(original) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        "Message-ID: <bounce-1@mx.example.com>\r\n\r\n"
        "--B1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; alice@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@example.com\r\nTo: alice@example.com\r\nSubject: {original['Subject']}\r\n"
        f"Message-ID: {original['Message-ID']}\r\n"
        "--B1--\r\n"
    ).encode()


async def test_database_down_answers_451_so_the_sender_retries(mail_hub: MailHub) -> None:
    hub = mail_hub.hub
    working = hub.sessions
    writer = writer_of(hub)
    # The database goes away after start-up: sessions now reach a port where nothing listens.
    dead = create_engine(hub.settings, f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    hub.sessions = create_sessionmaker(dead)
    # On SQLite the ingest writer has a connection of its own (db/writer.py): it goes too.
    own = writer.sqlite, writer.sessions
    writer.sqlite, writer.sessions = None, hub.sessions
    mail = make_mail()
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as temporary:
            await mail_hub.send(mail)
        assert temporary.value.code == 451
    finally:
        hub.sessions = working
        writer.sqlite, writer.sessions = own
        await dead.dispose()
    # The sender's retry, once the database is back, is taken and stored once.
    assert (await mail_hub.send(mail)).startswith("2.0.0 OK")
    assert [t.reference for t in await mail_hub.tickets()] == ["CC-000001"]


@pytest.mark.sqlite_only  # about the process, not the database
async def test_serve_runs_the_smtp_receiver(tmp_path, database_url: str) -> None:
    smtp_port = free_port()
    async with HubProcess(tmp_path, database_url, {"email": {"smtp_port": smtp_port}}) as hub:
        answer = await send_mail(smtp_port, make_mail(subject="Stored before the answer"))
        assert await hub.stop() == 0  # SIGTERM
    assert answer.startswith("2.0.0 OK")
    # Processed by the time the hub stopped: a stopping hub finishes what it accepted.
    engine = create_engine(load_settings(environ={}), database_url)
    async with engine.connect() as connection:
        subjects = list(await connection.scalars(select(Ticket.subject)))
    await engine.dispose()
    assert subjects == ["Stored before the answer"]


async def test_unreadable_mail_is_kept_raw_and_a_ticket_says_so(mail_hub: MailHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from contactcenter.channels import email_accept

    def broken_parser(raw: bytes, limits: object) -> None:
        raise ValueError("parser bug")

    # Stands in for a parser bug on some future mail: nothing else is replaced.
    monkeypatch.setattr(email_accept, "parse_email", broken_parser)
    mail = make_mail(sender="alice@example.com")
    answer = await mail_hub.send(mail.as_bytes(), sender="alice@example.com", recipients=[SUPPORT])
    assert "OK" in answer
    async with mail_hub.hub.sessions() as session:
        (record,) = await session.scalars(select(InboundRecord))
    assert record.status == "failed"
    assert mail["Message-ID"].encode() in record.raw and b"my printer is on fire" in record.raw
    assert "parser bug" in record.error
    (ticket,) = await mail_hub.tickets()
    (note,) = await mail_hub.inbound(ticket.id)
    assert f"inbound record {record.id}" in note.text
    await OutboxWorker(mail_hub.hub).deliver_due()
    assert mail_hub.relay.messages == []  # no acknowledgement for what we could not read


async def test_imap_mailbox_feeds_the_same_parser_and_threading(aiohttp_client, settings: Settings, database_url: str) -> None:
    require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="cc-dovecot-"))
    root.chmod(0o755)  # Dovecot's own users must reach the folder
    server = Dovecot(root)
    server.start()
    try:
        # Polling, not IDLE: this is about the hand-over; the poller's own tests cover IDLE.
        mailbox = ImapMailbox(
            name="support", host="127.0.0.1", port=server.port, tls=False, username=USER, password=PASSWORD,
            address=USER, idle=False, poll_seconds=0.1,
        )
        settings = settings_with(settings, imap={"mailboxes": [mailbox]})
        hub = Hub.create(settings, database_url)
        first = make_mail(sender="Alice <alice@example.com>", subject="Über IMAP", text="Grüße aus dem Postfach")
        server.deliver(first.as_bytes())
        client = await aiohttp_client(create_app(settings, hub, workers=False))
        reply = make_mail(sender="alice@example.com", subject="Re: Über IMAP [CC-000001]", text="Noch etwas.")

        async def interactions() -> list[Interaction]:
            async with hub.sessions() as session:
                return list(await session.scalars(select(Interaction).order_by(Interaction.id)))

        async def has(count: int) -> bool:
            return len(await interactions()) >= count

        await eventually(lambda: has(1), timeout=60, what="the first mail")
        server.deliver(reply.as_bytes())
        await eventually(lambda: has(2), timeout=60, what="the reply")
        rows = await interactions()
        assert [(r.ticket_id, r.subject, r.text) for r in rows] == [
            (1, "Über IMAP", "Grüße aus dem Postfach"),
            (1, "Re: Über IMAP [CC-000001]", "Noch etwas."),
        ]
        assert rows[0].meta["source"] == "imap:support" and rows[0].meta["from"] == "alice@example.com"
        await client.close()  # stops the pollers while Dovecot still answers their LOGOUT
        await hub.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class RefusingRelay(Relay):
    """A relay that answers RCPT with a fixed code."""

    def __init__(self, answer: str, port: int):
        super().__init__(port)
        self.answer = answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        return self.answer


@pytest.mark.parametrize(("answer", "status"), [("451 4.7.1 Try again later", "pending"), ("550 5.1.1 No such user", "failed")])
async def test_relay_4xx_is_retried_and_5xx_is_final(mail_hub: MailHub, answer: str, status: str) -> None:
    mail_hub.relay.stop()
    refusing = RefusingRelay(answer, mail_hub.relay.port).start()
    try:
        await mail_hub.send(make_mail(sender="alice@example.com"))
        assert await OutboxWorker(mail_hub.hub).deliver_due() == 1
    finally:
        refusing.stop()
    async with mail_hub.hub.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
        interaction = await session.get_one(Interaction, row.interaction_id)
    assert row.status == status
    assert interaction.delivery_status == ("retrying" if status == "pending" else "failed")
    assert answer[:3] in row.last_error


@pytest.mark.parametrize("octets", [5_000, 30_000])
async def test_mail_with_lines_longer_than_1000_octets_is_accepted_intact(mail_hub: MailHub, octets: int) -> None:
    """Real clients send unwrapped lines and Postfix passes them on; a 500 here would bounce real mail."""
    words = " ".join(f"word{i:05d}" for i in range(octets // 10 + 1))
    line = words[:octets].rstrip()
    raw = (
        "From: Long Liner <long@example.com>\r\nTo: support@example.com\r\n"
        f"Subject: one long line\r\nMessage-ID: <long-{octets}@example.com>\r\nDate: Wed, 02 Dec 2026 05:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{line}\r\n"
    ).encode()
    assert max(len(wire) for wire in raw.split(b"\r\n")) >= octets - 10
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=mail_hub.smtp_port) as smtp:
        await smtp.mail("long@example.com")
        await smtp.rcpt(SUPPORT)
        response = await smtp.data(raw)
    assert response.code == 250
    await processed(mail_hub.hub)
    (ticket,) = await mail_hub.tickets()
    (interaction,) = await mail_hub.inbound(ticket.id)
    assert ticket.subject == "one long line" and interaction.text.strip() == line
