"""The IMAP poller against a real Dovecot server."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import aioimaplib
import pytest
from sqlalchemy import func, select

from contactcenter.channels.imap_poller import ImapPoller
from contactcenter.channels.imap_wiring import imap_accept
from contactcenter.db.models import InboundRecord, Interaction
from contactcenter.mailbox_state import Position, load_position, save_position
from contactcenter.settings import ImapMailbox
from tests.polling import eventually, processed
from tests.imap_server import PASSWORD, USER, Dovecot, make_mail, require_dovecot


@pytest.fixture
def dovecot():
    require_dovecot()
    # Dovecot's own users must reach the folder: pytest's tmp_path is root-only.
    root = Path(tempfile.mkdtemp(prefix="cc-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def mailbox_for(server: Dovecot, **changes) -> ImapMailbox:
    values = {"name": "support", "host": "127.0.0.1", "port": server.port, "tls": False, "username": USER, "password": PASSWORD, "address": USER}
    return ImapMailbox(**{**values, **changes})


def simple_accept(hub):
    """The email channel's own hand-over: parsed, threaded and stored like SMTP mail."""
    return imap_accept(hub)


async def interactions(hub) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Interaction))


async def _seen(server: Dovecot, count: int) -> bool:
    """Whether `count` messages carry the \\Seen flag the poller sets after accepting them."""
    client = aioimaplib.IMAP4("127.0.0.1", server.port)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    await client.select("INBOX")
    response = await client.search("SEEN")
    await client.logout()
    return len(bytes(response.lines[0]).split()) == count


async def test_200_messages_are_ingested_once_across_a_restart(hub, dovecot):
    for i in range(200):
        dovecot.deliver(make_mail(i))
    accept = simple_accept(hub)

    first = asyncio.create_task(ImapPoller(hub, mailbox_for(dovecot), accept).run())
    await eventually(lambda: _at_least(hub, 80), timeout=120)
    first.cancel()  # the hub stops in the middle of the mailbox
    await asyncio.gather(first, return_exceptions=True)
    await processed(hub)  # what the poller handed over before it stopped
    stopped_at = await interactions(hub)
    assert 80 <= stopped_at < 200

    second = asyncio.create_task(ImapPoller(hub, mailbox_for(dovecot), accept).run())
    await eventually(lambda: _at_least(hub, 200), timeout=120)
    # New mail arriving while the poller waits (IDLE) is picked up too.
    dovecot.deliver(make_mail(200))
    await eventually(lambda: _seen(dovecot, 201), timeout=120, interval=0.2)  # each look is an IMAP session
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    await processed(hub)

    assert await interactions(hub) == 201
    async with hub.sessions() as session:
        ids = list(await session.scalars(select(Interaction.provider_id)))
    assert len(set(ids)) == 201


async def test_moving_processed_mail_empties_the_inbox(hub, dovecot):
    for i in range(3):
        dovecot.deliver(make_mail(i))
    poller = asyncio.create_task(ImapPoller(hub, mailbox_for(dovecot, after="move"), simple_accept(hub)).run())
    await eventually(lambda: _folder_holds(dovecot, "Processed", 3), timeout=120, interval=0.2)
    poller.cancel()
    await asyncio.gather(poller, return_exceptions=True)
    await processed(hub)
    assert await _folder_holds(dovecot, "INBOX", 0)
    assert await interactions(hub) == 3


async def _folder_holds(server: Dovecot, folder: str, count: int) -> bool:
    client = aioimaplib.IMAP4("127.0.0.1", server.port)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    response = await client.select(folder)
    await client.logout()
    return f"{count} EXISTS".encode() in response.lines


async def test_wrong_password_is_retried_not_fatal(hub, dovecot, caplog):
    poller = ImapPoller(hub, mailbox_for(dovecot, password="wrong"), simple_accept(hub))
    task = asyncio.create_task(poller.run())
    await eventually(lambda: "login as" in caplog.text, timeout=20)
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await interactions(hub) == 0


async def _at_least(hub, n: int) -> bool:
    """At least `n` messages handed over: processed, or stored and waiting to be.

    One statement, so that a batch moving messages from waiting to processed
    between two counts cannot count them twice.
    """
    interactions = select(func.count()).select_from(Interaction).scalar_subquery()
    pending = select(func.count()).select_from(InboundRecord).where(InboundRecord.status == "pending").scalar_subquery()
    async with hub.reads() as session:
        return await session.scalar(select(interactions + pending)) >= n



async def test_a_position_being_saved_when_the_poller_stops_is_saved_and_frees_the_database(hub):
    # The poller saves right after flagging, when a stopping hub often cancels it.
    saving = asyncio.create_task(save_position(hub, "imap:stop", Position(7, 42)))
    await asyncio.sleep(0)  # under way: in its transaction
    saving.cancel()
    await asyncio.gather(saving, return_exceptions=True)
    assert await load_position(hub, "imap:stop") == Position(7, 42)
    await save_position(hub, "imap:stop", Position(7, 43))  # the write lock was let go
    assert await load_position(hub, "imap:stop") == Position(7, 43)
