"""Twilio's Calls REST API for the core's `CallControl`: ring agents, move calls, stream recordings.

Calls are made with the official client on its asyncio HTTP client (the SMS
channel does the same for Messages). Recordings are fetched from
`/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.wav` with the
account's credentials (Twilio's Recording resource: append .wav or .mp3 to get
the media); the hub streams them on to the agent's browser, which never sees
the credentials or Twilio's URL. The URL is built from the configured API base
and a recording id checked for Twilio's shape, never taken from a webhook, so
the hub cannot be made to fetch anything else.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contactcenter.channels.twilio_common import callback_url
from contactcenter.channels.twilio_paths import (
    AGENT_PATH,
    AGENT_STATUS_PATH,
    CONSULT_PATH,
    CONSULT_STATUS_PATH,
    HELD_PATH,
    OUTBOUND_PATH,
    OUTBOUND_STATUS_PATH,
    TRANSFERRED_PATH,
    VOICEMAIL_PATH,
)
from contactcenter.errors import ChannelSendError, ConflictError, NotFoundError
from contactcenter.identity.normalize import mask
from contactcenter.hub import Hub
from contactcenter.settings import Settings
from contactcenter.voice.control import RecordingStream

log = logging.getLogger(__name__)

# Call progress events the agent leg reports (Calls resource, StatusCallbackEvent).
AGENT_LEG_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")
# WAV is Twilio's default media format and plays in every browser.
RECORDING_FORMAT = ("wav", "audio/x-wav")
PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges")
CHUNK_BYTES = 64 * 1024


class TwilioCallControl:
    """`contactcenter.voice.control.CallControl` over Twilio's REST API."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._client: Client | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def settings(self) -> Settings:
        return self.hub.settings  # read each time: tests and reloads swap settings

    def voice_token(self, identity: str, ttl_seconds: int) -> str:
        """An Access Token with a VoiceGrant for the browser softphone of `identity` only.

        Signed with the API key (Twilio: "Access Tokens", "Voice JavaScript
        SDK"); it lets the softphone receive calls to that identity, nothing more.
        """
        twilio = self.settings.twilio
        if not (twilio.account_sid and twilio.api_key_sid and twilio.api_key_secret):
            raise ConflictError(
                "the softphone needs [twilio] account_sid, api_key_sid and api_key_secret", code="voice_not_configured", status=503
            )
        token = AccessToken(twilio.account_sid, twilio.api_key_sid, twilio.api_key_secret, identity=identity, ttl=ttl_seconds)
        token.add_grant(VoiceGrant(incoming_allow=True))
        return token.to_jwt()

    async def ring_agent(self, *, to: str, call_sid: str, agent_id: int, timeout: int) -> str:
        query = {"call": call_sid, "agent": agent_id}
        return await self._place(to, callback_url(self.settings, AGENT_PATH, **query), callback_url(self.settings, AGENT_STATUS_PATH, **query), timeout)

    async def ring_agent_for_callback(self, *, to: str, ticket_id: int, agent_id: int, timeout: int) -> str:
        query = {"ticket": ticket_id, "agent": agent_id}
        return await self._place(
            to, callback_url(self.settings, OUTBOUND_PATH, **query), callback_url(self.settings, OUTBOUND_STATUS_PATH, **query), timeout
        )

    async def ring_colleague(self, *, to: str, call_sid: str, agent_id: int, timeout: int) -> str:
        query = {"call": call_sid, "agent": agent_id}
        return await self._place(to, callback_url(self.settings, CONSULT_PATH, **query), callback_url(self.settings, CONSULT_STATUS_PATH, **query), timeout)

    async def join_consultation(self, agent_leg_sid: str, call_sid: str, agent_id: int) -> None:
        await self._redirect(agent_leg_sid, callback_url(self.settings, CONSULT_PATH, call=call_sid, agent=agent_id))

    async def transfer_caller(self, call_sid: str) -> None:
        await self._redirect(call_sid, callback_url(self.settings, TRANSFERRED_PATH, call=call_sid))

    async def hold_caller(self, call_sid: str) -> None:
        await self._redirect(call_sid, callback_url(self.settings, HELD_PATH, call=call_sid))

    async def reconnect_agent(self, agent_leg_sid: str, call_sid: str, agent_id: int) -> None:
        await self._redirect(agent_leg_sid, callback_url(self.settings, AGENT_PATH, call=call_sid, agent=agent_id))

    async def send_to_voicemail(self, call_sid: str) -> None:
        await self._redirect(call_sid, callback_url(self.settings, VOICEMAIL_PATH, call=call_sid))

    async def end_call(self, call_sid: str) -> None:
        await self._rest("end a call", lambda api: api.calls(call_sid).update_async(status="completed"))

    async def _place(self, to: str, url: str, status_callback: str, timeout: int) -> str:
        call = await self._rest(
            "place a call",
            lambda api: api.calls.create_async(
                to=to,
                from_=self.settings.twilio.phone_number,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=AGENT_LEG_EVENTS,
                timeout=timeout,
            ),
        )
        log.info("voice: call %s placed to %s", call.sid, to if to.startswith("client:") else mask(to))
        return str(call.sid)

    async def _redirect(self, call_sid: str, url: str) -> None:
        """Calls resource update with a new Url: the call leaves its current TwiML for it."""
        await self._rest("redirect a call", lambda api: api.calls(call_sid).update_async(url=url, method="POST"))

    @asynccontextmanager
    async def open_recording(self, recording_sid: str, byte_range: str = "") -> AsyncIterator[RecordingStream]:
        if not RECORDING_SID.match(recording_sid):
            raise NotFoundError(f"no recording {recording_sid}")
        twilio = self.settings.twilio
        extension, content_type = RECORDING_FORMAT
        url = f"{twilio.api_base_url.rstrip('/')}/2010-04-01/Accounts/{twilio.account_sid}/Recordings/{recording_sid}.{extension}"
        headers = {"Authorization": aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)}
        if byte_range:
            headers["Range"] = byte_range
        timeout = aiohttp.ClientTimeout(sock_connect=twilio.request_timeout, sock_read=twilio.request_timeout)
        try:
            async with self._session().get(
                url, headers=headers, timeout=timeout
            ) as response:
                if response.status == 404:
                    raise NotFoundError(f"Twilio has no recording {recording_sid} (deleted?)", code="recording_gone")
                if response.status not in (200, 206):
                    raise ChannelSendError(f"Twilio answered {response.status} for recording {recording_sid}", retryable=response.status >= 500)
                yield RecordingStream(
                    status=response.status,
                    content_type=response.headers.get("Content-Type", content_type),
                    headers={k: response.headers[k] for k in PASSED_HEADERS if k in response.headers},
                    chunks=response.content.iter_chunked(CHUNK_BYTES),
                )
        except aiohttp.ClientError as exc:
            raise ChannelSendError(f"cannot reach Twilio for recording {recording_sid}: {exc!r}", retryable=True) from exc

    async def close(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()  # type: ignore[attr-defined]
        if self._http is not None:
            await self._http.close()

    async def _rest(self, what: str, request: Callable[[Client], Awaitable[Any]]) -> Any:
        twilio = self.settings.twilio
        if not (twilio.account_sid and twilio.auth_token and twilio.phone_number):
            raise ChannelSendError("Twilio calls need [twilio] account_sid, auth_token and phone_number", retryable=False)
        try:
            async with asyncio.timeout(twilio.request_timeout):
                return await request(self._api())
        except TwilioRestException as exc:
            raise ChannelSendError(f"Twilio refused to {what}: {exc.status} (error {exc.code}): {exc.msg}", retryable=exc.status >= 500) from exc
        except TimeoutError:
            raise ChannelSendError(f"Twilio did not answer within {twilio.request_timeout} s ({what})", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise ChannelSendError(f"cannot reach Twilio to {what}: {exc!r}", retryable=True) from exc

    def _api(self) -> Client:
        if self._client is None:
            twilio = self.settings.twilio
            client = Client(twilio.account_sid, twilio.auth_token, http_client=AsyncTwilioHttpClient())
            client.api.base_url = twilio.api_base_url.rstrip("/")
            self._client = client
        return self._client

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http
