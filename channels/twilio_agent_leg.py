"""The agent's side of a call: the TwiML that bridges them to their caller, and its callbacks.

  /webhooks/twilio/voice/agent            the agent picked up: a whisper (who, which ticket), then
                                          <Dial><Queue> of the caller's own queue (recorded when
                                          [voice] record_calls); a caller no longer waiting: hang up
  /webhooks/twilio/voice/agent/status     the agent leg's progress: answered, no answer, ended
  /webhooks/twilio/voice/agent/after      the <Dial> action: the caller left the agent (transfer,
                                          hold, hang-up); a held caller keeps the agent on the line
  /webhooks/twilio/voice/connecting       <Queue url>: runs for the caller as they are bridged
  /webhooks/twilio/voice/call-recording   the call's recording is ready
  /webhooks/twilio/voice/transferred      a caller the hub moved (Calls update): in line again
  /webhooks/twilio/voice/held             a caller put on hold: music until the agent comes back
  /webhooks/twilio/voice/voicemail        a caller nobody could take: voicemail
  /webhooks/twilio/voice/agent/outbound   a call back: the agent answered, now dial the customer

Which call and agent a request is about travels in the query string of URLs
the hub gave Twilio; Twilio's signature covers it, so it cannot be forged.
"""

from __future__ import annotations

import logging

from collections.abc import Awaitable, Callable
from gettext import gettext as _

from aiohttp import web
from twilio.twiml.voice_response import Dial, VoiceResponse

from contactcenter.channels.twilio_common import callback_url, read_signed_form, required, twiml_response
from contactcenter.channels.twilio_paths import (
    AGENT_AFTER_PATH,
    AGENT_PATH,
    AGENT_STATUS_PATH,
    CALL_RECORDING_PATH,
    CONSULT_PATH,
    CONSULT_STATUS_PATH,
    CONNECTING_PATH,
    HELD_PATH,
    HOLD_MUSIC_PATH,
    OUTBOUND_PATH,
    OUTBOUND_STATUS_PATH,
    QUEUE_PATH,
    TRANSFERRED_PATH,
    VOICEMAIL_PATH,
)
from contactcenter.errors import InputError
from contactcenter.keys import HUB
from contactcenter.voice import callbacks, connect, recordings, transfer

log = logging.getLogger(__name__)

# Record both sides, each on its own channel, from the moment the agent answers (<Dial record>).
RECORD_MODE = "record-from-answer-dual"
HELD_AGENT_PAUSE_SECONDS = 30


def setup_agent_leg(app: web.Application) -> None:
    app.router.add_post(AGENT_PATH, handle_agent_leg)
    app.router.add_post(AGENT_STATUS_PATH, handle_agent_leg_status)
    app.router.add_post(AGENT_AFTER_PATH, handle_after_dial)
    app.router.add_post(CONNECTING_PATH, handle_connecting)
    app.router.add_post(CONSULT_PATH, handle_consult)
    app.router.add_post(CONSULT_STATUS_PATH, handle_consult_status)
    app.router.add_post(CALL_RECORDING_PATH, handle_call_recording)
    app.router.add_post(TRANSFERRED_PATH, handle_transferred)
    app.router.add_post(HELD_PATH, handle_held)
    app.router.add_post(HOLD_MUSIC_PATH, handle_hold_music)
    app.router.add_post(VOICEMAIL_PATH, handle_voicemail)
    app.router.add_post(OUTBOUND_PATH, handle_outbound)
    app.router.add_post(OUTBOUND_STATUS_PATH, handle_outbound_status)


async def handle_agent_leg(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid")
    call_sid, agent_id = _call(request), _agent(request)
    plan = await connect.plan_agent_leg(hub, call_sid, agent_id, form["CallSid"])
    settings, voice = hub.settings, hub.settings.twilio.voice
    answer = VoiceResponse()
    if not plan.bridge:
        answer.say(_("This caller is no longer waiting. Thank you."), language=voice.language)
        answer.hangup()
        return twiml_response(answer)
    whisper = voice.agent_whisper.replace("{name}", plan.caller_name or "a new caller").replace("{reference}", plan.reference)
    answer.say(whisper, language=voice.language)
    dial = Dial(
        action=callback_url(settings, AGENT_AFTER_PATH, call=call_sid, agent=agent_id),
        method="POST",
        record=RECORD_MODE if plan.record else None,
        recording_status_callback=callback_url(settings, CALL_RECORDING_PATH, call=call_sid) if plan.record else None,
        recording_status_callback_method="POST" if plan.record else None,
        recording_status_callback_event="completed" if plan.record else None,
    )
    dial.queue(call_sid, url=callback_url(settings, CONNECTING_PATH, call=call_sid), method="POST")
    answer.append(dial)
    return twiml_response(answer)


async def handle_agent_leg_status(request: web.Request) -> web.Response:
    return await _leg_status(request, connect.record_agent_leg)


async def handle_after_dial(request: web.Request) -> web.Response:
    """The caller left the agent's <Dial>: a held caller keeps the agent waiting, else the leg ends."""
    hub = request.app[HUB]
    await read_signed_form(request)
    answer = VoiceResponse()
    if await transfer.is_on_hold(hub, _call(request)):
        answer.say(_("The caller is on hold."), language=hub.settings.twilio.voice.language)
        answer.pause(length=HELD_AGENT_PAUSE_SECONDS)
        answer.redirect(callback_url(hub.settings, AGENT_AFTER_PATH, call=_call(request), agent=_agent(request)), method="POST")
    else:
        answer.hangup()
    return twiml_response(answer)


async def handle_consult(request: web.Request) -> web.Response:
    """A warm transfer: both agents meet in a conference of their own while the caller holds."""
    hub = request.app[HUB]
    await read_signed_form(request)
    call_sid, agent_id = _call(request), _agent(request)
    consult = await transfer.consultation(hub, call_sid)
    answer = VoiceResponse()
    voice = hub.settings.twilio.voice
    if consult is None:
        answer.say(_("This call is no longer waiting. Thank you."), language=voice.language)
        answer.hangup()
        return twiml_response(answer)
    if consult.colleague_id == agent_id:
        answer.say(_("A colleague wants to hand you a call, ticket %(reference)s.") % {"reference": consult.reference}, language=voice.language)
    dial = Dial()
    # The colleague's leg ending never ends the room for the other; nobody records the consultation.
    dial.conference(f"consult-{call_sid}", start_conference_on_enter=True, end_conference_on_exit=False, beep="false")
    answer.append(dial)
    return twiml_response(answer)


async def handle_consult_status(request: web.Request) -> web.Response:
    return await _leg_status(request, connect.record_consult_leg)


async def _leg_status(request: web.Request, record: Callable[..., Awaitable[None]]) -> web.Response:
    """A status callback of an agent's leg (the query says whose, for which caller)."""
    form = await read_signed_form(request)
    required(form, "CallSid", "CallStatus")
    await record(
        request.app[HUB], _call(request), _agent(request), form["CallSid"], form["CallStatus"], duration_seconds=_int(form.get("CallDuration"))
    )
    return web.Response(status=204)


async def handle_connecting(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    await connect.note_caller_bridged(hub, _call(request), _int(form.get("QueueTime")))
    return twiml_response(VoiceResponse())


async def handle_call_recording(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "RecordingSid", "RecordingStatus")
    await recordings.attach_call_recording(
        hub, _call(request), form["RecordingSid"], status=form["RecordingStatus"], duration_seconds=_int(form.get("RecordingDuration"))
    )
    return web.Response(status=204)


async def handle_transferred(request: web.Request) -> web.Response:
    """A caller the hub moved to another queue or agent: they wait in line again."""
    from contactcenter.channels.twilio_voice import add_enqueue  # the caller's own queue, as on arrival

    hub = request.app[HUB]
    await read_signed_form(request)
    queue = await transfer.queue_of_call(hub, _call(request))
    answer = VoiceResponse()
    answer.say(hub.settings.twilio.voice.transfer_message, language=hub.settings.twilio.voice.language)
    add_enqueue(answer, hub.settings, _call(request), queue)
    return twiml_response(answer)


async def handle_held(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    await read_signed_form(request)
    answer = VoiceResponse()
    # The same queue of their own: the agent's leg dials it again to resume.
    answer.enqueue(
        _call(request),
        action=callback_url(hub.settings, QUEUE_PATH, queue=await transfer.queue_of_call(hub, _call(request))),
        method="POST",
        wait_url=callback_url(hub.settings, HOLD_MUSIC_PATH),
        wait_url_method="POST",
    )
    return twiml_response(answer)


async def handle_hold_music(request: web.Request) -> web.Response:
    from contactcenter.channels.twilio_voice import add_hold_music

    hub = request.app[HUB]
    await read_signed_form(request)
    answer = VoiceResponse()
    add_hold_music(answer, hub.settings)
    return twiml_response(answer)


async def handle_voicemail(request: web.Request) -> web.Response:
    from contactcenter.channels.twilio_voice import add_voicemail

    hub = request.app[HUB]
    await read_signed_form(request)
    answer = VoiceResponse()
    answer.say(hub.settings.twilio.voice.no_agent_message, language=hub.settings.twilio.voice.language)
    add_voicemail(answer, hub.settings)
    return twiml_response(answer)


async def handle_outbound(request: web.Request) -> web.Response:
    """A call back: the agent answered; dial the customer from the center's number."""
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid")
    target = await callbacks.customer_to_dial(hub, _ticket(request))
    answer = VoiceResponse()
    voice = hub.settings.twilio.voice
    if target is None:
        answer.say(_("This customer cannot be called now."), language=voice.language)
        answer.hangup()
        return twiml_response(answer)
    answer.say(_("Calling %(name)s, ticket %(reference)s.") % {"name": target.name or _("the customer"), "reference": target.reference}, language=voice.language)
    dial = Dial(
        caller_id=hub.settings.twilio.phone_number,
        record=RECORD_MODE if hub.settings.voice.record_calls else None,
        recording_status_callback=callback_url(hub.settings, CALL_RECORDING_PATH, call=form["CallSid"]) if hub.settings.voice.record_calls else None,
        recording_status_callback_event="completed" if hub.settings.voice.record_calls else None,
    )
    dial.number(target.number)
    answer.append(dial)
    return twiml_response(answer)


async def handle_outbound_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid", "CallStatus")
    await callbacks.record_callback_leg(
        hub, form["CallSid"], _agent(request), form["CallStatus"], duration_seconds=_int(form.get("CallDuration"))
    )
    return web.Response(status=204)


def _call(request: web.Request) -> str:
    value = request.query.get("call", "")
    if not (value.startswith("CA") and len(value) == 34 and value[2:].isalnum()):
        raise InputError("the webhook URL names no call", fields={"call": "required"})
    return value


def _agent(request: web.Request) -> int:
    return _positive(request, "agent")


def _ticket(request: web.Request) -> int:
    return _positive(request, "ticket")


def _positive(request: web.Request, name: str) -> int:
    value = request.query.get(name, "")
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**31):
        raise InputError(f"the webhook URL names no {name}", fields={name: "required"})
    return int(value)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() else None


