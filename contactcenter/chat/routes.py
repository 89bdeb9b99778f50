"""The widget's routes: its script, the WebSocket it talks to the hub over, and the fallback.

Frames are JSON. The widget opens with `hello` (its token from localStorage,
or the pre-chat name and email and the site's signed identity) and gets
`welcome` (a new token, whether someone can answer now, the conversation so
far). Each `message` carries the widget's client id and is answered by `ack`
once the pipeline stored it; the widget keeps what was not acknowledged and
sends it again after reconnecting, and the dedupe step drops the repeats.
`typing` says the visitor is writing (relayed to the agents on the ticket,
never stored); `end` ends the chat.

Where WebSockets are blocked (a proxy, a browser policy) the widget uses
plain HTTP, with the same frames and the same origin check: `POST
/chat/messages` takes one frame (the token in it) and answers with the frames
the socket would have sent back (`{"frames": [...]}`), and `GET
/chat/events?token=…` is a server-sent event stream (HTML Living Standard
§9.2) of what is pushed: `welcome` first, then answers, typing, the end.
The POST is sent as `text/plain` so that browsers send it without a CORS
preflight; the answers carry `Access-Control-Allow-Origin` for allowed
origins only. Attachments go by `POST /chat/attachments` (multipart) on
either transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web
from sqlalchemy import select

from contactcenter.chat.ending import do_end_chat, is_chat_ended
from contactcenter.chat.sockets import CHAT_SOCKETS, ChatConnection, ChatSockets
from contactcenter.chat.visitors import Visitor, is_signed_identity, issue_token, new_visitor, read_token
from contactcenter.contact import Attachment
from contactcenter.db import queries
from contactcenter.db.models import Agent, Interaction, format_reference, parse_reference, utcnow
from contactcenter.errors import InputError, TemporaryError
from contactcenter.events import Event
from contactcenter.hub import Hub
from contactcenter.i18n import gettext as _, normalize_language, reading_as
from contactcenter.identity.normalize import is_text, normalize_email, normalize_name
from contactcenter.keys import HUB, STREAMS_CLOSING
from contactcenter.pipeline.run import ContactKeptForReplay, accept, ingest
from contactcenter.routing.calendars import is_open, parse_calendar
from contactcenter.settings import TEMPLATES_DIR

log = logging.getLogger(__name__)

SCRIPT = TEMPLATES_DIR / "static" / "chat-widget.js"
MAX_FRAME_BYTES = 16 * 1024
MAX_CLIENT_ID_CHARS = 64
HISTORY_LIMIT = 200
# The visitor's typing reaches agents at most this often (the widget sends no more often either).
TYPING_SECONDS = 2.0
# How long who is available may be remembered (an agent's presence change forgets it at once).
AVAILABILITY_SECONDS = 1.0
# An idle event stream sends a comment this often, so proxies keep it open and a gone widget is noticed.
STREAM_IDLE_SECONDS = 15.0
MAX_FILENAME_CHARS = 200


def setup_chat(app: web.Application) -> None:
    app[CHAT_SOCKETS] = ChatSockets()
    app.router.add_get("/chat/widget.js", handle_widget)
    app.router.add_get("/chat/ws", handle_socket)
    app.router.add_get("/chat/events", handle_events)
    app.router.add_post("/chat/messages", handle_post)
    app.router.add_post("/chat/attachments", handle_attachments)
    app.router.add_route("OPTIONS", "/chat/messages", handle_preflight)
    app.router.add_route("OPTIONS", "/chat/attachments", handle_preflight)
    app.cleanup_ctx.append(_relay)


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
        "messages": _("Conversation"),
        "end": _("End the chat"),
        "ended": _("The chat has ended."),
        "ended_by_agent": _("The agent ended the chat."),
        "survey": _("How did we do? Rate this chat"),
        "attach": _("Attach a file"),
        "attached": _("Attachment: {name}"),
        "too_large": _("This file is too large to send."),
        "new_chat": _("Write again to start a new chat."),
    }


async def handle_widget(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    strings = {}
    for locale in hub.settings.i18n.locales:
        with reading_as(locale):
            strings[locale] = widget_strings()
    config = {
        "strings": strings,
        "default": hub.settings.i18n.default_locale,
        "max_attachment_bytes": hub.settings.email.max_attachment_bytes,
        "typing_seconds": TYPING_SECONDS,
    }
    body = SCRIPT.read_text(encoding="utf-8").replace("/*CONFIG*/{}", json.dumps(config, ensure_ascii=False))
    return web.Response(text=body, content_type="text/javascript", headers={"Cache-Control": "no-cache"})


def origin_allowed(hub: Hub, request: web.Request) -> bool:
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin in hub.settings.chat.allowed_origins


def _allowed_origin(request: web.Request) -> dict[str, str]:
    """The CORS headers of an answer to an allowed origin; 403 for any other."""
    if not origin_allowed(request.app[HUB], request):
        raise web.HTTPForbidden(text="this origin may not open a chat")
    return {"Access-Control-Allow-Origin": request.headers["Origin"], "Vary": "Origin"}


# -- transports --------------------------------------------------------------------------------


async def handle_socket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    if not origin_allowed(hub, request):
        raise web.HTTPForbidden(text="this origin may not open a chat")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    connection = ChatConnection(socket=ws)
    sockets = request.app[CHAT_SOCKETS]
    writer = asyncio.create_task(_write(ws, connection))
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                try:
                    data = json.loads(frame.data)
                except ValueError:
                    data = None
                await answer(hub, sockets, connection, data, live=True)
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


async def handle_events(request: web.Request) -> web.StreamResponse:
    """The fallback's downstream: `welcome`, then every frame pushed to the widget, as server-sent events."""
    hub = request.app[HUB]
    headers = _allowed_origin(request)
    visitor = read_token(hub.secret_key, request.query.get("token", "")[:2000])
    if visitor is None:
        raise web.HTTPBadRequest(text="a chat token is needed", headers=headers)
    sockets = request.app[CHAT_SOCKETS]
    connection = ChatConnection()
    await _welcome(hub, sockets, connection, visitor, live=True)
    response = web.StreamResponse(headers={**headers, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    closing = request.app.get(STREAMS_CLOSING) or asyncio.Event()  # set on shutdown where the workspace runs
    try:
        await response.write(b"retry: 2000\n\n")
        while not (connection.closing.is_set() or closing.is_set()):
            frame = await _next_frame(connection, closing)
            await response.write(f"data: {json.dumps(frame)}\n\n".encode() if frame else b": idle\n\n")
    except ConnectionResetError:
        log.debug("chat event stream closed by the widget")
    finally:
        sockets.leave(connection)
    return response


async def _next_frame(connection: ChatConnection, closing: asyncio.Event) -> dict[str, Any] | None:
    if not connection.frames.empty():
        return connection.frames.get_nowait()
    got = asyncio.ensure_future(connection.frames.get())
    stop = asyncio.ensure_future(connection.closing.wait())
    shutdown = asyncio.ensure_future(closing.wait())
    try:
        await asyncio.wait({got, stop, shutdown}, timeout=STREAM_IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stop, shutdown):
            task.cancel()
        if not got.done():
            got.cancel()
    if got.done() and not got.cancelled():
        return got.result()
    return None


async def handle_post(request: web.Request) -> web.Response:
    """The fallback's upstream: one frame in, the frames the WebSocket would answer with out."""
    hub = request.app[HUB]
    headers = _allowed_origin(request)
    body = await request.read()
    if len(body) > MAX_FRAME_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FRAME_BYTES, actual_size=len(body), headers=headers)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    connection = ChatConnection()
    sockets = request.app[CHAT_SOCKETS]
    if isinstance(data, dict) and data.get("type") != "hello":
        connection.visitor = _token_visitor(hub, data)
    await answer(hub, sockets, connection, data, live=False)
    return web.json_response({"frames": connection.drain()}, headers=headers)


async def handle_preflight(request: web.Request) -> web.Response:
    headers = _allowed_origin(request)
    return web.Response(
        status=204,
        headers={**headers, "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600"},
    )


async def handle_attachments(request: web.Request) -> web.Response:
    """A message with files (multipart: token, client_id, text, file…), within `[email]`'s attachment limits."""
    hub = request.app[HUB]
    headers = _allowed_origin(request)
    limits = hub.settings.email
    fields: dict[str, str] = {}
    files: list[Attachment] = []
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InputError("nested multipart is not taken")
            if part.filename is None:
                fields[part.name or ""] = (await _read_limited(part, MAX_FRAME_BYTES)).decode("utf-8", "replace")
                continue
            if len(files) >= limits.max_attachments:
                raise InputError(_("At most {count} files can be sent at once.", count=limits.max_attachments))
            content = await _read_limited(part, limits.max_attachment_bytes)
            total += len(content)
            if total > limits.max_message_bytes:  # the whole message, as for a mail
                raise _TooLarge
            files.append(
                Attachment(
                    filename=part.filename[:MAX_FILENAME_CHARS],
                    content_type=part.headers.get("Content-Type", "application/octet-stream")[:100],
                    content=content,
                )
            )
    except _TooLarge:
        return web.json_response(
            {"error": {"code": "too_large", "message": _("This file is too large to send.")}}, status=413, headers=headers
        )
    except (InputError, ValueError, AssertionError) as exc:
        return web.json_response({"error": {"code": "bad_request", "message": str(exc)}}, status=400, headers=headers)
    if not files:
        return web.json_response({"error": {"code": "bad_request", "message": "no file"}}, status=400, headers=headers)
    data = {"type": "message", "client_id": fields.get("client_id", ""), "text": fields.get("text", ""), "token": fields.get("token", "")}
    connection = ChatConnection(visitor=_token_visitor(hub, data))
    await answer(hub, request.app[CHAT_SOCKETS], connection, data, live=False, attachments=tuple(files))
    return web.json_response({"frames": connection.drain()}, headers=headers)


class _TooLarge(Exception):
    pass


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return part.decode(b"".join(chunks))


def _token_visitor(hub: Hub, data: dict[str, Any]) -> Visitor:
    value = data.get("token", "")
    visitor = read_token(hub.secret_key, value[:2000]) if isinstance(value, str) else None
    if visitor is None:
        raise web.HTTPBadRequest(text="a chat token is needed: say hello first")
    return visitor


# -- frames --------------------------------------------------------------------------------------


async def answer(
    hub: Hub, sockets: ChatSockets, connection: ChatConnection, data: Any, *, live: bool, attachments: tuple[Attachment, ...] = ()
) -> None:
    """Act on one frame from a widget; what goes back is offered on `connection`."""
    try:
        if not isinstance(data, dict):
            raise InputError("a frame is a JSON object")
        kind = data.get("type")
        if kind == "hello":
            await _hello(hub, sockets, connection, data, live=live)
        elif connection.visitor is None:
            raise InputError("say hello first")
        elif kind == "message":
            await _message(hub, sockets, connection, connection.visitor, data, attachments)
        elif kind == "typing":
            _typing(hub, sockets, connection.visitor)
        elif kind == "end":
            await _end(hub, connection.visitor)
        else:
            raise InputError("unknown frame type")
    except InputError as exc:
        connection.offer({"type": "error", "message": str(exc), "client_id": data.get("client_id", "") if isinstance(data, dict) else ""})
    except TemporaryError:
        connection.offer({"type": "error", "message": "try again", "retry": True})


async def _hello(hub: Hub, sockets: ChatSockets, connection: ChatConnection, data: dict[str, Any], *, live: bool) -> None:
    visitor = read_token(hub.secret_key, _field(data, "token", 2000)) if data.get("token") else None
    if visitor is None:
        visitor = _new_visitor(hub, data)
    await _welcome(hub, sockets, connection, visitor, live=live)


async def _welcome(hub: Hub, sockets: ChatSockets, connection: ChatConnection, visitor: Visitor, *, live: bool) -> None:
    ticket_id = parse_reference(visitor.reference) if visitor.reference else None
    if ticket_id is not None:
        async with hub.reads() as session:
            if await is_chat_ended(session, ticket_id):
                visitor = visitor.on_ticket("")  # the next message starts a new chat
    if live:
        sockets.join(connection, visitor)
    else:
        connection.visitor = visitor
    connection.offer(
        {
            "type": "welcome",
            "token": issue_token(hub.secret_key, visitor),
            "available": await can_answer_now(hub, sockets),
            "needs_email": not visitor.email,
            "history": await history(hub, visitor),
        }
    )


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


async def _message(
    hub: Hub, sockets: ChatSockets, connection: ChatConnection, visitor: Visitor, data: dict[str, Any],
    attachments: tuple[Attachment, ...],
) -> None:
    from contactcenter.channels.chat import parse_chat_message  # the adapter imports these routes

    client_id, text = _field(data, "client_id", MAX_CLIENT_ID_CHARS), _field(data, "text", hub.settings.web.max_message_chars).strip()
    if not client_id or not (text or attachments):
        raise InputError("a message needs a client_id and a text")
    offline = not visitor.reference and not await can_answer_now(hub, sockets)
    if offline and not visitor.email:
        connection.offer({"type": "error", "client_id": client_id, "message": _("Please give your email so we can answer you.")})
        return
    contact = parse_chat_message(visitor, client_id, text, offline=offline, attachments=attachments)
    raw = json.dumps({k: v for k, v in data.items() if k != "token"}).encode()
    if visitor.reference and not attachments:
        # The conversation has its ticket: accept, record, process, as for SMS. The ack
        # says the message is stored raw; the pipeline threads it onto the ticket right
        # after (its reference is the thread hint). A first message waits for the
        # pipeline instead: its ack carries the new ticket, which the next one needs.
        await accept(hub, contact, raw=raw)
        reference = visitor.reference
    else:
        try:
            result = await ingest(hub, contact, raw=raw)
            reference = "" if offline else result.reference
        except ContactKeptForReplay:
            reference = visitor.reference  # stored for a person to look at: acknowledged all the same
    if reference and reference != visitor.reference:
        visitor = visitor.on_ticket(reference)
        sockets.follow(visitor)  # every open widget of this visitor now shows this ticket
    connection.visitor = visitor
    connection.offer({"type": "ack", "client_id": client_id, "token": issue_token(hub.secret_key, visitor), "offline": offline})


def _typing(hub: Hub, sockets: ChatSockets, visitor: Visitor) -> None:
    """Tell the agents on the ticket that the visitor is writing: relayed, never stored, throttled."""
    ticket_id = parse_reference(visitor.reference) if visitor.reference else None
    if ticket_id is not None and sockets.may_signal_typing(visitor.visitor_id, asyncio.get_running_loop().time(), TYPING_SECONDS):
        hub.bus.publish(Event("chat.typing", {"ticket_id": ticket_id}))


async def _end(hub: Hub, visitor: Visitor) -> None:
    ticket_id = parse_reference(visitor.reference) if visitor.reference else None
    if ticket_id is None:
        return  # nothing was said yet: nothing to end
    async with hub.sessions() as session, session.begin():
        ticket = await queries.get_ticket(session, visitor.reference)
        ended = await do_end_chat(session, hub.settings, ticket, by="visitor", actor=f"chat:{visitor.visitor_id}")
    if ended is not None:
        hub.bus.publish_all(list(ended.events))


def _field(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (value and not is_text(value)):
        raise InputError(f"{key} must be text of at most {limit} characters")
    return value


# -- who can answer ------------------------------------------------------------------------------


def chat_is_open(hub: Hub, now: Any = None) -> bool:
    """Whether the chat queue's calendar is open now (a queue without a known calendar always is)."""
    settings = hub.settings
    queue = settings.routing.channel_queues.get("chat", settings.routing.default_queue)
    configured = settings.routing.queues.get(queue)
    calendar = settings.calendars.get(configured.calendar) if configured is not None and configured.calendar else None
    if calendar is None:
        return True
    return is_open(parse_calendar(calendar), now or utcnow())


async def can_answer_now(hub: Hub, sockets: ChatSockets) -> bool:
    """Someone can chat now: within the chat queue's business hours, and an agent who takes chats is available.

    Who is available is remembered for AVAILABILITY_SECONDS, and forgotten at
    once when an agent's presence changes (the relay hears `agent.presence`):
    under load the query waited for a database connection in the tail of
    every first message (docs/benchmarks.md).
    """
    if not chat_is_open(hub):
        return False
    now = asyncio.get_running_loop().time()
    if sockets.availability is not None and now < sockets.availability[0]:
        return sockets.availability[1]
    available = await someone_available(hub)
    sockets.availability = (now + AVAILABILITY_SECONDS, available)
    return available


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
        rows = (
            await session.execute(
                select(Interaction.id, Interaction.direction, Interaction.text, Interaction.meta)
                .where(Interaction.ticket_id == ticket_id, Interaction.channel == "chat", Interaction.direction != "internal")
                .order_by(Interaction.id)
                .limit(HISTORY_LIMIT)
            )
        ).all()
        files = await queries.attachments_by_interaction(session, [row.id for row in rows])
        return [
            {
                "id": row.id,
                "from": "visitor" if row.direction == "inbound" else "agent",
                "text": row.text,
                "client_id": (row.meta or {}).get("client_id", ""),
                "files": [a.filename for a in files.get(row.id, ())],
            }
            for row in rows
        ]


# -- what the hub pushes -------------------------------------------------------------------------


async def _relay(app: web.Application) -> AsyncIterator[None]:
    """Bus events for open widgets: an agent typing on the ticket, the chat ended."""
    task = asyncio.create_task(_relay_events(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _relay_events(app: web.Application) -> None:
    hub, sockets = app[HUB], app[CHAT_SOCKETS]
    async with hub.bus.subscribe() as queue:
        while True:
            event = await queue.get()
            if event.kind == "agent.presence":
                sockets.availability = None
                continue
            ticket_id = event.data.get("ticket_id")
            if not isinstance(ticket_id, int):
                continue
            try:
                if event.kind == "viewer.typing":
                    sockets.offer_all(format_reference(ticket_id), {"type": "typing"})
                elif event.kind == "chat.ended":
                    _ended(hub, sockets, format_reference(ticket_id), event.data)
            except Exception:  # noqa: BLE001 - one bad event must not stop the relay for every widget
                log.exception("chat relay: %s for ticket %s failed", event.kind, ticket_id)


def _ended(hub: Hub, sockets: ChatSockets, reference: str, data: dict[str, Any]) -> None:
    """Tell the widgets on the ticket; they leave it, with a token for a new chat."""
    for connection in sockets.open_on(reference):
        if connection.visitor is None:
            continue
        visitor = connection.visitor.on_ticket("")
        connection.offer(
            {"type": "ended", "by": data.get("by", ""), "survey": data.get("survey_path", ""), "token": issue_token(hub.secret_key, visitor)}
        )
        sockets.join(connection, visitor)
