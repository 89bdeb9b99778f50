"""The SMTP receiver keeps the mail it holds at once within `[email] max_bytes_in_memory`.

A message holds what its sender declared in MAIL FROM (SIZE, RFC 1870), or a
small amount that grows as it arrives. A sender whose declared size does not
fit waits before DATA's 354, then gets 451 (try again later); one that outgrows
the budget without having declared it is read to the end and gets 451; small
mails are received side by side.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from contactcenter.channels import smtp_server
from contactcenter.channels.smtp_server import SMTP_PORT
from contactcenter.db.models import Interaction
from contactcenter.keys import HUB
from tests.factories import settings_with
from tests.hostile.conftest import send_smtp
from tests.mail import make_mail

SUPPORT = "support@example.com"
BUDGET = 1_000_000


@pytest.fixture
def settings(settings):
    return settings_with(settings, email={"max_message_bytes": 2 * BUDGET, "max_bytes_in_memory": BUDGET})


def wire(mail) -> bytes:
    return mail.as_bytes().replace(b"\n", b"\r\n")


async def inbound_from(hub, sender: str) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Interaction).where(Interaction.text.contains(sender)))


class RawSession:
    """An SMTP client at the line level, so a test can stop in the middle of DATA."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawSession:
        session = cls(*await asyncio.open_connection("127.0.0.1", port))
        await session.reply()
        return session

    async def reply(self) -> str:
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 30)).decode()
            if line[3:4] != "-":
                return line

    async def command(self, line: str) -> str:
        self.writer.write(line.encode() + b"\r\n")
        return await self.reply()

    async def start_data(self, sender: str, size: int | None = None) -> str:
        declared = f" SIZE={size}" if size is not None else ""
        for line in ("EHLO tests", f"MAIL FROM:<{sender}>{declared}", f"RCPT TO:<{SUPPORT}>"):
            assert (await self.command(line)).startswith("250"), line
        return await self.command("DATA")


async def test_a_second_message_that_does_not_fit_waits_then_gets_451_and_later_goes_through(client, hub, monkeypatch):
    monkeypatch.setattr(smtp_server, "MEMORY_WAIT_SECONDS", 0.5)
    port = client.server.app[SMTP_PORT]
    first = await RawSession.open(port)
    assert (await first.start_data("first@example.org", size=600_000)).startswith("354")
    first.writer.write(wire(make_mail(sender="first@example.org")))  # not finished yet

    second = await RawSession.open(port)
    assert (await second.start_data("second@example.org", size=600_000)).startswith("451 4.3.1")

    assert (await first.command(".")).startswith("250")
    assert "OK" in await send_smtp(client, make_mail(sender="second@example.org"))
    for session in (first, second):
        session.writer.close()


async def test_small_mails_are_received_side_by_side(client, hub):
    port = client.server.app[SMTP_PORT]
    senders = [f"small{n}@example.org" for n in range(8)]
    sessions = [await RawSession.open(port) for _ in senders]
    # Eight DATA sections open at once: the declared sizes fit, and so do the undeclared ones' first share.
    for n, (session, sender) in enumerate(zip(sessions, senders)):
        assert (await session.start_data(sender, size=20_000 if n % 2 else None)).startswith("354"), sender
    for session, sender in zip(sessions, senders):
        session.writer.write(wire(make_mail(sender=sender, text=f"Hello from {sender}")))
    answers = await asyncio.gather(*(session.command(".") for session in sessions))
    assert all(answer.startswith("250") for answer in answers), answers
    for session in sessions:
        session.writer.close()


async def test_a_message_that_outgrows_a_spent_budget_gets_451_after_its_data_and_is_not_stored(client, hub):
    port = client.server.app[SMTP_PORT]
    first = await RawSession.open(port)
    assert (await first.start_data("first@example.org", size=900_000)).startswith("354")

    second = await RawSession.open(port)
    assert (await second.start_data("second@example.org")).startswith("354")  # no SIZE: a first small share fits
    big = make_mail(sender="second@example.org", text="Hello from second@example.org\n" + "x" * 76 * 6000)
    assert (await second.command(wire(big).decode() + ".")).startswith("451 4.3.1")
    assert (await second.command("NOOP")).startswith("250")  # the session goes on: the sender may retry

    first.writer.write(wire(make_mail(sender="first@example.org")))
    assert (await first.command(".")).startswith("250")
    assert await inbound_from(client.server.app[HUB], "second@example.org") == 0
    assert "OK" in await send_smtp(client, big)  # alone it fits
    for session in (first, second):
        session.writer.close()


async def test_a_message_larger_than_the_whole_budget_goes_through_alone(client, hub):
    huge = make_mail(sender="huge@example.org", text="Hello from huge@example.org\n" + "y\n" * 600_000)
    assert len(wire(huge)) > BUDGET
    assert "OK" in await send_smtp(client, huge)
