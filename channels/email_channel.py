"""The email channel: receives through the SMTP receiver and IMAP pollers, sends through the relay.

Sending builds one RFC 5322 message per OutboundMessage: our own Message-ID
(the one `actions.do_reply` recorded, so replies to it thread back),
In-Reply-To and References (RFC 5322 §3.6.4), the ticket reference in the
subject, text plus HTML, and for automatic messages the headers that keep
other auto-responders quiet (RFC 3834 Auto-Submitted, Exchange's
X-Auto-Response-Suppress).

Header values are built from plain text that no parser can read again as
something else: one line (control characters and line breaks removed), and
written by `PlainHeader`, which encodes the text itself (RFC 2047 encoded
words whenever it is not plain ASCII or could be mistaken for an encoded
word) instead of handing it to the email package's header parser. That parser
decodes encoded words in whatever it is given, so a stored subject
`=?utf-8?b?...?=` hiding CR/LF became real header lines (Python before the
CVE-2024-6923 fix) or an exception on every retry (after it). The finished
message is then checked to carry exactly the headers we wrote.
"""

from __future__ import annotations

import asyncio
import logging
import re
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import Policy
from email.utils import format_datetime, make_msgid
from typing import ClassVar

import aiosmtplib
from aiohttp import web

from contactcenter.channels.imap_wiring import setup_imap_pollers
from contactcenter.channels.smtp_server import setup_smtp_receiver
from contactcenter.contact import ChannelKind, OutboundMessage, SendReceipt
from contactcenter.db.models import utcnow
from contactcenter.errors import ChannelSendError
from contactcenter.hub import Hub
from contactcenter.outbound.messages import render_message
from contactcenter.plain_text import clean_line
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
            mime = build_mime(message, settings)
        except UnsafeHeaderError as exc:
            raise ChannelSendError(f"not sent: {exc}", retryable=False) from exc
        try:
            await self.relay.send(mime, settings)
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
        return SendReceipt(provider_id=str(mime["Message-ID"]), status="sent")


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

    async def send(self, mime: EmailMessage, settings: EmailSettings) -> None:
        try:
            client = await self._open(settings)
            await client.send_message(mime)
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


# A Message-ID as we write it: `<left@right>` with nothing that could end the header.
MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
SUBJECT_CHARS = 400


class UnsafeHeaderError(ValueError):
    """The message would not carry exactly the headers we meant to write; it is not sent."""


class PlainHeader(str):
    """A header whose value is plain text, folded and encoded here (RFC 5322 §2.2.3, RFC 2047 §2).

    The email policy writes an object with a `name` and `fold()` as it is
    (`EmailPolicy.header_store_parse`, `_fold`): its text never goes through
    the header parser, on any Python 3 version.
    """

    name: str

    def __new__(cls, name: str, text: str) -> PlainHeader:
        header = super().__new__(cls, " ".join(clean_line(text, SUBJECT_CHARS).split()))
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        plain = text.isascii() and "=?" not in text
        encoded = Header(text, "us-ascii" if plain else "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def build_mime(message: OutboundMessage, settings: EmailSettings) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = Address(addr_spec=settings.from_address)
    try:
        mime["To"] = Address(addr_spec=message.to)
    except (ValueError, IndexError) as exc:  # email.errors.HeaderParseError is a ValueError
        raise UnsafeHeaderError(f"the recipient is not one address: {exc}") from None
    subject = message.subject or "Your request"
    if message.ticket_reference and message.ticket_reference not in subject:
        subject = f"{subject} [{message.ticket_reference}]"
    mime["Subject"] = PlainHeader("Subject", subject)
    mime["Date"] = format_datetime(utcnow())
    mime["Message-ID"] = _message_id(message.message_id) or make_msgid(domain=settings.from_address.rpartition("@")[2] or None)
    in_reply_to = _message_id(message.in_reply_to)
    if in_reply_to:
        mime["In-Reply-To"] = in_reply_to
    references = [r for r in dict.fromkeys([*message.references, *([in_reply_to] if in_reply_to else [])]) if _message_id(r)]
    if references:
        mime["References"] = " ".join(references)
    if message.auto_submitted:
        mime["Auto-Submitted"] = "auto-replied"
        mime["X-Auto-Response-Suppress"] = "All"
    html = message.html
    if not html:
        paragraphs = [p.split("\n") for p in message.text.strip().split("\n\n") if p.strip()]
        _, html = render_message("reply", locale=message.language, text=message.text, paragraphs=paragraphs, reference=message.ticket_reference)
    mime.set_content(message.text)
    mime.add_alternative(html, subtype="html")
    check_headers_are_ours(mime)
    return mime


def _message_id(value: str) -> str:
    return value if MESSAGE_ID.fullmatch(value) else ""


def check_headers_are_ours(mime: EmailMessage) -> None:
    """Read the headers back as a receiver would: the same names, in order, and nothing more.

    Only the header block, folded as the generator writes it
    (`BytesGenerator._write_headers`): flattening and parsing the whole
    message cost a third of building an acknowledgement (issue 11), and the
    body cannot add headers to the top level.
    """
    folded = b"".join(mime.policy.fold_binary(name, value) for name, value in mime.raw_items())
    written = BytesHeaderParser().parsebytes(folded + b"\n")
    if [k.lower() for k in written.keys()] != [k.lower() for k in mime.keys()]:
        raise UnsafeHeaderError(f"headers would read back as {written.keys()}")
