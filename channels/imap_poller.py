"""IMAP polling: fetch new mail from configured mailboxes and hand it to the email channel.

One poller per `[[imap.mailboxes]]` entry runs inside `contactcenter serve`. It
remembers (UIDVALIDITY, last UID) per mailbox (RFC 3501 §2.3.1.1), so a restart
continues where it stopped; it waits with IDLE (RFC 2177) where the server has
it and polls otherwise; after a message is durably accepted it is flagged
\\Seen, moved or deleted as configured. Connection problems are retried with
backoff and never stop the hub.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable

import aioimaplib

from contactcenter.events import stop_requested
from contactcenter.hub import Hub
from contactcenter.mailbox_state import Position, load_position, save_position
from contactcenter.identity.normalize import mask
from contactcenter.settings import ImapMailbox

log = logging.getLogger(__name__)

# Hands one raw message over; returns only once it is durably stored.
Accept = Callable[[bytes, ImapMailbox], Awaitable[object]]

FETCH_BATCH = 25
IDLE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
MAX_BACKOFF_SECONDS = 300.0
_UID = re.compile(rb"\bUID (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapError(Exception):
    """The server refused a command (bad login, unknown folder)."""


class ImapPoller:
    def __init__(self, hub: Hub, mailbox: ImapMailbox, accept: Accept):
        self.hub = hub
        self.mailbox = mailbox
        self.accept = accept
        self.key = f"imap:{mailbox.name}"

    async def run(self) -> None:
        """Poll until cancelled, reconnecting with backoff after any failure."""
        delay = 1.0
        while True:
            if stop_requested():  # a wait_for in aioimaplib or below swallowed the cancel
                raise asyncio.CancelledError
            try:
                await self._session()
            except (OSError, TimeoutError, ImapError, aioimaplib.Abort, aioimaplib.CommandTimeout) as exc:
                log.warning("imap %s: %s; retrying in %.0f s", self.mailbox.name, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def _session(self) -> None:
        client = await self._connect()
        try:
            uidvalidity = await self._select(client)
            position = await load_position(self.hub, self.key)
            if position is None or position.uidvalidity != uidvalidity:
                if position is not None:
                    log.warning("imap %s: UIDVALIDITY changed; reading the folder again", self.mailbox.name)
                position = Position(uidvalidity, 0)
                await save_position(self.hub, self.key, position)
            use_idle = self.mailbox.idle and "IDLE" in client.protocol.capabilities
            while not stop_requested():
                position = await self.fetch_new(client, position)
                if use_idle:
                    await self._idle(client)
                else:
                    await asyncio.sleep(self.mailbox.poll_seconds)
        finally:
            try:
                await client.logout()
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass

    async def _connect(self) -> aioimaplib.IMAP4:
        mailbox = self.mailbox
        context = ssl.create_default_context() if mailbox.tls else None
        client = aioimaplib.IMAP4(host=mailbox.host, port=mailbox.port, ssl_context=context, timeout=60)
        await client.wait_hello_from_server()
        response = await client.login(mailbox.username, mailbox.secret())
        if response.result != "OK":
            raise ImapError(f"login as {mask(mailbox.username)} refused")
        return client

    async def _select(self, client: aioimaplib.IMAP4) -> int:
        response = await client.select(self.mailbox.folder)
        if response.result != "OK":
            raise ImapError(f"cannot select folder {self.mailbox.folder!r}")
        if self.mailbox.after == "move":
            await client.create(self.mailbox.move_to)  # NO when it exists already: fine
        for line in response.lines:
            if found := _UIDVALIDITY.search(bytes(line)):
                return int(found.group(1))
        raise ImapError("the server sent no UIDVALIDITY")

    async def fetch_new(self, client: aioimaplib.IMAP4, position: Position) -> Position:
        """Hand over every message above the last UID, oldest first."""
        response = await client.uid_search(f"UID {position.last_uid + 1}:*")
        if response.result != "OK":
            raise ImapError("UID SEARCH failed")
        # "n:*" always matches the highest UID, even below n (RFC 3501 §6.4.8).
        uids = sorted(int(u) for u in bytes(response.lines[0]).split() if int(u) > position.last_uid)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            for uid, raw in await self._fetch(client, batch):
                await self.accept(raw, self.mailbox)
                # Flag (or move) before saving the position: a stop in between
                # then offers the message again (the dedupe step drops it) rather
                # than leaving it accepted but never flagged.
                await self._after(client, uid)
                position = Position(position.uidvalidity, uid)
                await save_position(self.hub, self.key, position)
        if uids:
            log.info("imap %s: took %d messages", self.mailbox.name, len(uids))
        return position

    async def _fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        response = await client.uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        if response.result != "OK":
            raise ImapError("UID FETCH failed")
        messages = []
        uid = None
        for line in response.lines:
            if isinstance(line, bytearray) and uid is not None:
                messages.append((uid, bytes(line)))
                uid = None
            elif found := _UID.search(line):
                uid = int(found.group(1))
        return sorted(messages)

    async def _after(self, client: aioimaplib.IMAP4, uid: int) -> None:
        after = self.mailbox.after
        if after == "move" and "MOVE" in client.protocol.capabilities:
            await client.uid("move", str(uid), self.mailbox.move_to)
        elif after in ("move", "delete"):
            if after == "move":
                await client.uid("copy", str(uid), self.mailbox.move_to)
            await client.uid("store", str(uid), "+FLAGS", r"(\Deleted)")
            await client.expunge()
        else:
            await client.uid("store", str(uid), "+FLAGS", r"(\Seen)")

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await client.idle_start(timeout=IDLE_SECONDS)
        try:
            await client.wait_server_push(timeout=IDLE_SECONDS + 60)
        finally:
            client.idle_done()
            await asyncio.wait_for(idle, timeout=30)
