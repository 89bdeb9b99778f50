"""The email channel: receives through the SMTP receiver and IMAP pollers, sends through the relay.

What a sent message looks like is `email_compose.py`'s; here it goes to the
relay over one kept connection, and the relay's answer becomes the outbox's
(retry, or give up).
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

import aiosmtplib
from aiohttp import web

from contactcenter.channels.email_compose import OutgoingMail, UnsafeHeaderError, compose
from contactcenter.channels.imap_wiring import setup_imap_pollers
from contactcenter.channels.smtp_server import setup_smtp_receiver
from contactcenter.contact import ChannelKind, OutboundMessage, SendReceipt
from contactcenter.errors import ChannelSendError
from contactcenter.hub import Hub
from contactcenter.settings import EmailSettings

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 60


class EmailChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.EMAIL
    can_send: ClassVar[bool] = True

    def __init__(self, hub: Hub):
        self.hub = hub
        self.relay = RelayConnection()

    def setup(self, app: web.Application) -> None:
        setup_smtp_receiver(app)
        setup_imap_pollers(app)
        app.on_cleanup.append(lambda _app: self.relay.close())

    async def send(self, message: OutboundMessage) -> SendReceipt:
        settings = self.hub.settings.email
        try:
            mail = compose(message, settings)
        except UnsafeHeaderError as exc:
            raise ChannelSendError(f"not sent: {exc}", retryable=False) from exc
        try:
            await self.relay.send(mail, settings)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise ChannelSendError(f"relay refused the recipient: {codes}", retryable=all(400 <= c < 500 for c in codes)) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # A wrong password is the operator's to fix; keep the mail until then.
            raise ChannelSendError(f"relay refused our login: {exc.code} {exc.message}", retryable=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ChannelSendError(f"relay answered {exc.code} {exc.message}", retryable=not 500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelSendError(f"relay unreachable: {exc.__class__.__name__}: {exc}", retryable=True) from exc
        return SendReceipt(provider_id=mail.message_id, status="sent")


class RelayConnection:
    """One SMTP connection to the relay, kept open from one message to the next.

    A new connection per message cost a TCP handshake, the greeting, EHLO (and
    STARTTLS and AUTH where set) and QUIT: more than the message itself when
    every inbound mail is acknowledged (docs/benchmarks.md). It is opened
    again when the relay has closed it (relays close idle sessions after a few
    minutes), when the relay settings change, or on another event loop. A send
    that fails midway is not repeated here: the outbox retries it.
    """

    def __init__(self) -> None:
        self.client: aiosmtplib.SMTP | None = None
        self.opened_for: tuple[object, ...] = ()

    async def send(self, mail: OutgoingMail, settings: EmailSettings) -> None:
        try:
            client = await self._open(settings)
            await client.sendmail(mail.sender, [mail.recipient], mail.data, mail_options=["SMTPUTF8"] if mail.smtputf8 else [])
        except BaseException:
            self._drop()  # whatever state the session is in, the next message starts afresh
            raise

    async def _open(self, settings: EmailSettings) -> aiosmtplib.SMTP:
        wanted = (
            asyncio.get_running_loop(), settings.relay_host, settings.relay_port,
            settings.relay_username, settings.relay_password, settings.relay_tls,
        )
        if self.client is not None and self.client.is_connected and self.opened_for == wanted:
            return self.client
        self._drop()
        client = aiosmtplib.SMTP(
            hostname=settings.relay_host,
            port=settings.relay_port,
            username=settings.relay_username or None,
            password=settings.relay_password or None,
            use_tls=settings.relay_tls == "tls",
            start_tls=settings.relay_tls == "starttls",
            timeout=SEND_TIMEOUT_SECONDS,
        )
        await client.connect()
        self.client, self.opened_for = client, wanted
        return client

    def _drop(self) -> None:
        """Forget the connection, closing its socket if its loop still runs (a closed loop took it along)."""
        client, self.client = self.client, None
        if client is not None and client.is_connected and not self.opened_for[0].is_closed():
            client.close()

    async def close(self) -> None:
        """QUIT, as the hub stops."""
        client = self.client
        if client is None or not client.is_connected or self.opened_for[0] is not asyncio.get_running_loop():
            self._drop()
            return
        self.client = None
        try:
            await client.quit(timeout=5)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()
