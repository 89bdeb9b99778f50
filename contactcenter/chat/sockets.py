"""The widgets open in this process, by visitor and by the ticket they show: where pushes go.

Each open widget is a `ChatConnection` (a WebSocket, or a server-sent event
stream where WebSockets are blocked) with a small queue its handler writes
from, so pushing never waits on a slow socket. A widget that is not open here
loses nothing: the answer is on the ticket, and the widget reads the
conversation again when it connects.

Connections are kept by visitor too: a message posted outside the stream (the
fallback's POST, an attachment upload) may open the visitor's ticket, and the
visitor's open streams must then follow that ticket.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from contactcenter.chat.visitors import Visitor
from contactcenter.contact import OutboundMessage

# Frames waiting for one widget, at most; a widget that falls this far behind is closed and reconnects.
QUEUE_FRAMES = 100


@dataclass(eq=False)
class ChatConnection:
    """One widget's connection; `socket` is None for an event stream or a single POST."""

    socket: web.WebSocketResponse | None = None
    visitor: Visitor | None = None
    reference: str = ""
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    last_typing: float = 0.0  # loop time of the last typing signal relayed (throttle)

    def offer(self, frame: dict[str, Any]) -> bool:
        try:
            self.frames.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def drain(self) -> list[dict[str, Any]]:
        frames = []
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return frames

    async def close(self) -> None:
        """Cut the connection (the widget reconnects and resends what was not acknowledged)."""
        self.closing.set()
        if self.socket is not None:
            await self.socket.close()


class ChatSockets:
    def __init__(self) -> None:
        self.by_reference: dict[str, set[ChatConnection]] = defaultdict(set)
        self.by_visitor: dict[str, set[ChatConnection]] = defaultdict(set)
        self.typing_at: dict[str, float] = {}  # visitor id -> when their typing was last relayed
        self.availability: tuple[float, bool] | None = None  # (good until, someone can chat): routes.can_answer_now

    def may_signal_typing(self, visitor_id: str, now: float, every: float) -> bool:
        """At most one typing signal per visitor every `every` seconds, whatever the transport."""
        if now - self.typing_at.get(visitor_id, float("-inf")) < every:
            return False
        if len(self.typing_at) > 10_000:  # forget visitors who stopped typing long ago
            self.typing_at = {key: at for key, at in self.typing_at.items() if now - at < every}
        self.typing_at[visitor_id] = now
        return True

    def join(self, connection: ChatConnection, visitor: Visitor) -> None:
        """An open connection of this visitor, on their ticket if they have one."""
        self.leave(connection)
        connection.visitor = visitor
        connection.reference = visitor.reference
        self.by_visitor[visitor.visitor_id].add(connection)
        if visitor.reference:
            self.by_reference[visitor.reference].add(connection)

    def leave(self, connection: ChatConnection) -> None:
        _discard(self.by_reference, connection.reference, connection)
        if connection.visitor is not None:
            _discard(self.by_visitor, connection.visitor.visitor_id, connection)

    def follow(self, visitor: Visitor) -> None:
        """The visitor is on a new ticket (or none, after the chat ended): their open connections follow."""
        for connection in list(self.by_visitor.get(visitor.visitor_id, ())):
            self.join(connection, visitor)

    def open_on(self, reference: str) -> list[ChatConnection]:
        return list(self.by_reference.get(reference, ()))

    def push(self, reference: str, message: OutboundMessage) -> int:
        """Hand the answer to every widget open on that ticket; -> how many took it."""
        frame = {"type": "message", "id": message.interaction_id, "from": "agent", "text": message.text}
        return self.offer_all(reference, frame)

    def offer_all(self, reference: str, frame: dict[str, Any]) -> int:
        return sum(connection.offer(frame) for connection in self.open_on(reference))


def _discard(index: dict[str, set[ChatConnection]], key: str, connection: ChatConnection) -> None:
    if key and (open_ones := index.get(key)) is not None:
        open_ones.discard(connection)
        if not open_ones:
            del index[key]


CHAT_SOCKETS = web.AppKey("chat_sockets", ChatSockets)
