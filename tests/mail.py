"""Real SMTP for tests: a relay (aiosmtpd) that keeps what it receives, and a hub
whose SMTP receiver listens on a free loopback port."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from contactcenter.hub import Hub
from contactcenter.outbound.outbox import OutboxWorker
from tests.polling import eventually
from tests.hubprocess import free_port

SUPPORT = "support@example.com"


class Relay:
    """An SMTP server standing in for the outbound relay; `messages` are what reached it, `peers` from where."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.peers: list[Any] = []  # the client's (host, port) of each message: one per connection it used
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.peers.append(session.peer)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> Relay:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


async def deliver_until(hub: Hub, relay: Relay, count: int, timeout: float = 10.0) -> None:
    """Run outbox rounds until the relay holds `count` messages."""
    worker = OutboxWorker(hub)

    async def delivered() -> bool:
        await worker.deliver_due()
        return len(relay.messages) >= count

    await eventually(delivered, timeout, f"{count} messages at the relay")


def make_mail(
    *,
    sender: str = "alice@example.com",
    to: str = SUPPORT,
    subject: str = "My printer is on fire",
    text: str = "Hello,\n\nmy printer is on fire. What now?\n\nAlice",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=sender.rpartition("@")[2])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    return msg


async def send_mail(port: int, message: EmailMessage | bytes, *, sender: str | None = None, recipients: list[str] | None = None) -> str:
    """Send through the hub's SMTP receiver; -> the server's final answer text."""
    if isinstance(message, bytes):
        # The null reverse-path `<>` of bounces (RFC 5321 §4.5.5) needs the low-level calls.
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
            await smtp.mail(sender or "")
            for recipient in recipients or [SUPPORT]:
                await smtp.rcpt(recipient)
            response = await smtp.data(message)
        return response.message
    else:
        _, answer = await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=sender, recipients=recipients)
    return answer
