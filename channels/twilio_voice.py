"""Phone calls through Twilio: the greeting, the menu, the queue, voicemail, outcomes.

Every answer is TwiML built with the `twilio.twiml` builders, so verbs and
attributes are spelled as Twilio documents them. The call flow:

  /webhooks/twilio/voice          greeting (by name for a known caller), then the
                                  menu (<Gather> keys and speech); closed: voicemail
  /webhooks/twilio/voice/menu     the choice -> <Enqueue> into its queue with hold
                                  music, or voicemail when nobody of that queue is available
  /webhooks/twilio/voice/queue    <Enqueue> action: how the call left the queue
  /webhooks/twilio/voice/hold     waitUrl: the hold music
  /webhooks/twilio/voice/recorded, /recording, /transcription
                                  voicemail (<Record> action, recording status,
                                  transcription) -> onto the caller's ticket
  /webhooks/twilio/voice/status   call status callback: outcome and duration; a call
                                  nobody answered becomes a callback ticket

Each call is one interaction keyed by its CallSid; callbacks may come twice or
out of order, and each is applied idempotently by `contactcenter.voice.calls`.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import ClassVar

from aiohttp import web
from multidict import MultiDictProxy
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.twilio_agent_leg import setup_agent_leg
from contactcenter.channels.twilio_calls import TwilioCallControl
from contactcenter.channels.twilio_common import callback_url, geo, line_is_open, parse_number, read_signed_form, required, twiml_response
from contactcenter.channels.twilio_paths import (
    HOLD_PATH,
    MENU_PATH,
    QUEUE_PATH,
    RECORDED_PATH,
    RECORDING_PATH,
    STATUS_PATH,
    TRANSCRIPTION_PATH,
    VOICE_PATH,
)
from contactcenter.voice import calls, connect
from contactcenter.voice.waiting import minutes, queue_standing
from contactcenter.contact import ChannelKind, Identity, InboundContact, OutboundMessage, SendReceipt
from contactcenter.db.models import utcnow
from contactcenter.errors import ChannelSendError
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.identity.normalize import mask
from contactcenter.pipeline.run import ContactKeptForReplay, ingest
from contactcenter.routing.rules import fallback_queue
from contactcenter.settings import Settings, TwilioMenuOption
from contactcenter.web.params import parse_whole_number

log = logging.getLogger(__name__)

# Tries at the menu before the caller goes to the voice queue anyway.
MENU_ATTEMPTS = 2
MENU_TIMEOUT_SECONDS = 5
# <Enqueue> QueueResult values after which the caller is still on the line
# without an agent (the <Enqueue> docs): offer voicemail.
NO_AGENT_RESULTS = ("leave", "error", "system-error", "queue-full")
WORD = re.compile(r"\w+")


class TwilioVoiceChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.VOICE
    can_send: ClassVar[bool] = False  # answers to callers go by SMS or a callback

    def __init__(self, hub: Hub):
        self.hub = hub

    def setup(self, app: web.Application) -> None:
        control = TwilioCallControl(self.hub)
        self.hub.calls = control
        app.on_cleanup.append(lambda _app: control.close())
        setup_agent_leg(app)
        app.router.add_post(VOICE_PATH, handle_call)
        app.router.add_post(MENU_PATH, handle_menu)
        app.router.add_post(QUEUE_PATH, handle_queue_result)
        app.router.add_post(HOLD_PATH, handle_hold)
        app.router.add_post(RECORDED_PATH, handle_recorded)
        app.router.add_post(RECORDING_PATH, handle_recording_status)
        app.router.add_post(TRANSCRIPTION_PATH, handle_transcription)
        app.router.add_post(STATUS_PATH, handle_call_status)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        raise ChannelSendError("the voice channel does not send messages", retryable=False)


async def handle_call(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    settings = hub.settings
    form = await read_signed_form(request)
    contact = parse_call(form, settings)
    is_open = line_is_open(settings, contact.received_at)
    queue = None if settings.twilio.menu else voice_queue(settings)
    placed: calls.CallAnswer | None = None
    try:
        result = await ingest(hub, contact, raw=await request.read(), then=partial(calls.answer_in_ingest, queue) if is_open else None)
        placed = result.answer
    except ContactKeptForReplay:
        pass  # the call is kept; the caller is still served
    log.info("voice %s from %s: %s", contact.provider_id, mask(form.get("From", "")), form.get("CallStatus", ""))
    voice = settings.twilio.voice
    answer = VoiceResponse()
    if not is_open:
        answer.say(voice.closed_message, language=voice.language)
        add_voicemail(answer, settings)
        return twiml_response(answer)
    if placed is None:
        placed = await calls.answer_kept_call(hub, contact.provider_id, queue)
    name = placed.caller_name
    answer.say(voice.greeting_known.replace("{name}", name) if name else voice.greeting, language=voice.language)
    if settings.voice.record_calls:
        answer.say(voice.recording_notice, language=voice.language)
    if queue is None:
        add_menu(answer, settings, attempt=1)
    else:
        add_enqueue_or_voicemail(answer, settings, contact.provider_id, queue, enqueued=bool(placed.enqueued))
    return twiml_response(answer)


async def handle_menu(request: web.Request) -> web.Response:
    """The <Gather> action: Digits and/or SpeechResult (+ Confidence), or nothing on timeout."""
    hub = request.app[HUB]
    settings = hub.settings
    form = await read_signed_form(request)
    required(form, "CallSid")
    attempt = parse_whole_number(request.query.get("attempt", "")) or 1
    digits, speech = form.get("Digits", ""), form.get("SpeechResult", "")
    option = choose_option(settings.twilio.menu, digits, speech)
    answer = VoiceResponse()
    if option is None and attempt < MENU_ATTEMPTS:
        answer.say(settings.twilio.voice.invalid_choice, language=settings.twilio.voice.language)
        add_menu(answer, settings, attempt=attempt + 1)
        return twiml_response(answer)
    queue = await calls.route_call(
        hub,
        form["CallSid"],
        option.queue if option else voice_queue(settings),
        menu_digits=digits or None,
        menu_speech=speech or None,
        speech_confidence=form.get("Confidence") or None,
    )
    add_enqueue_or_voicemail(answer, settings, form["CallSid"], queue, enqueued=await calls.enqueue_call(hub, form["CallSid"], queue))
    return twiml_response(answer)


async def handle_queue_result(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid")
    result = form.get("QueueResult", "")
    await calls.record_queue_result(hub, form["CallSid"], result, queue_time=_int(form.get("QueueTime")))
    answer = VoiceResponse()
    if result in NO_AGENT_RESULTS:
        answer.say(hub.settings.twilio.voice.no_agent_message, language=hub.settings.twilio.voice.language)
        add_voicemail(answer, hub.settings)
    return twiml_response(answer)


async def handle_hold(request: web.Request) -> web.Response:
    """The <Enqueue> waitUrl: the caller's place in line and the expected wait, then music.

    Twilio requests it again each time its TwiML has played through.
    """
    hub = request.app[HUB]
    form = await read_signed_form(request)
    voice = hub.settings.twilio.voice
    answer = VoiceResponse()
    standing = await queue_standing(hub, form["CallSid"]) if form.get("CallSid") else None
    if standing is not None:
        answer.say(voice.queue_position.replace("{position}", str(standing.position)), language=voice.language)
        if standing.estimate_seconds is not None:
            answer.say(voice.queue_estimate.replace("{minutes}", str(minutes(standing.estimate_seconds))), language=voice.language)
    add_hold_music(answer, hub.settings)
    return twiml_response(answer)


def add_hold_music(answer: VoiceResponse, settings: Settings) -> None:
    """One round of music (or quiet): the waitUrl comes round again after it."""
    if settings.twilio.voice.hold_music_url:
        answer.play(settings.twilio.voice.hold_music_url)
    else:
        answer.pause(length=20)


async def handle_recorded(request: web.Request) -> web.Response:
    """The <Record> action: the caller finished the voicemail (Twilio skips it when empty)."""
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid")
    await _ensure_call(hub, form)
    if form.get("RecordingSid"):
        await calls.attach_voicemail(
            hub,
            form["CallSid"],
            form["RecordingSid"],
            recording_url=form.get("RecordingUrl"),
            duration_seconds=_int(form.get("RecordingDuration")),
            ended_by=form.get("Digits"),
        )
    answer = VoiceResponse()
    answer.say(hub.settings.twilio.voice.voicemail_thanks, language=hub.settings.twilio.voice.language)
    answer.hangup()
    return twiml_response(answer)


async def handle_recording_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid", "RecordingSid")
    status = form.get("RecordingStatus", "")
    if status == "completed":
        attached = await calls.attach_voicemail(
            hub,
            form["CallSid"],
            form["RecordingSid"],
            recording_url=form.get("RecordingUrl"),
            duration_seconds=_int(form.get("RecordingDuration")),
            recording_status=status,
        )
    else:  # in-progress, absent (too short or silent: ErrorCode 16101/16102), failed
        attached = await calls.update_call(hub, form["CallSid"], recording_status=status or None, recording_error=form.get("ErrorCode") or None)
    if not attached:
        log.info("voice recording %s for unknown call %s; ignored", form["RecordingSid"], form["CallSid"])
    return web.Response(status=204)


async def handle_transcription(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid", "RecordingSid")
    await _ensure_call(hub, form)
    status = form.get("TranscriptionStatus", "")
    await calls.attach_voicemail(
        hub,
        form["CallSid"],
        form["RecordingSid"],
        transcription=form.get("TranscriptionText", "") if status == "completed" else None,
        transcription_status=status or None,
        transcription_sid=form.get("TranscriptionSid"),
        recording_url=form.get("RecordingUrl"),
    )
    return web.Response(status=204)


async def handle_call_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "CallSid", "CallStatus")
    if form.get("Direction", "inbound") == "inbound":
        await _ensure_call(hub, form)  # a call that never reached /voice is still logged
    outcome = await calls.record_call_status(
        hub,
        form["CallSid"],
        form["CallStatus"],
        sequence=_int(form.get("SequenceNumber")),
        duration_seconds=_int(form.get("CallDuration")),
        sip_response_code=form.get("SipResponseCode") or None,
        timestamp=form.get("Timestamp") or None,
    )
    if outcome is not None and form["CallStatus"] in calls.FINAL_STATUSES:
        await connect.stop_ringing_for(hub, form["CallSid"])
    if outcome is None:
        log.info("voice status %s for unknown call %s; ignored", form["CallStatus"], form["CallSid"])
    elif outcome.callback_ticket_id:
        log.info("voice %s %s: unanswered; callback ticket %s", form["CallSid"], outcome.status, outcome.callback_ticket_id)
    return web.Response(status=204)


def parse_call(form: MultiDictProxy[str], settings: Settings) -> InboundContact:
    """Twilio's voice request parameters -> InboundContact. Unknown parameters are ignored."""
    required(form, "CallSid")
    caller = parse_number(form.get("From", ""), settings.identity.default_region)
    facts = {
        "status": form.get("CallStatus", ""),
        "direction": form.get("Direction", ""),
        "from": form.get("From", ""),
        "to": form.get("To", ""),
        "from_geo": geo(form, "From"),
        "caller_name": form.get("CallerName", ""),
        "forwarded_from": form.get("ForwardedFrom", ""),
        "stir_verstat": form.get("StirVerstat", ""),
    }
    return InboundContact(
        channel=ChannelKind.VOICE,
        provider_id=form["CallSid"],
        identities=(Identity(kind="phone", value=caller, evidence="verified", is_reply_address=True),) if caller else (),
        received_at=utcnow(),
        # CallerName (CNAM) stays in the metadata only: carriers fill it with
        # things like "CA Wireless Call", not a name to greet anyone by.
        subject=f"Phone call from {caller or form.get('From') or 'an unknown caller'}",
        text="Phone call",
        source_address=form.get("To", ""),
        metadata={"call": {k: v for k, v in facts.items() if v}},
    )


def choose_option(menu: list[TwilioMenuOption], digits: str, speech: str) -> TwilioMenuOption | None:
    """A pressed key wins; else the first option one of whose words was said."""
    if digits:
        return next((option for option in menu if option.digit == digits[:1]), None)
    said = set(WORD.findall(speech.lower()))
    return next((option for option in menu if said & {w.lower() for w in option.words}), None)


def add_menu(answer: VoiceResponse, settings: Settings, *, attempt: int) -> None:
    voice = settings.twilio.voice
    gather = answer.gather(
        input="dtmf speech",
        action=callback_url(settings, MENU_PATH, attempt=attempt),
        method="POST",
        num_digits=1,
        timeout=MENU_TIMEOUT_SECONDS,
        speech_timeout="auto",
        language=voice.language,
        hints=", ".join(word for option in settings.twilio.menu for word in option.words) or None,
    )
    gather.say(voice.menu_prompt, language=voice.language)
    # <Gather> without input falls through to the next verb (Twilio docs).
    answer.redirect(callback_url(settings, MENU_PATH, attempt=attempt), method="POST")


def add_enqueue_or_voicemail(answer: VoiceResponse, settings: Settings, call_sid: str, queue: str, *, enqueued: bool) -> None:
    """<Enqueue>, or voicemail when `calls.enqueue_call` found nobody available."""
    if not enqueued:
        answer.say(settings.twilio.voice.no_agent_message, language=settings.twilio.voice.language)
        add_voicemail(answer, settings)
        return
    add_enqueue(answer, settings, call_sid, queue)


def add_enqueue(answer: VoiceResponse, settings: Settings, call_sid: str, queue: str) -> None:
    """The caller waits in a Twilio queue of their own, named by their call id.

    `<Dial><Queue>` bridges the front caller of a queue; with one caller per
    queue, the agent their ticket went to gets exactly them (voice/connect.py).
    The hub's queue name travels in the action URL.
    """
    answer.enqueue(
        call_sid,
        action=callback_url(settings, QUEUE_PATH, queue=queue),
        method="POST",
        wait_url=callback_url(settings, HOLD_PATH),
        wait_url_method="POST",
    )


def add_voicemail(answer: VoiceResponse, settings: Settings) -> None:
    voice = settings.twilio.voice
    answer.say(voice.voicemail_prompt, language=voice.language)
    answer.record(
        action=callback_url(settings, RECORDED_PATH),
        method="POST",
        max_length=voice.voicemail_max_seconds,
        finish_on_key="#",
        play_beep=True,
        transcribe=True,
        transcribe_callback=callback_url(settings, TRANSCRIPTION_PATH),
        recording_status_callback=callback_url(settings, RECORDING_PATH),
        recording_status_callback_event="completed absent",
    )
    # Reached only when nothing was recorded (Twilio then skips the action).
    answer.say(voice.voicemail_thanks, language=voice.language)
    answer.hangup()


def voice_queue(settings: Settings) -> str:
    return fallback_queue(settings, ChannelKind.VOICE, "")


async def _ensure_call(hub: Hub, form: MultiDictProxy[str]) -> None:
    """Log the call if its first webhook never reached us (ingest is idempotent per CallSid)."""
    try:
        await ingest(hub, parse_call(form, hub.settings))
    except ContactKeptForReplay:
        pass


def _int(value: str | None) -> int | None:
    return parse_whole_number(value or "")
