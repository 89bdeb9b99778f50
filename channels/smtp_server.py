"""The SMTP receiver inside `contactcenter serve` (aiosmtpd on the hub's own loop).

It speaks for the hub to mail servers, so the answers follow RFC 5321 §4.2:
550 at RCPT for mailboxes we do not have, 552 for mail over the size limit,
250 only once `accept_email` has stored the message, and 451 (try again later)
when it could not be stored. Mail servers retry 4xx, so a database outage
delays mail instead of losing it.

Bounded: at most `[email] max_smtp_sessions` sessions at once (421 to the
next, RFC 5321 §3.8), and at most `[email] max_bytes_in_memory` bytes of
received mail being parsed and stored at once (`ByteBudget`: a message that
would go over waits its turn before the 354, then gets 451 after
`MEMORY_WAIT_SECONDS`; one that outgrows its share while the budget is spent
gets 451 after its data). A message is
received into a file (`smtp_data.py`: in memory up to `[email] spool_bytes`,
then on disk), parsed from it, and read whole only to be stored. aiosmtpd's own
logger ("mail.log") writes peers' commands at INFO; its addresses are masked
like ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactcenter.channels.email_accept import accept_email
from contactcenter.channels.smtp_data import CHUNK_BYTES, read_data, spool_file
from contactcenter.errors import ContactCenterError, TemporaryError
from contactcenter.hub import Hub
from contactcenter.heap import give_back_memory, map_large_blocks
from contactcenter.keys import HUB
from contactcenter.identity.normalize import mask, normalize_email

log = logging.getLogger(__name__)

# A message that finds the memory budget spent waits this long for its turn.
MEMORY_WAIT_SECONDS = 30.0
# What a message that does not declare its SIZE holds of the budget before it grows.
UNDECLARED_BYTES = 64 * 1024
ADDRESS = re.compile(r"[^\s<>:'\"(),;]+@[^\s<>'\"(),;]+")

SMTP_PORT = web.AppKey("smtp_port", int)  # the bound port (config may say 0: any)


class MailboxHandler:
    """aiosmtpd handler: the SMTP codes are decided here and nowhere else."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.mailboxes = {a.lower() for a in hub.settings.email.addresses}
        self.budget = ByteBudget(hub.settings.email.max_bytes_in_memory)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if (normalize_email(address) or address.lower()) not in self.mailboxes:
            log.info("smtp: refused RCPT %s", mask(address))
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook, for a message in memory (BoundedSMTP calls `deliver` with its file instead)."""
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        envelope.content = envelope.original_content = None  # `raw` is the one copy from here on
        return await self.deliver(envelope, raw)

    async def deliver(self, envelope: Envelope, raw: bytes | IO[bytes]) -> str:
        """Store one received message; -> the SMTP reply."""
        try:
            await accept_email(
                self.hub, raw, recipients=list(envelope.rcpt_tos), source="smtp", envelope_from=envelope.mail_from or ""
            )
        except TemporaryError:
            log.warning("smtp: could not store a message from %s; asked the sender to retry", mask(envelope.mail_from or "<>"))
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        except Exception:  # noqa: BLE001 - nothing was stored, so the sender must keep it
            log.exception("smtp: unexpected failure; asked the sender to retry")
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 OK"


class SpoolingSMTP(SMTP):
    """aiosmtpd's SMTP, reading DATA with `smtp_data.read_data`: large chunks into a spool file.

    Lines in DATA may be as long as a whole message: RFC 5321 §4.5.3.1.6
    limits a line to 1,000 octets, but real clients send longer ones
    (unwrapped HTML, long text) and relays such as Postfix accept them;
    refusing them with 500 bounces real mail. The limit that protects the hub
    is data_size_limit ([email] max_message_bytes, 552 beyond it). Command
    lines keep aiosmtpd's own small limits.
    """

    # The stream reader's limit: command lines beyond it get 500, and it pauses
    # reading from a client once twice this much is waiting to be read.
    line_length_limit = CHUNK_BYTES

    def __init__(self, handler: Any, *, spool_bytes: int, spool_dir: Path, **kwargs: Any):
        super().__init__(handler, **kwargs)
        self.spool_bytes = spool_bytes
        self.spool_dir = spool_dir

    async def smtp_DATA(self, arg: str) -> None:
        # As aiosmtpd's smtp_DATA up to the 354 and after the end of data;
        # between them the message goes to a file, not into a list of lines.
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.receive_data()

    async def receive_data(self, hold: Hold | None = None) -> None:
        """354, the message into a spool file within `hold` (if any), then the handler's answer."""
        assert self.envelope is not None
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        with spool_file(self.spool_bytes, self.spool_dir) as spool:
            try:
                whole = await read_data(self._reader, spool, self.data_size_limit, hold.room if hold else None)
            except ConnectionResetError:
                log.info("smtp: connection lost during DATA")
                if self.transport is not None:
                    self.transport.close()
                return
            if whole:
                status = await self.event_handler.deliver(self.envelope, spool)
            elif hold is not None and hold.refused:
                log.warning("smtp: a message outgrew the memory budget; asked the sender to retry")
                status = "451 4.3.1 Too much mail in progress, please try again later"
            else:
                status = "552 Error: Too much mail data"
        self._set_post_data_state()
        await self.push(status)


class MemoryBudgetSpent(Exception):
    """The bytes of mail in progress would exceed the budget for longer than we wait."""


class ByteBudget:
    """Bytes of received mail being parsed and stored at once, bounded.

    A message holds what its sender declared (SIZE, RFC 1870: aiosmtplib and
    every mail server send it) or `UNDECLARED_BYTES`, from before the 354
    until it is stored, and waits for that much room before the 354. As it
    arrives its hold grows, without waiting (two growing messages waiting for
    each other would never finish): one that finds no room is read to its end
    and answered 451. A message larger than the whole budget still goes
    through, alone: the SMTP size limit (552) is what refuses mail for its size.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0
        self.changed = asyncio.Condition()

    def fits(self, size: int, own: int = 0) -> bool:
        return self.held == own or self.held + size <= self.limit

    @contextlib.asynccontextmanager
    async def hold(self, size: int, ceiling: int) -> AsyncIterator[Hold]:
        """Hold `size` bytes (waiting for room) that may grow up to `ceiling` while held."""
        async with self.changed:
            # Checked before waiting: wait_for would make a task and a timer for every message, room or not.
            if not self.fits(size):
                try:
                    await asyncio.wait_for(self.changed.wait_for(lambda: self.fits(size)), MEMORY_WAIT_SECONDS)
                except TimeoutError:
                    raise MemoryBudgetSpent() from None
            self.held += size
        hold = Hold(self, size, ceiling)
        try:
            yield hold
        finally:
            async with self.changed:
                self.held -= hold.size
                self.changed.notify_all()
                if self.held == 0:
                    give_back_memory()


class Hold:
    """One message's share of a ByteBudget; `room` is the `read_data` callback that grows it."""

    def __init__(self, budget: ByteBudget, size: int, ceiling: int):
        self.budget, self.size, self.ceiling = budget, size, ceiling
        self.refused = False

    def room(self, received: int) -> bool:
        """Whether `received` bytes fit in the hold, growing it (doubling, up to the ceiling) if the budget has room."""
        if self.refused:
            return False
        if received <= self.size:
            return True
        grown = min(max(received, 2 * self.size), max(self.ceiling, received))
        if not self.budget.fits(grown - self.size, own=self.size):
            self.refused = True
            return False
        self.budget.held += grown - self.size  # no await between the check and this: no other task runs
        self.size = grown
        return True


def declared_size(mail_options: list[str]) -> int | None:
    """The SIZE= of MAIL FROM (RFC 1870), which aiosmtpd has checked is digits within the limit."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


class BoundedSMTP(SpoolingSMTP):
    """The receiver's SMTP: DATA spooled (SpoolingSMTP), and 421 to sessions beyond `[email] max_smtp_sessions`."""

    def __init__(self, handler: MailboxHandler, *, sessions: list[int], max_sessions: int, **kwargs: Any):
        super().__init__(handler, **kwargs)
        self.sessions = sessions  # [count] shared by every session of one receiver
        self.max_sessions = max_sessions

    async def receive_data(self, hold: Hold | None = None) -> None:
        """Receive, parse and store one message within the memory budget (`ByteBudget`).

        Holding the declared size rather than the largest message allowed is
        what lets many small mails be received at once (and so be stored in
        one batch) while a burst of large ones still waits its turn.
        """
        assert self.envelope is not None
        limit = self.data_size_limit or 0
        declared = declared_size(self.envelope.mail_options)
        start = min(limit, UNDECLARED_BYTES) if declared is None else declared
        budget: ByteBudget = self.event_handler.budget
        try:
            async with budget.hold(start, ceiling=limit) as hold:
                await super().receive_data(hold)
        except MemoryBudgetSpent:
            log.warning("smtp: the memory budget for mail is spent; asked the sender to retry")
            await self.push("451 4.3.1 Too much mail in progress, please try again later")

    async def _handle_client(self) -> None:
        if self.sessions[0] >= self.max_sessions:
            log.warning("smtp: %d sessions open; refused one more with 421", self.sessions[0])
            await self.push("421 4.3.2 Too many connections, try again later")
            if self.transport is not None:
                self.transport.close()
            return
        self.sessions[0] += 1
        try:
            await super()._handle_client()
        finally:
            self.sessions[0] -= 1


class MaskAddresses(logging.Filter):
    """Masks mail addresses in aiosmtpd's log records (`MAIL FROM:<alice@…>`, `recip: …`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "@" not in message:  # no address to mask (most of aiosmtpd's lines): the regex need not run
            return True
        masked = ADDRESS.sub(lambda m: mask(m.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


AIOSMTPD_LOG = logging.getLogger("mail.log")
if not any(isinstance(f, MaskAddresses) for f in AIOSMTPD_LOG.filters):
    AIOSMTPD_LOG.addFilter(MaskAddresses())


def setup_smtp_receiver(app: web.Application) -> None:
    """Run the receiver for the app's lifetime when `[email] smtp_host` is set."""
    if app[HUB].settings.email.smtp_host:
        app.cleanup_ctx.append(_smtp_receiver)


async def _smtp_receiver(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    settings = hub.settings.email
    handler = MailboxHandler(hub)
    map_large_blocks()
    loop = asyncio.get_running_loop()

    sessions = [0]

    def protocol() -> Any:
        return BoundedSMTP(
            handler,
            sessions=sessions,
            max_sessions=settings.max_smtp_sessions,
            data_size_limit=settings.max_message_bytes,  # 552 beyond it (RFC 1870)
            spool_bytes=settings.spool_bytes,
            spool_dir=hub.settings.data_dir() / "spool",
            enable_SMTPUTF8=True,
            ident="contactcenter",
            loop=loop,
        )

    try:
        server = await loop.create_server(protocol, host=settings.smtp_host, port=settings.smtp_port)
    except OSError as exc:  # the hub cannot start without it: one line, no traceback
        if exc.errno == errno.EADDRINUSE:
            raise ContactCenterError(f"SMTP port {settings.smtp_port} is in use ([email] smtp_port)") from None
        raise ContactCenterError(f"cannot receive SMTP on {settings.smtp_host}:{settings.smtp_port}: {exc.strerror or exc} ([email] smtp_host, smtp_port)") from None
    app[SMTP_PORT] = server.sockets[0].getsockname()[1]
    log.info("smtp: receiving on %s:%s for %d mailboxes", settings.smtp_host, app[SMTP_PORT], len(handler.mailboxes))
    yield
    server.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.wait_closed(), 5)
