"""The SMTP receiver holds at most `max_bytes_in_memory / max_message_bytes` messages at once.

A sender beyond that waits before DATA's 354, then gets 451 (try again later);
once the message in progress is stored, the next one goes through.
"""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.channels import smtp_server
from contactcenter.channels.smtp_server import SMTP_PORT
from tests.factories import settings_with
from tests.hostile.conftest import send_smtp
from tests.mail import make_mail

SUPPORT = "support@example.com"


@pytest.fixture
def settings(settings):
    # Room for one message in progress.
    return settings_with(settings, email={"max_message_bytes": 1_000_000, "max_bytes_in_memory": 1_000_000})


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

    async def start_data(self, sender: str) -> str:
        for line in ("EHLO tests", f"MAIL FROM:<{sender}>", f"RCPT TO:<{SUPPORT}>"):
            assert (await self.command(line)).startswith("250"), line
        return await self.command("DATA")


async def test_a_second_message_waits_for_the_first_then_gets_451_and_later_goes_through(client, hub, monkeypatch):
    monkeypatch.setattr(smtp_server, "MEMORY_WAIT_SECONDS", 0.5)
    port = client.server.app[SMTP_PORT]
    first = await RawSession.open(port)
    assert (await first.start_data("first@example.org")).startswith("354")
    first.writer.write(make_mail(sender="first@example.org").as_bytes().replace(b"\n", b"\r\n"))  # not finished yet

    second = await RawSession.open(port)
    assert (await second.start_data("second@example.org")).startswith("451 4.3.1")

    assert (await first.command(".")).startswith("250")
    assert "OK" in await send_smtp(client, make_mail(sender="second@example.org"))
    for session in (first, second):
        session.writer.close()
