"""The widgets open in this process, by the ticket they show: where an agent's answer is pushed.

Each open widget is a `ChatConnection` with a small queue its handler writes
from, so pushing never waits on a slow socket. A widget that is not open here
loses nothing: the answer is on the ticket, and the widget reads the
conversation again when it connects.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from contactcenter.contact import OutboundMessage

# Frames waiting for one widget, at most; a widget that falls this far behind is closed and reconnects.
QUEUE_FRAMES = 100


@dataclass(eq=False)
class ChatConnection:
    socket: web.WebSocketResponse
    reference: str = ""
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))

    def offer(self, frame: dict[str, Any]) -> bool:
        try:
            self.frames.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True


class ChatSockets:
    def __init__(self) -> None:
        self.by_reference: dict[str, set[ChatConnection]] = defaultdict(set)

    def join(self, connection: ChatConnection, reference: str) -> None:
        self.leave(connection)
        connection.reference = reference
        self.by_reference[reference].add(connection)

    def leave(self, connection: ChatConnection) -> None:
        if connection.reference and (open_ones := self.by_reference.get(connection.reference)) is not None:
            open_ones.discard(connection)
            if not open_ones:
                del self.by_reference[connection.reference]

    def open_on(self, reference: str) -> list[ChatConnection]:
        return list(self.by_reference.get(reference, ()))

    def push(self, reference: str, message: OutboundMessage) -> int:
        """Hand the answer to every widget open on that ticket; -> how many took it."""
        frame = {"type": "message", "id": message.interaction_id, "from": "agent", "text": message.text}
        return sum(connection.offer(frame) for connection in self.open_on(reference))


CHAT_SOCKETS = web.AppKey("chat_sockets", ChatSockets)
