"""Calls over HTTP for people: the softphone's token and heartbeat, the ticket page's call
controls (transfer, hold, resume, call the customer), recordings, the callback list.

Forms post and redirect back (303) with a notice, like the rest of the
workspace; what went wrong comes back as `?call_error=` text for the page.
The recording is streamed from the provider through the hub: the browser gets
the audio from a path of ours, never Twilio's URL or the account's credentials.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from contactcenter.db import queries
from contactcenter.db.models import Agent, utcnow
from contactcenter.errors import AuthError, ConflictError, ForbiddenError, InputError
from contactcenter.events import Event
from contactcenter.keys import HUB
from contactcenter.settings import TEMPLATES_DIR
from contactcenter.voice import callbacks, transfer
from contactcenter.voice.reach import HEARTBEAT_SECONDS, softphone_identity
from contactcenter.voice.recordings import check_recording
from contactcenter.web.auth import Principal, authenticate
from contactcenter.web.pages import SECURITY_HEADERS
from contactcenter.web.sessions import check_form, current_person, private_page, require_person, see_other

log = logging.getLogger(__name__)

# An Access Token lives an hour; the softphone asks for a new one before it
# expires (the SDK's tokenWillExpire), so a stolen one is soon useless.
TOKEN_TTL_SECONDS = 3600
STATIC = TEMPLATES_DIR / "static"
SCRIPTS = {"softphone.js": STATIC / "softphone.js", "vendor/twilio-voice.min.js": STATIC / "vendor" / "twilio-voice.min.js"}


def setup_voice(app: web.Application) -> None:
    app.router.add_get("/api/v1/agents/{id:\\d+}/voice-token", handle_voice_token)
    app.router.add_post("/agent/softphone", handle_softphone)
    app.router.add_post("/agent/tickets/{reference}/call/transfer", handle_transfer)
    app.router.add_post("/agent/tickets/{reference}/call/consult", handle_consult)
    app.router.add_post("/agent/tickets/{reference}/call/complete", handle_complete)
    app.router.add_post("/agent/tickets/{reference}/call/hold", handle_hold)
    app.router.add_post("/agent/tickets/{reference}/call/resume", handle_resume)
    app.router.add_post("/agent/tickets/{reference}/call", handle_call_customer)
    app.router.add_get("/agent/callbacks", handle_callbacks)
    app.router.add_get("/agent/calls/{interaction:\\d+}/recordings/{sid}", handle_recording)
    app.router.add_get("/static/softphone.js", handle_script)
    app.router.add_get("/static/vendor/twilio-voice.min.js", handle_script)


async def person_or_token(request: web.Request) -> Principal:
    """The signed-in person, else the holder of the bearer token; 401 for neither."""
    if request.headers.get("Authorization"):
        return await authenticate(request)
    person = await current_person(request)
    if person is None:
        raise AuthError("sign in, or send an API token as 'Authorization: Bearer <token>'", code="missing_token")
    return person.principal


async def handle_voice_token(request: web.Request) -> web.Response:
    """`{"identity": "agent-<id>", "token": …}` for that agent's softphone (DESIGN.md §6); the agent or an admin."""
    principal = await person_or_token(request)
    agent_id = int(request.match_info["id"])
    if principal.agent_id != agent_id and not principal.has_role("admin"):
        raise ForbiddenError("a voice token is only for its own agent (or an admin)")
    hub = request.app[HUB]
    async with hub.reads() as session:
        agent = await session.get(Agent, agent_id) if agent_id <= queries.MAX_ID else None
    if agent is None or not agent.active:
        raise InputError(f"no active agent {agent_id}", code="not_found", status=404)
    if hub.calls is None:
        raise ConflictError("calls are not configured on this hub", code="voice_not_configured", status=503)
    identity = softphone_identity(agent_id)
    token = hub.calls.voice_token(identity, TOKEN_TTL_SECONDS)
    return web.json_response({"identity": identity, "token": token, "ttl_seconds": TOKEN_TTL_SECONDS}, headers={"Cache-Control": "no-store"})


async def handle_softphone(request: web.Request) -> web.Response:
    """The softphone's heartbeat (`state=open`, every HEARTBEAT_SECONDS) and goodbye (`state=closed`)."""
    person, form = await _posted_form(request)
    state = str(form.get("state", ""))
    if state not in ("open", "closed"):
        raise InputError("state must be open or closed", fields={"state": "open or closed"})
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        agent = await session.get_one(Agent, person.id, with_for_update=True)
        was = agent.softphone_seen_at
        agent.softphone_seen_at = utcnow() if state == "open" else None
    if (was is None) != (state == "closed"):
        # Reachable or not changes whether calls may be given to them.
        hub.bus.publish(Event("agent.call", {"agent_id": person.id, "softphone": state}))
    return web.json_response({"state": state, "heartbeat_seconds": HEARTBEAT_SECONDS})


async def handle_transfer(request: web.Request) -> web.Response:
    """`target` = `queue:<name>` or `agent:<id>`: a cold transfer of the call and its ticket."""
    person, form = await _posted_form(request)
    kind, _, value = str(form.get("target", "")).partition(":")
    reference = request.match_info["reference"]
    if kind == "queue" and value:
        action = transfer.cold_transfer(request.app[HUB], reference, person.principal, queue_name=value)
    elif kind == "agent" and value.isdigit() and int(value) <= queries.MAX_ID:
        action = transfer.cold_transfer(request.app[HUB], reference, person.principal, agent_id=int(value))
    else:
        return _back(reference, error="bad_target")
    return await _done(reference, action, "transferred")


async def handle_consult(request: web.Request) -> web.Response:
    """Warm transfer: `agent=<id>`; the caller holds while the two agents talk."""
    person, form = await _posted_form(request)
    reference = request.match_info["reference"]
    value = str(form.get("agent", ""))
    if not (value.isdigit() and 0 < int(value) <= queries.MAX_ID):
        return _back(reference, error="bad_target")
    return await _done(reference, transfer.consult(request.app[HUB], reference, person.principal, int(value)), "consulting")


async def handle_complete(request: web.Request) -> web.Response:
    person, _ = await _posted_form(request)
    reference = request.match_info["reference"]
    return await _done(reference, transfer.complete_warm_transfer(request.app[HUB], reference, person.principal), "transferred")


async def handle_hold(request: web.Request) -> web.Response:
    person, _ = await _posted_form(request)
    reference = request.match_info["reference"]
    return await _done(reference, transfer.hold(request.app[HUB], reference, person.principal), "held")


async def handle_resume(request: web.Request) -> web.Response:
    person, _ = await _posted_form(request)
    reference = request.match_info["reference"]
    return await _done(reference, transfer.resume(request.app[HUB], reference, person.principal), "resumed")


async def handle_call_customer(request: web.Request) -> web.Response:
    """Call back / click-to-call: the agent's phone rings first, then the customer's."""
    person, _ = await _posted_form(request)
    reference = request.match_info["reference"]
    return await _done(reference, callbacks.start_callback(request.app[HUB], reference, person.id), "calling")


async def handle_callbacks(request: web.Request) -> web.Response:
    person = await require_person(request, "agent")
    async with request.app[HUB].reads() as session:
        rows = await callbacks.callback_list(session)
    return private_page(request, person, "agent_callbacks.html", rows=rows, now=utcnow(), limit=callbacks.LIST_LIMIT)


async def handle_recording(request: web.Request) -> web.StreamResponse:
    """Stream a recording the interaction names, fetched with the account's credentials."""
    await require_person(request, "agent")
    hub = request.app[HUB]
    sid = request.match_info["sid"]
    await check_recording(hub, int(request.match_info["interaction"]), sid)
    if hub.calls is None:
        raise ConflictError("calls are not configured on this hub", code="voice_not_configured", status=503)
    async with hub.calls.open_recording(sid, request.headers.get("Range", "")) as stream:
        response = web.StreamResponse(
            status=stream.status,
            headers={**stream.headers, "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )
        response.content_type = stream.content_type
        await response.prepare(request)
        if stream.chunks is not None:
            async for chunk in stream.chunks:
                await response.write(chunk)
        await response.write_eof()
    return response


async def handle_script(request: web.Request) -> web.Response:
    path = SCRIPTS[request.path.removeprefix("/static/")]
    vendor = "vendor/" in request.path
    return web.Response(
        body=path.read_bytes(),
        content_type="text/javascript",
        # The SDK bundle changes only with a release of the hub; our own script may change with a deploy.
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400" if vendor else "no-cache"},
    )


async def _posted_form(request: web.Request) -> tuple:  # type: ignore[type-arg]
    person = await require_person(request, "agent")
    form = await request.post()
    check_form(request, form)
    return person, form


async def _done(reference: str, action, notice: str) -> web.Response:  # type: ignore[no-untyped-def]
    try:
        await action
    except ForbiddenError:
        return _back(reference, error="forbidden")
    except ConflictError as exc:
        return _back(reference, error=exc.code or "provider_refused")
    return _back(reference, notice=notice)


def _back(reference: str, *, notice: str = "", error: str = "") -> web.Response:
    query = f"call_error={quote(error)}" if error else f"call={quote(notice)}"
    return see_other(f"/agent/tickets/{quote(reference)}?{query}#call-controls")


