"""SMS and MMS through Twilio: inbound webhooks, outbound messages, delivery reports.

Inbound, `POST /webhooks/twilio/sms` turns Twilio's form into an
`InboundContact` (the number is *verified*: the carrier vouches for it) and
answers TwiML once the message is committed. The acknowledgement with the ticket
reference is the pipeline's, sent through the outbox like every other message
(recorded, retried, delivery-tracked); the TwiML answer stays empty, except for
the optional after-hours reply. Opt-out keywords are Twilio's default set.

Outbound, `send()` calls Twilio's Messages API with the official client on its
asyncio HTTP client and asks for status callbacks at
`/webhooks/twilio/sms/status`, which move the interaction's delivery status.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, ClassVar

import aiohttp
from aiohttp import web
from multidict import MultiDictProxy
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from contactcenter.channels.twilio_common import callback_url, geo, line_is_open, parse_number, read_signed_form, required, twiml_response, warn_if_unsigned
from contactcenter.actions import is_opted_out
from contactcenter.outbound.consent import do_set_sms_consent
from contactcenter.contact import ChannelKind, Identity, InboundContact, OutboundMessage, SendReceipt
from contactcenter.db.models import TICKET_PREFIX, utcnow
from contactcenter.outbound.delivery import record_delivery_status
from contactcenter.errors import ChannelSendError
from contactcenter.hub import Hub
from contactcenter.keys import HUB
from contactcenter.identity.normalize import mask
from contactcenter.i18n import gettext as _, reading_as
from contactcenter.pipeline.consent import CONSENT_KEY
from contactcenter.pipeline.context import IngestResult
from contactcenter.pipeline.run import ContactKeptForReplay, accept, in_writer_session, ingest
from contactcenter.settings import Settings
from contactcenter.surveys.answers import take_sms_answer
from contactcenter.web.params import parse_id, parse_whole_number

log = logging.getLogger(__name__)

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/sms/status"

# Twilio's default keyword handling on long codes and toll-free numbers
# ("Twilio support for opt-out keywords (SMS STOP filtering)"; Advanced
# Opt-Out docs). Only a message that is the keyword alone counts.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# "Message cannot be sent to the 'To' number because the customer has replied with STOP."
OPTED_OUT_ERROR = 21610
MAX_MEDIA = 10  # Twilio sends at most ten media items per message
NUMBER = re.compile(r"\+?\d{7,15}")
REFERENCE = re.compile(rf"\b{re.escape(TICKET_PREFIX)}\d{{1,12}}\b", re.IGNORECASE)


class TwilioSmsChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    can_send: ClassVar[bool] = True

    def __init__(self, hub: Hub):
        self.hub = hub
        self._client: Client | None = None

    def setup(self, app: web.Application) -> None:
        warn_if_unsigned(self.hub.settings)
        app.router.add_post(SMS_PATH, handle_sms)
        app.router.add_post(STATUS_PATH, handle_sms_status)
        app.on_cleanup.append(self._close)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        settings = self.hub.settings
        twilio = settings.twilio
        if not (twilio.account_sid and twilio.auth_token and (twilio.phone_number or twilio.messaging_service_sid)):
            raise ChannelSendError(
                "Twilio is not configured: set [twilio] account_sid, auth_token and phone_number or messaging_service_sid",
                retryable=False,
            )
        # The last guard: whatever queued this message, an opted-out number gets nothing.
        if await in_writer_session(self.hub, is_opted_out, message.to):
            raise ChannelSendError(f"{mask(message.to)} has opted out of SMS", retryable=False)
        sender: dict[str, str] = (
            {"messaging_service_sid": twilio.messaging_service_sid} if twilio.messaging_service_sid else {"from_": twilio.phone_number}
        )
        try:
            async with asyncio.timeout(twilio.request_timeout):
                sent = await self._api().messages.create_async(
                    to=message.to,
                    body=message.text,
                    status_callback=callback_url(settings, STATUS_PATH, interaction=message.interaction_id),
                    **sender,
                )
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT_ERROR:
                await self._opt_out(message.to)
            retryable = exc.status == 429 or exc.status >= 500
            # Twilio's message may quote the number; the outbox logs this text.
            detail = NUMBER.sub(lambda m: mask(m.group()), str(exc.msg))
            raise ChannelSendError(f"Twilio answered {exc.status} (error {exc.code}): {detail}", retryable=retryable) from exc
        except TimeoutError:
            raise ChannelSendError(f"Twilio did not answer within {twilio.request_timeout} s", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise ChannelSendError(f"cannot reach Twilio: {exc!r}", retryable=True) from exc
        return SendReceipt(provider_id=sent.sid or "", status=str(sent.status or "queued"))

    def _api(self) -> Client:
        """The official client, made on first use (its HTTP session needs the running loop)."""
        if self._client is None:
            twilio = self.hub.settings.twilio
            client = Client(twilio.account_sid, twilio.auth_token, http_client=AsyncTwilioHttpClient())
            client.api.base_url = twilio.api_base_url.rstrip("/")
            self._client = client
        return self._client

    async def _opt_out(self, number: str) -> None:
        async with self.hub.sessions() as session, session.begin():
            await do_set_sms_consent(session, number, opted_out=True, actor="system", reason=f"Twilio error {OPTED_OUT_ERROR}")

    async def _close(self, app: web.Application) -> None:
        if self._client is not None:
            await self._client.http_client.close()  # type: ignore[attr-defined]


async def handle_sms(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    contact = parse_sms(form, hub.settings)
    sender = mask(contact.identities[0].value) if contact.identities else "?"
    if (language := await take_sms_answer(hub, contact)) is not None:
        # "5" answering our survey: recorded on the surveyed ticket, never a new one.
        thanks = MessagingResponse()
        with reading_as(language):
            thanks.message(_("Thank you for your rating!"))
        return twiml_response(thanks)
    if not after_hours_reply_may_apply(hub.settings, contact):
        # Nothing in the answer depends on processing: answer once the message
        # is stored, and let the pipeline take it from there.
        await accept(hub, contact, raw=await request.read())
        log.debug("sms %s from %s: accepted", contact.provider_id, sender)
        return twiml_response()
    try:
        result = await ingest(hub, contact, raw=await request.read())
    except ContactKeptForReplay:
        return twiml_response()
    log.info("sms %s from %s: interaction %s%s", contact.provider_id, sender, result.interaction_id, " (repeat)" if result.duplicate else "")
    answer = MessagingResponse()
    if text := await choose_sms_reply(hub, contact, result):
        answer.message(text)
    return twiml_response(answer)


async def handle_sms_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await read_signed_form(request)
    required(form, "MessageSid")
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    error_code = form.get("ErrorCode") or None
    interaction = request.query.get("interaction", "")
    known = await record_delivery_status(
        hub,
        ChannelKind.SMS,
        form["MessageSid"],
        status,
        interaction_id=parse_id(interaction),
        error_code=error_code,
        raw_dlr_done_date=form.get("RawDlrDoneDate"),
    )
    if not known:
        log.info("sms status %s for %s: not a message of ours; ignored", status, form["MessageSid"])
    if error_code == str(OPTED_OUT_ERROR) and (number := parse_number(form.get("To", ""), hub.settings.identity.default_region)):
        async with hub.sessions() as session, session.begin():
            await do_set_sms_consent(session, number, opted_out=True, actor="system", reason=f"Twilio error {OPTED_OUT_ERROR}")
    # Status callbacks ignore the body; any 2xx is success.
    return web.Response(status=204)


def parse_sms(form: MultiDictProxy[str], settings: Settings) -> InboundContact:
    """Twilio's incoming-message parameters -> InboundContact. Unknown parameters are ignored."""
    required(form, "MessageSid", "From")
    body = form.get("Body", "")
    sender = parse_number(form["From"], settings.identity.default_region)
    keyword = sms_keyword(body)
    metadata: dict[str, Any] = {
        "twilio": {
            k: v
            for k, v in {
                "from": form["From"],
                "to": form.get("To", ""),
                "messaging_service_sid": form.get("MessagingServiceSid", ""),
                "num_segments": form.get("NumSegments", ""),
                "from_geo": geo(form, "From"),
                "to_geo": geo(form, "To"),
            }.items()
            if v
        },
        "media": parse_media(form),
    }
    if keyword:
        metadata["sms_keyword"] = keyword
        if keyword in OPT_OUT_KEYWORDS or keyword in OPT_IN_KEYWORDS:
            metadata[CONSENT_KEY] = "opt_out" if keyword in OPT_OUT_KEYWORDS else "opt_in"
    return InboundContact(
        channel=ChannelKind.SMS,
        provider_id=form["MessageSid"],
        identities=(Identity(kind="phone", value=sender, evidence="verified", is_reply_address=True),) if sender else (),
        received_at=utcnow(),
        display_name=form.get("ProfileName", ""),  # WhatsApp only
        text=body,
        thread_hints=tuple(dict.fromkeys(match.upper() for match in REFERENCE.findall(body))),
        # Twilio answers the keywords itself; an acknowledgement would be a second reply.
        is_automated=keyword is not None,
        source_address=form.get("To", ""),
        metadata=metadata,
    )


def parse_media(form: MultiDictProxy[str]) -> list[dict[str, str]]:
    """MediaUrlN / MediaContentTypeN, N from 0 (fetching needs the account's credentials)."""
    count = form.get("NumMedia", "0")
    count_n = min(parse_whole_number(count) or 0, MAX_MEDIA)
    return [
        {"url": form[f"MediaUrl{i}"], "content_type": form.get(f"MediaContentType{i}", "")}
        for i in range(count_n)
        if form.get(f"MediaUrl{i}")
    ]


def sms_keyword(body: str) -> str | None:
    word = body.strip().strip(".!").upper()
    return word if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS else None


def after_hours_reply_may_apply(settings: Settings, contact: InboundContact) -> bool:
    """Whether the answer may carry the after-hours text: the line is closed and one is configured."""
    return bool(settings.twilio.sms_after_hours_reply) and not contact.is_automated and bool(contact.identities) and not line_is_open(settings, contact.received_at)


async def choose_sms_reply(hub: Hub, contact: InboundContact, result: IngestResult) -> str:
    """The after-hours text for the TwiML answer, or "" for an empty <Response/>.

    Never a second message: not when the pipeline queued an acknowledgement for
    this message, not for keywords, not to an opted-out number.
    """
    settings = hub.settings
    text = settings.twilio.sms_after_hours_reply
    if not after_hours_reply_may_apply(settings, contact):
        return ""
    if result.ticket_created and settings.tickets.auto_acknowledge:
        return ""
    async with hub.reads() as session:
        if await is_opted_out(session, contact.identities[0].value):
            return ""
    return text
