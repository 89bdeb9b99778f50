"""The chat channel: a widget's message becomes an `InboundContact`, an agent's answer a push.

Only translation lives here; the sockets and the widget's routes are in
`contactcenter/chat/`. A message's client id is its provider id, so a message
the widget sends again after a dropped connection is dropped by the pipeline's
dedupe step. The visitor's email is *verified* only when the site signed it
(`[chat] identity_secret`); typed into the pre-chat step, it is claimed.

A visitor who gave no email still needs one customer across messages: they get
an address under the reserved `.invalid` domain (RFC 2606) that no mail is
ever sent to.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from aiohttp import web

from contactcenter.chat.routes import setup_chat
from contactcenter.chat.sockets import CHAT_SOCKETS
from contactcenter.chat.visitors import Visitor
from contactcenter.contact import Attachment, ChannelKind, Identity, InboundContact, OutboundMessage, SendReceipt
from contactcenter.db.models import utcnow
from contactcenter.hub import Hub

log = logging.getLogger(__name__)

ANONYMOUS_DOMAIN = "visitors.invalid"


class ChatChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.CHAT
    can_send: ClassVar[bool] = True

    def __init__(self, hub: Hub):
        self.hub = hub
        self.app: web.Application | None = None

    def setup(self, app: web.Application) -> None:
        if self.hub.settings.chat.enabled:
            self.app = app
            setup_chat(app)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Push the answer to the visitor's open widgets; a closed one reads it from the history when it comes back."""
        pushed = self.app[CHAT_SOCKETS].push(message.to, message) if self.app is not None else 0
        log.info("chat %s: answer %d pushed to %d connections", message.ticket_reference, message.interaction_id, pushed)
        return SendReceipt(provider_id=f"chat:{message.interaction_id}", status="delivered" if pushed else "sent")


def parse_chat_message(
    visitor: Visitor, client_id: str, text: str, *, offline: bool, attachments: tuple[Attachment, ...] = ()
) -> InboundContact:
    """The contact for one message of a visitor.

    `offline`: nobody can answer now. The message becomes a ticket answered by
    email, exactly as the web form's would (acknowledged by mail, threaded on
    its own), so it is a web contact.
    """
    evidence = "verified" if visitor.verified else "claimed"
    email = visitor.email or (f"{visitor.visitor_id.lower()}@{ANONYMOUS_DOMAIN}" if not offline else "")
    identities = (Identity(kind="email", value=email, evidence=evidence, is_reply_address=True),) if email else ()
    return InboundContact(
        channel=ChannelKind.WEB if offline else ChannelKind.CHAT,
        provider_id=f"chat:{visitor.visitor_id}:{client_id}",
        identities=identities,
        received_at=utcnow(),
        display_name=visitor.name,
        text=text,
        attachments=attachments,
        thread_hints=(visitor.reference,) if visitor.reference and not offline else (),
        source_address="chat",
        language=visitor.language,
        metadata={"chat_visitor": visitor.visitor_id, "client_id": client_id},
    )
