"""A local stand-in for Twilio's REST API (Messages, Calls, Recordings), and helpers to sign webhooks.

The stand-in checks requests the way Twilio documents them: the account SID in
the path (`/2010-04-01/Accounts/{AccountSid}/Messages.json`), HTTP basic auth
with the SID and auth token, form fields `To`, `From` or `MessagingServiceSid`,
`Body`, `StatusCallback`, and Twilio's error codes for what it refuses (21211
invalid To, 21610 opted out, 21617 body too long, ...). It answers with the
Message resource's JSON shape and can be told to fail: `"429"`, `"500"` or
`"timeout"` (it then answers only when the test ends).

Calls (`/Calls.json` create, `/Calls/{CallSid}.json` update) are checked the
same way: `To` an E.164 number or `client:<identity>`, `From` E.164, an
absolute `Url` (or `Twiml`), `StatusCallbackEvent` among Twilio's four,
`Timeout` 1-600, an update only for a call Twilio knows (one it placed, or an
inbound call a test announced with `incoming`), with `Url`, `Twiml` or
`Status` completed|canceled. Recordings media (`/Recordings/{Sid}.wav`) is
served to the account's credentials only.

Webhook requests in tests are signed by the real `twilio` RequestValidator.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import struct
import wave
import dataclasses
import json
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from contactcenter.db.models import utcnow
from contactcenter.keys import HUB
from contactcenter.settings import CalendarSettings, Settings
from tests.factories import settings_with
from tests.polling import processed

# The fake account of the reference payloads (shared/reference/twilio_webhooks.md).
ACCOUNT_SID = "ACe268443e43d93dab7ebef303bbe9642f"
AUTH_TOKEN = "f00dbabe0123456789abcdef00c0ffee"
HUB_NUMBER = "+15035550100"
API_KEY_SID = "SK" + "5" * 32
API_KEY_SECRET = "softphone-signing-secret-for-tests"
PUBLIC_URL = "https://hub.example.test"
DATA = Path(__file__).resolve().parent / "data" / "twilio"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600
CLIENT = re.compile(r"^client:[A-Za-z0-9_.-]{1,121}$")
ABSOLUTE_URL = re.compile(r"^https?://[^\s/]+/\S*$")
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


class TwilioStandin:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = ""  # set once the server listens
        self.requests: list[dict[str, str]] = []  # every create request, refused or not
        self.accepted: list[dict[str, str]] = []  # the ones answered 201, with their "Sid"
        self.opted_out: set[str] = set()  # numbers that replied STOP, as Twilio remembers them
        self.invalid: set[str] = set()  # well-formed numbers Twilio still cannot text (21211)
        self._failures: deque[str] = deque()
        self._always: str | None = None
        self._release = asyncio.Event()
        # Called with each accepted message before the 201 leaves: real Twilio
        # may send the first status callback before our client has its answer.
        self.on_accepted: Callable[[dict[str, str]], Awaitable[None]] | None = None
        self.calls: list[dict[str, Any]] = []  # accepted Calls creates: the form, "Sid", "StatusCallbackEvent" as a list
        self.call_updates: list[dict[str, str]] = []  # accepted Calls updates, with "Sid"
        self.call_requests: list[dict[str, str]] = []  # every Calls request, refused or not
        self.live_calls: set[str] = set()
        self.recordings: dict[str, bytes] = {}
        self.recording_fetches: list[dict[str, str]] = []  # headers of each recordings request
        self.app = web.Application()
        self.app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", self.handle_create_message)
        self.app.router.add_post("/2010-04-01/Accounts/{account_sid}/Calls.json", self.handle_create_call)
        self.app.router.add_post("/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json", self.handle_update_call)
        self.app.router.add_get("/2010-04-01/Accounts/{account_sid}/Recordings/{recording}", self.handle_recording)

    def incoming(self, call_sid: str) -> None:
        """Twilio knows this inbound call (it can be updated)."""
        self.live_calls.add(call_sid)

    def add_recording(self, recording_sid: str, seconds: float = 1.0) -> bytes:
        self.recordings[recording_sid] = tone_wav(seconds)
        return self.recordings[recording_sid]

    async def _checked(self, request: web.Request) -> web.Response | None:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if request.method == "POST" and request.content_type != "application/x-www-form-urlencoded":
            return _error(400, 20001, "Content-Type must be application/x-www-form-urlencoded")
        return None

    async def handle_create_call(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request)) is not None:
            return refused
        posted = await request.post()
        form = {key: str(value) for key, value in posted.items()}
        events = [str(v) for v in posted.getall("StatusCallbackEvent", [])]
        self.call_requests.append(form)
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not from_:
            return _error(400, 21213, "No 'From' number is specified")
        if not (E164.match(to) or CLIENT.match(to)):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not E164.match(from_):
            return _error(400, 21212, f"The 'From' number {from_} is not a valid phone number.")
        if not (form.get("Twiml") or form.get("ApplicationSid") or ABSOLUTE_URL.match(form.get("Url", ""))):
            return _error(400, 21205, "Url parameter is required and must be an absolute URL.")
        for name in ("StatusCallback", "FallbackUrl"):
            if form.get(name) and not ABSOLUTE_URL.match(form[name]):
                return _error(400, 21609, f"{name} must be an absolute URL")
        if any(e not in CALL_EVENTS for e in events):
            return _error(400, 21626, f"StatusCallbackEvent must be among {', '.join(CALL_EVENTS)}")
        if "Timeout" in form and not (form["Timeout"].isdigit() and 1 <= int(form["Timeout"]) <= 600):
            return _error(400, 21216, "Timeout must be between 1 and 600 seconds")
        sid = "CA" + secrets.token_hex(16)
        self.live_calls.add(sid)
        self.calls.append({**form, "Sid": sid, "StatusCallbackEvent": events})
        return web.json_response(self._call_json(sid, to, from_, "queued"), status=201)

    async def handle_update_call(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request)) is not None:
            return refused
        form = {key: str(value) for key, value in (await request.post()).items()}
        sid = request.match_info["call_sid"]
        self.call_requests.append({**form, "Sid": sid})
        if sid not in self.live_calls:
            return _error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        if not (form.get("Url") or form.get("Twiml") or form.get("Status")):
            return _error(400, 20001, "Url, Twiml or Status is required")
        if form.get("Url") and not ABSOLUTE_URL.match(form["Url"]):
            return _error(400, 21205, "Url must be an absolute URL")
        if form.get("Status") and form["Status"] not in ("canceled", "completed"):
            return _error(400, 21218, "Status must be canceled or completed")
        self.call_updates.append({**form, "Sid": sid})
        if form.get("Status"):
            self.live_calls.discard(sid)
        return web.json_response(self._call_json(sid, "", HUB_NUMBER, "in-progress"))

    async def handle_recording(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request)) is not None:
            return refused
        self.recording_fetches.append(dict(request.headers))
        name, _, extension = request.match_info["recording"].partition(".")
        if name not in self.recordings or extension not in ("wav", "mp3", ""):
            return _error(404, 20404, "The requested resource was not found")
        return web.Response(body=self.recordings[name], content_type="audio/x-wav")

    def _call_json(self, sid: str, to: str, from_: str, status: str) -> dict[str, Any]:
        now = format_datetime(utcnow())
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": from_,
            "to": to,
            "sid": sid,
            "status": status,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }

    def fail_next(self, *modes: str) -> None:
        """The next requests fail, one mode each: "429", "500", "timeout"."""
        self._failures.extend(modes)

    def fail_always(self, mode: str | None) -> None:
        self._always = mode

    def release(self) -> None:
        self._release.set()

    async def handle_create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if request.content_type != "application/x-www-form-urlencoded":
            return _error(400, 20001, "Content-Type must be application/x-www-form-urlencoded")
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(form)
        mode = self._failures.popleft() if self._failures else self._always
        if mode == "timeout":
            await self._release.wait()
            return _error(504, 20504, "Gateway timeout")
        if mode == "429":
            return _error(429, 20429, "Too Many Requests")
        if mode == "500":
            return web.Response(status=500, text="Internal Server Error")
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if len(form.get("Body", "")) > MAX_BODY:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if not E164.match(to) or to in self.invalid:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        self.accepted.append({**form, "Sid": sid})
        if self.on_accepted is not None:
            await self.on_accepted(self.accepted[-1])
        now = format_datetime(utcnow())
        return web.json_response(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": form.get("Body", ""),
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": str(-(-len(form.get("Body", "")) // 153) or 1),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                # With a Messaging Service Twilio first accepts, then queues.
                "status": "accepted" if form.get("MessagingServiceSid") and not form.get("From") else "queued",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
                "to": to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status=201,
        )

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)


def tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A short 440 Hz tone as WAV (Twilio's default recording format): real audio a browser plays."""
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def _error(status: int, code: int, message: str) -> web.Response:
    """Twilio's REST error body (docs: "Twilio API responses", errors)."""
    return web.json_response(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status=status,
    )


@pytest.fixture
async def standin(aiohttp_server):
    fake = TwilioStandin()
    server = await aiohttp_server(fake.app)
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    fake.release()


def twilio_settings(base: Settings, api_base_url: str, **twilio: Any) -> Settings:
    """Settings for a hub wired to the fake account, reachable at PUBLIC_URL."""
    return settings_with(
        base,
        http={"public_url": PUBLIC_URL},
        twilio={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "api_key_sid": API_KEY_SID,
            "api_key_secret": API_KEY_SECRET,
            "phone_number": HUB_NUMBER,
            "api_base_url": api_base_url,
            "request_timeout": 10.0,  # generous: a loaded test machine must not look like an outage
            **twilio,
        },
        outbox={"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 3},
    )


def closed_line(settings: Settings) -> Settings:
    """The same settings with the phone line's calendar closed right now (a holiday around today)."""
    today = utcnow().date()
    closed = CalendarSettings(
        timezone="UTC",
        hours={day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        holidays=[(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)],
    )
    return dataclasses.replace(
        settings,
        calendars={**settings.calendars, "closed": closed},
        twilio=dataclasses.replace(settings.twilio, calendar="closed"),
    )


def sign(url: str, params: dict[str, str] | list[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    class Pairs(dict):  # RequestValidator reads repeated names through getall()
        def getall(self, name: str) -> list[str]:
            return [v for k, v in items if k == name]

    items = list(params.items()) if isinstance(params, dict) else list(params)
    return RequestValidator(token).compute_signature(url, Pairs(items))


async def post_signed(client, path: str, params: dict[str, str], *, url: str | None = None, token: str = AUTH_TOKEN, headers: dict[str, str] | None = None):
    """POST a webhook as Twilio would (form-encoded, signed for PUBLIC_URL + path); return once processed."""
    signature = sign(url or PUBLIC_URL + path, params, token)
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})
    # SMS is answered once stored; what a test looks at next is the processed message.
    await processed(client.server.app[HUB])
    return response


def fixture(name: str) -> dict[str, Any]:
    """A captured-style request from tests/data/twilio/: url, signature, params."""
    return json.loads((DATA / f"{name}.json").read_text())


def params(name: str, **changes: str) -> dict[str, str]:
    return {**fixture(name)["params"], **changes}
