"""The SMTP receiver inside `contactcenter serve` (aiosmtpd on the hub's own loop).

It speaks for the hub to mail servers, so the answers follow RFC 5321 §4.2:
550 at RCPT for mailboxes we do not have, 552 for mail over the size limit,
250 only once `accept_email` has stored the message, and 451 (try again later)
when it could not be stored. Mail servers retry 4xx, so a database outage
delays mail instead of losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactcenter.channels.email_accept import accept_email
from contactcenter.errors import ContactCenterError, TemporaryError
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.identity.normalize import mask, normalize_email

log = logging.getLogger(__name__)

SMTP_PORT = web.AppKey("smtp_port", int)  # the bound port (config may say 0: any)


class MailboxHandler:
    """aiosmtpd handler: the SMTP codes are decided here and nowhere else."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.mailboxes = {a.lower() for a in hub.settings.email.addresses}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if (normalize_email(address) or address.lower()) not in self.mailboxes:
            log.info("smtp: refused RCPT %s", mask(address))
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
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


class LongLineSMTP(SMTP):
    """aiosmtpd's SMTP, taking lines in DATA as long as a whole message may be.

    RFC 5321 §4.5.3.1.6 limits a line to 1,000 octets, but real clients send
    longer ones (unwrapped HTML, long text) and relays such as Postfix accept
    them; refusing them with 500 bounces real mail. The limit that protects
    the hub is data_size_limit ([email] max_message_bytes): a line never costs
    more memory than a message may. Command lines keep their own small limits.
    """

    def __init__(self, handler: Any, *, data_size_limit: int, **kwargs: Any):
        # Read by SMTP.__init__ (the stream reader's buffer) and by its DATA loop.
        self.line_length_limit = max(SMTP.line_length_limit, data_size_limit + 2)
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)


def setup_smtp_receiver(app: web.Application) -> None:
    """Run the receiver for the app's lifetime when `[email] smtp_host` is set."""
    if app[HUB].settings.email.smtp_host:
        app.cleanup_ctx.append(_smtp_receiver)


async def _smtp_receiver(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    settings = hub.settings.email
    handler = MailboxHandler(hub)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return LongLineSMTP(
            handler,
            data_size_limit=settings.max_message_bytes,  # 552 beyond it (RFC 1870)
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
