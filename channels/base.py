"""The one small interface every channel adapter implements."""

from __future__ import annotations

from typing import ClassVar, Protocol

from aiohttp import web

from contactcenter.contact import ChannelKind, OutboundMessage, SendReceipt


class Channel(Protocol):
    kind: ClassVar[ChannelKind]
    # Whether the outbox may hand this adapter messages to send.
    can_send: ClassVar[bool]

    def setup(self, app: web.Application) -> None:
        """Add routes, listeners and background tasks (`cleanup_ctx`) to the app."""

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Deliver one message; raise ChannelSendError(retryable=...) when it cannot."""
        ...
