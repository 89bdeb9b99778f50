"""The widget's routes: its script, and the WebSocket it talks to the hub over.

Frames are JSON. The widget opens with `hello` (its token from localStorage,
or the pre-chat name and email and the site's signed identity) and gets
`welcome` (a new token, whether someone can answer now, the conversation so
far). Each `message` carries the widget's client id and is answered by `ack`
once the pipeline stored it; the widget keeps what was not acknowledged and
sends it again after reconnecting, and the dedupe step drops the repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import select

from contactcenter.chat.sockets import CHAT_SOCKETS, ChatConnection, ChatSockets
from contactcenter.chat.visitors import Visitor, is_signed_identity, issue_token, new_visitor, read_token
from contactcenter.db.models import Agent, Interaction, parse_reference
from contactcenter.errors import InputError, TemporaryError
from contactcenter.hub import Hub
from contactcenter.i18n import gettext as _, normalize_language, reading_as
from contactcenter.identity.normalize import is_text, normalize_email, normalize_name
from contactcenter.keys import HUB
from contactcenter.pipeline.run import ContactKeptForReplay, ingest
from contactcenter.settings import TEMPLATES_DIR

log = logging.getLogger(__name__)

SCRIPT = TEMPLATES_DIR / "static" / "chat-widget.js"
MAX_FRAME_BYTES = 16 * 1024
MAX_CLIENT_ID_CHARS = 64
HISTORY_LIMIT = 200


def setup_chat(app: web.Application) -> None:
    app[CHAT_SOCKETS] = ChatSockets()
    app.router.add_get("/chat/widget.js", handle_widget)
    app.router.add_get("/chat/ws", handle_socket)


def widget_strings() -> dict[str, str]:
    """What the widget says, in the current reader's language."""
    return {
        "title": _("Chat with us"),
        "open": _("Open the chat"),
        "close": _("Close the chat"),
        "name": _("Your name"),
        "email": _("Your email (optional)"),
        "start": _("Start the chat"),
        "message": _("Your message"),
        "send": _("Send"),
        "you": _("You"),
        "agent": _("Agent"),
        "typing": _("The agent is typing…"),
        "offline": _("Nobody can chat right now. Leave your message and your email: we will answer by email."),
        "email_needed": _("Please give your email so we can answer you."),
        "reconnecting": _("Connection lost, reconnecting…"),
        "refused": _("The chat is not available on this site."),
    }


async def handle_widget(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    strings = {}
    for locale in hub.settings.i18n.locales:
        with reading_as(locale):
            strings[locale] = widget_strings()
    config = {"strings": strings, "default": hub.settings.i18n.default_locale}
    body = SCRIPT.read_text(encoding="utf-8").replace("/*CONFIG*/{}", json.dumps(config, ensure_ascii=False))
    return web.Response(text=body, content_type="text/javascript", headers={"Cache-Control": "no-cache"})


def origin_allowed(hub: Hub, request: web.Request) -> bool:
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin in hub.settings.chat.allowed_origins


async def handle_socket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    if not origin_allowed(hub, request):
        raise web.HTTPForbidden(text="this origin may not open a chat")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    connection = ChatConnection(socket=ws)
    sockets = request.app[CHAT_SOCKETS]
    writer = asyncio.create_task(_write(ws, connection))
    visitor: Visitor | None = None
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(frame.data)
                if not isinstance(data, dict):
                    raise InputError("a frame is a JSON object")
                if data.get("type") == "hello":
                    visitor = await _hello(hub, sockets, connection, data)
                elif visitor is None:
                    raise InputError("say hello first")
                elif data.get("type") == "message":
                    visitor = await _message(hub, sockets, connection, visitor, data)
            except (ValueError, InputError) as exc:
                connection.offer({"type": "error", "message": str(exc)})
            except TemporaryError:
                connection.offer({"type": "error", "message": "try again", "retry": True})
    finally:
        sockets.leave(connection)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _write(ws: web.WebSocketResponse, connection: ChatConnection) -> None:
    while not ws.closed:
        frame = await connection.frames.get()
        with contextlib.suppress(ConnectionError):
            await ws.send_json(frame)


async def _hello(hub: Hub, sockets: ChatSockets, connection: ChatConnection, data: dict[str, Any]) -> Visitor:
    visitor = read_token(hub.secret_key, _field(data, "token", 2000)) if data.get("token") else None
    if visitor is None:
        visitor = _new_visitor(hub, data)
    if visitor.reference:
        sockets.join(connection, visitor.reference)
    connection.offer(
        {
            "type": "welcome",
            "token": issue_token(hub.secret_key, visitor),
            "available": await someone_available(hub),
            "needs_email": not visitor.email,
            "history": await history(hub, visitor),
        }
    )
    return visitor


def _new_visitor(hub: Hub, data: dict[str, Any]) -> Visitor:
    identity, identity_hash = _field(data, "identity", 320), _field(data, "identity_hash", 128)
    signed_email = normalize_email(identity) if is_signed_identity(hub.settings.chat.identity_secret, identity, identity_hash) else None
    typed = _field(data, "email", 320).strip()
    email = signed_email or (normalize_email(typed) if typed else None) or ""
    if typed and not email:
        raise InputError(_("This does not look like an email address."))
    language = normalize_language(_field(data, "language", 35)) or ""
    return new_visitor(
        name=normalize_name(_field(data, "name", 200)), email=email, verified=signed_email is not None, language=language
    )


async def _message(hub: Hub, sockets: ChatSockets, connection: ChatConnection, visitor: Visitor, data: dict[str, Any]) -> Visitor:
    from contactcenter.channels.chat import parse_chat_message  # the adapter imports these routes

    client_id, text = _field(data, "client_id", MAX_CLIENT_ID_CHARS), _field(data, "text", hub.settings.web.max_message_chars).strip()
    if not client_id or not text:
        raise InputError("a message needs a client_id and a text")
    offline = not visitor.reference and not await someone_available(hub)
    if offline and not visitor.email:
        connection.offer({"type": "error", "client_id": client_id, "message": _("Please give your email so we can answer you.")})
        return visitor
    contact = parse_chat_message(visitor, client_id, text, offline=offline)
    try:
        result = await ingest(hub, contact, raw=json.dumps(data).encode())
        reference = "" if offline else result.reference
    except ContactKeptForReplay:
        reference = visitor.reference  # stored for a person to look at: acknowledged all the same
    if reference and reference != visitor.reference:
        visitor = visitor.on_ticket(reference)
        sockets.join(connection, reference)
    connection.offer(
        {"type": "ack", "client_id": client_id, "token": issue_token(hub.secret_key, visitor), "offline": offline}
    )
    return visitor


def _field(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (value and not is_text(value)):
        raise InputError(f"{key} must be text of at most {limit} characters")
    return value


async def someone_available(hub: Hub) -> bool:
    """Whether an agent who takes chats is available now (their own chat capacity, else the default)."""
    default = hub.settings.routing.default_capacity.get("chat", 0)
    async with hub.sessions() as session:
        rows = await session.execute(select(Agent.capacity).where(Agent.active.is_(True), Agent.presence == "available"))
        return any(int((capacity or {}).get("chat", default)) > 0 for (capacity,) in rows)


async def history(hub: Hub, visitor: Visitor) -> list[dict[str, Any]]:
    """The conversation on the visitor's ticket: what they wrote and what agents answered on the chat."""
    ticket_id = parse_reference(visitor.reference) if visitor.reference else None
    if ticket_id is None:
        return []
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Interaction.id, Interaction.direction, Interaction.text, Interaction.meta)
            .where(Interaction.ticket_id == ticket_id, Interaction.channel == "chat", Interaction.direction != "internal")
            .order_by(Interaction.id)
            .limit(HISTORY_LIMIT)
        )
        return [
            {
                "id": row.id,
                "from": "visitor" if row.direction == "inbound" else "agent",
                "text": row.text,
                "client_id": (row.meta or {}).get("client_id", ""),
            }
            for row in rows
        ]
