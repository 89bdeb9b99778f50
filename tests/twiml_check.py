"""Every TwiML answer of the hub, checked against Twilio's documented voice verbs and nouns.

An allow-list of the TwiML Voice reference (twilio.com/docs/voice/twiml):
which verbs a <Response> may hold, which nouns each verb nests, which
attributes each takes, and what the documents Twilio runs in special places
may contain (an <Enqueue> waitUrl: Play, Say, Pause, Hangup, Redirect, Leave,
Gather; a <Queue> url: Play, Say, Pause, Redirect). A misspelt attribute or a
verb in the wrong place fails the test instead of being ignored by Twilio.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

URL_ATTRIBUTES = {"action", "url", "waitUrl", "statusCallback", "recordingStatusCallback", "transcribeCallback"}
METHODS = {"GET", "POST"}

ATTRIBUTES: dict[str, set[str]] = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": {"action", "method", "input", "numDigits", "timeout", "speechTimeout", "language", "hints", "finishOnKey",
               "partialResultCallback", "partialResultCallbackMethod", "profanityFilter", "speechModel", "enhanced", "actionOnEmptyResult"},
    "Record": {"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim", "recordingStatusCallback",
               "recordingStatusCallbackMethod", "recordingStatusCallbackEvent", "transcribe", "transcribeCallback", "recordingChannels", "recordingTrack"},
    "Enqueue": {"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"},
    "Redirect": {"method"},
    "Hangup": set(),
    "Leave": set(),
    "Reject": {"reason"},
    "Dial": {"action", "method", "timeout", "hangupOnStar", "timeLimit", "callerId", "record", "trim", "recordingStatusCallback",
             "recordingStatusCallbackMethod", "recordingStatusCallbackEvent", "answerOnBridge", "ringTone", "recordingTrack", "sequential",
             "referUrl", "referMethod"},
    # Nouns of <Dial>
    "Queue": {"url", "method", "reservationSid", "postWorkActivitySid"},
    "Number": {"sendDigits", "url", "method", "statusCallbackEvent", "statusCallback", "statusCallbackMethod", "byoc"},
    "Client": {"url", "method", "statusCallbackEvent", "statusCallback", "statusCallbackMethod"},
    "Identity": set(),
    "Conference": {"muted", "beep", "startConferenceOnEnter", "endConferenceOnExit", "waitUrl", "waitMethod", "maxParticipants", "record",
                   "region", "coach", "trim", "statusCallbackEvent", "statusCallback", "statusCallbackMethod", "recordingStatusCallback",
                   "recordingStatusCallbackMethod", "recordingStatusCallbackEvent", "eventCallbackUrl", "jitterBufferSize", "participantLabel"},
}
CHILDREN: dict[str, set[str]] = {
    "Gather": {"Say", "Play", "Pause"},
    "Dial": {"Number", "Client", "Conference", "Queue", "Sip"},
    "Client": {"Identity", "Parameter"},
}
WITH_TEXT = {"Say", "Play", "Enqueue", "Redirect", "Queue", "Number", "Client", "Identity", "Conference", "Dial"}
VERBS = {"Say", "Play", "Pause", "Gather", "Record", "Enqueue", "Redirect", "Hangup", "Dial", "Leave", "Reject"}
# What Twilio runs in special places may hold only these verbs.
CONTEXTS = {
    "call": VERBS,
    "wait": {"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"},  # <Enqueue waitUrl>
    "queue_url": {"Play", "Say", "Pause", "Redirect"},  # <Queue url>
}


def check_twiml(text: str, context: str = "call", public_url: str = "https://hub.example.test") -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response" and not root.attrib, "TwiML starts with a bare <Response>"
    for verb in root:
        assert verb.tag in CONTEXTS[context], f"<{verb.tag}> is not allowed in a {context} document"
        _check(verb, public_url)
    return root


def _check(element: ET.Element, public_url: str) -> None:
    tag = element.tag
    assert tag in ATTRIBUTES, f"<{tag}> is not a TwiML verb or noun"
    unknown = set(element.attrib) - ATTRIBUTES[tag]
    assert not unknown, f"<{tag}> has attributes Twilio does not document: {sorted(unknown)}"
    for name, value in element.attrib.items():
        if name in URL_ATTRIBUTES:
            assert value.startswith(public_url + "/"), f"<{tag} {name}> must be one of the hub's absolute URLs, got {value}"
        if name.endswith("ethod"):
            assert value in METHODS, f"<{tag} {name}={value}>"
    if tag == "Enqueue":
        assert element.text and len(element.text) <= 64, "a queue name is 1-64 characters (<Enqueue> docs)"
    if tag == "Redirect":
        assert (element.text or "").startswith(public_url + "/")
    children = list(element)
    assert {c.tag for c in children} <= CHILDREN.get(tag, set()), f"<{tag}> may not nest {[c.tag for c in children]}"
    if tag == "Dial":
        assert len(children) <= 1 or {c.tag for c in children} <= {"Number", "Client", "Sip"}, "one Queue or Conference per Dial"
    if tag not in WITH_TEXT:
        assert not (element.text or "").strip(), f"<{tag}> takes no text"
    for child in children:
        _check(child, public_url)
