"""What the Twilio SMS and voice channels share: signed webhooks, TwiML answers, numbers.

Twilio signs every webhook (X-Twilio-Signature: HMAC-SHA1 over the full URL it
requested plus the sorted form parameters, keyed by the auth token; Twilio docs
"Webhooks security"). Behind a TLS-terminating proxy the hub sees another
scheme, host and port than Twilio used, so the URL checked is the configured
`[http] public_url` plus the path and query string exactly as received, never
the Host header. The signature is first checked over that URL as received (one
HMAC); only when it does not match does `RequestValidator.validate` try the URL
with and without the default port (two more). Every received parameter
(including ones Twilio adds later without notice) is part of the check.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML
from twilio.twiml.messaging_response import MessagingResponse

from contactcenter.routing.calendars import is_open, parse_calendar
from contactcenter.errors import ForbiddenError, InputError
from contactcenter.keys import HUB
from contactcenter.identity.normalize import normalize_phone
from contactcenter.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"
# Address prefixes Twilio puts before a number on other channels.
NUMBER_PREFIXES = ("whatsapp:",)


def webhook_url(settings: Settings, request: web.Request) -> str:
    """The URL Twilio requested: our public base plus the path and query as sent."""
    return settings.http.public_url.rstrip("/") + request.raw_path


def callback_url(settings: Settings, path: str, **query: str | int) -> str:
    """An absolute URL of ours for Twilio to call back (StatusCallback, action, ...)."""
    url = settings.http.public_url.rstrip("/") + path
    return f"{url}?{urlencode(query)}" if query else url


async def read_signed_form(request: web.Request) -> MultiDictProxy[str]:
    """The webhook's parameters, once the signature proves Twilio sent them.

    Raises ForbiddenError (403) before anything is stored when it does not.
    """
    settings = request.app[HUB].settings
    if request.content_type != FORM_TYPE:
        raise InputError(f"Twilio webhooks are {FORM_TYPE}", code="unsupported_media_type", status=415)
    form: MultiDictProxy[str] = await request.post()  # type: ignore[assignment]  # url-encoded: str values only
    if not settings.twilio.validate_signatures:
        return form
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not settings.twilio.auth_token:
        log.warning("twilio %s: request without %s refused", request.path, SIGNATURE_HEADER)
        raise ForbiddenError(f"the request has no {SIGNATURE_HEADER}", code="invalid_signature")
    url = webhook_url(settings, request)
    if not signature_matches(settings.twilio.auth_token, url, form, signature):
        log.warning("twilio %s: signature does not match %s; refused", request.path, url)
        raise ForbiddenError(f"the {SIGNATURE_HEADER} does not match this request", code="invalid_signature")
    return form


def signature_matches(auth_token: str, url: str, form: MultiDictProxy[str], signature: str) -> bool:
    """Twilio's check, with the common case (the URL exactly as signed) first."""
    validator = RequestValidator(auth_token)
    if hmac.compare_digest(validator.compute_signature(url, form).encode(), signature.encode()):
        return True
    return validator.validate(url, form, signature)


def warn_if_unsigned(settings: Settings) -> None:
    if not settings.twilio.validate_signatures:
        log.warning(
            "[twilio] validate_signatures is false: anyone who can reach %s/webhooks/twilio/ can post "
            "fake messages and calls. Use this only for local experiments.",
            settings.http.public_url,
        )


def line_is_open(settings: Settings, moment: datetime) -> bool:
    """Is the phone line staffed at `moment`? Its hours are the `[twilio] calendar`."""
    return is_open(parse_calendar(settings.calendars[settings.twilio.calendar]), moment)


# Most SMS webhooks are answered with nothing to say: serialised once.
EMPTY_MESSAGING_XML = MessagingResponse().to_xml()


def twiml_response(twiml: TwiML | None = None) -> web.Response:
    """A TwiML answer; without one, the empty `<Response/>` ("nothing to send back")."""
    text = EMPTY_MESSAGING_XML if twiml is None else twiml.to_xml()
    return web.Response(text=text, content_type="text/xml")


def parse_number(raw: str, default_region: str) -> str | None:
    """Twilio's From/To -> E.164, or None for what is not a phone number.

    `From` can be `client:alice`, a SIP URI, `whatsapp:+1…` or an anonymous
    caller string (voice webhooks docs), so it is not assumed to be E.164.
    """
    raw = raw.strip()
    for prefix in NUMBER_PREFIXES:
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix):]
    if not raw.startswith("+") or ":" in raw:
        return None
    return normalize_phone(raw, default_region)


def required(form: MultiDictProxy[str], *names: str) -> None:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise InputError(f"the webhook lacks {', '.join(missing)}", fields={name: "required" for name in missing})


def geo(form: MultiDictProxy[str], side: str) -> dict[str, str]:
    """FromCity/FromState/... : kept when Twilio knows them (often empty strings)."""
    keys = ("City", "State", "Zip", "Country")
    return {key.lower(): form[side + key] for key in keys if form.get(side + key)}
