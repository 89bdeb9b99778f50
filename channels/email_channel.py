"""The email channel: receives through the SMTP receiver and IMAP pollers, sends through the relay.

Sending builds one RFC 5322 message per OutboundMessage: our own Message-ID
(the one `actions.do_reply` recorded, so replies to it thread back),
In-Reply-To and References (RFC 5322 §3.6.4), the ticket reference in the
subject, text plus HTML, and for automatic messages the headers that keep
other auto-responders quiet (RFC 3834 Auto-Submitted, Exchange's
X-Auto-Response-Suppress).
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
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
from contactcenter.settings import EmailSettings

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 60


class EmailChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.EMAIL
    can_send: ClassVar[bool] = True

    def __init__(self, hub: Hub):
        self.hub = hub

    def setup(self, app: web.Application) -> None:
        setup_smtp_receiver(app)
        setup_imap_pollers(app)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        settings = self.hub.settings.email
        mime = build_mime(message, settings)
        try:
            await aiosmtplib.send(
                mime,
                hostname=settings.relay_host,
                port=settings.relay_port,
                username=settings.relay_username or None,
                password=settings.relay_password or None,
                use_tls=settings.relay_tls == "tls",
                start_tls=settings.relay_tls == "starttls",
                timeout=SEND_TIMEOUT_SECONDS,
            )
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


def build_mime(message: OutboundMessage, settings: EmailSettings) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = Address(addr_spec=settings.from_address)
    mime["To"] = message.to
    subject = message.subject or "Your request"
    if message.ticket_reference and message.ticket_reference not in subject:
        subject = f"{subject} [{message.ticket_reference}]"
    mime["Subject"] = subject
    mime["Date"] = format_datetime(utcnow())
    mime["Message-ID"] = message.message_id or make_msgid(domain=settings.from_address.rpartition("@")[2] or None)
    if message.in_reply_to:
        mime["In-Reply-To"] = message.in_reply_to
    references = list(dict.fromkeys([*message.references, *([message.in_reply_to] if message.in_reply_to else [])]))
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
    return mime
