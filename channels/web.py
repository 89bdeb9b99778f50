"""The web channel: the public contact form and the JSON intake API.

Both turn what a person (or another system) typed into an `InboundContact`
with *claimed* identifiers: nobody has proven they own the address they typed.
The form works without JavaScript; errors are shown next to their fields.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from typing import Any, ClassVar

from aiohttp import web

from contactcenter.contact import ChannelKind, InboundContact, OutboundMessage, SendReceipt, TicketType, typed_identities
from contactcenter.db.models import utcnow
from contactcenter.errors import ChannelSendError, InputError, RateLimitedError
from contactcenter.hub import Hub
from contactcenter.i18n import Reader, babel_locale, current_reader, gettext as _, normalize_language, set_reader
from contactcenter.keys import FORM_RATE_LIMIT, HUB
from contactcenter.identity.normalize import is_text, normalize_email, normalize_name, normalize_phone
from contactcenter.outbound.confirmation import do_confirm_address, read_confirmation
from contactcenter.pipeline.run import ContactKeptForReplay, ingest
from contactcenter.settings import Settings
from contactcenter.web import csrf
from contactcenter.web.api import read_json_object
from contactcenter.web.auth import require
from contactcenter.web.pages import render_page
from contactcenter.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

FORM_TYPES = ("question", "request", "complaint")
FORM_FIELDS = ("name", "email", "phone", "subject", "message", "type", "language")
BLANK_FORM = {**dict.fromkeys(FORM_FIELDS, ""), "type": "question"}
HONEYPOT_FIELD = "website"  # hidden from people; bots fill every field
MAX_EXTERNAL_ID_CHARS = 200


class WebChannel:
    kind: ClassVar[ChannelKind] = ChannelKind.WEB
    can_send: ClassVar[bool] = False  # answers to web contacts go by email or SMS

    def __init__(self, hub: Hub):
        self.hub = hub

    def setup(self, app: web.Application) -> None:
        app[FORM_RATE_LIMIT] = RateLimiter(self.hub.settings.web.rate_limit_per_minute)
        app.router.add_get("/contact", handle_form)
        app.router.add_post("/contact", handle_form_post)
        app.router.add_post("/api/v1/contacts", handle_json_contact)
        app.router.add_get("/contact/confirm/{token}", handle_confirm)
        app.router.add_post("/contact/confirm/{token}", handle_confirm)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        raise ChannelSendError("the web channel does not send messages", retryable=False)


async def handle_form(request: web.Request) -> web.Response:
    # The language picker starts at the page's language (?lang=, else the browser's).
    return _form_page(request, values={**BLANK_FORM, "language": current_reader().locale}, errors={})


async def handle_form_post(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await request.post()
    values = {key: str(form.get(key, "")) for key in FORM_FIELDS}
    form_id = csrf.check_token(hub.secret_key, str(form.get("csrf_token", "")), request.cookies.get(csrf.COOKIE_NAME, ""))
    if form_id is None:
        return _form_page(
            request, values, {"form": _("This form has expired. Please check your message and send it again.")}, status=400
        )
    if form.get(HONEYPOT_FIELD):
        log.info("web form: honeypot filled from %s; dropped", request.remote)
        return render_page("contact_sent.html", reference="")
    if not request.app[FORM_RATE_LIMIT].allow(request.remote or "unknown"):
        raise RateLimitedError(_("Too many messages from your address. Please wait a minute and try again."))
    try:
        contact = parse_contact(
            values, hub.settings, channel=ChannelKind.WEB, provider_id=f"form:{form_id}", client_address=request.remote or "unknown"
        )
    except InputError as exc:
        return _form_page(request, values, exc.fields, status=400)
    if not contact.language and request.headers.get("Accept-Language"):
        # No choice on the form: the browser's language, which never overrides a known one.
        contact = dataclasses.replace(contact, language=current_reader().locale)
    if contact.language in hub.settings.i18n.locales:
        set_reader(Reader(contact.language, current_reader().timezone))  # the answer page in the language they chose
    try:
        result = await ingest(hub, contact, raw=json.dumps(values).encode())
    except ContactKeptForReplay:
        return render_page("contact_sent.html", reference="")
    return render_page("contact_sent.html", reference=result.reference)


async def handle_confirm(request: web.Request) -> web.Response:
    """The link of an address confirmation mail: GET asks for the click, POST confirms (outbound/confirmation.py)."""
    hub = request.app[HUB]
    found = read_confirmation(hub.secret_key, request.match_info["token"])
    if found is None:
        return render_page("contact_confirm.html", status=404, state="invalid")
    if request.method == "GET":
        return render_page("contact_confirm.html", state="ask")
    async with hub.sessions() as session, session.begin():
        ticket, events = await do_confirm_address(session, hub.settings, *found)
    if ticket is None:
        return render_page("contact_confirm.html", status=404, state="invalid")
    hub.bus.publish_all(events)
    return render_page("contact_confirm.html", state="done", reference=ticket.reference)


async def handle_json_contact(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    await require(request, "intake")
    body = await read_json_object(request)
    channel = body.get("channel", "api")
    if channel not in (ChannelKind.API, ChannelKind.WEB):
        raise InputError("channel must be 'api' or 'web'", fields={"channel": "must be 'api' or 'web'"})
    external_id = body.get("external_id") or ""
    # The idempotency key must be exactly what the caller will send again:
    # a number or an object would silently lose "the same one twice is one contact".
    if not isinstance(external_id, str) or len(external_id) > MAX_EXTERNAL_ID_CHARS or not is_text(external_id):
        raise InputError(
            f"external_id must be a string of at most {MAX_EXTERNAL_ID_CHARS} characters",
            fields={"external_id": "must be a string"},
        )
    provider_id = f"ext:{external_id}" if external_id else f"api:{uuid.uuid4()}"
    contact = parse_contact(body, hub.settings, channel=ChannelKind(channel), provider_id=provider_id, customer=body.get("customer"))
    try:
        result = await ingest(hub, contact, raw=await request.read())
    except ContactKeptForReplay as kept:
        return web.json_response({"status": "kept_for_review", "inbound_record_id": kept.record_id}, status=202)
    return web.json_response(
        {
            "customer_id": result.customer_id,
            "ticket_id": result.ticket_id,
            "reference": result.reference,
            "interaction_id": result.interaction_id,
            "duplicate": result.duplicate,
        },
        status=200 if result.duplicate else 201,
    )


def parse_contact(
    values: dict[str, Any],
    settings: Settings,
    *,
    channel: ChannelKind,
    provider_id: str,
    customer: Any = None,
    client_address: str = "",
) -> InboundContact:
    """Check what a person typed and build the contact; InputError lists every problem."""
    limits = settings.web
    errors: dict[str, str] = {}
    name = normalize_name(_text(values, "name", errors))
    raw_email = _text(values, "email", errors).strip()
    raw_phone = _text(values, "phone", errors).strip()
    subject = " ".join(_text(values, "subject", errors).split())
    message = _text(values, "message", errors).strip()
    ticket_type = _text(values, "type", errors) or "question"
    raw_language = _text(values, "language", errors).strip()
    language = normalize_language(raw_language) if raw_language else ""

    if len(name) > limits.max_name_chars:
        errors["name"] = _("Please keep the name under {limit} characters.", limit=limits.max_name_chars)
    email = normalize_email(raw_email) if raw_email else None
    if raw_email and email is None:
        errors["email"] = _("This does not look like an email address.")
    phone = normalize_phone(raw_phone, settings.identity.default_region) if raw_phone else None
    if raw_phone and phone is None:
        errors["phone"] = _("This does not look like a phone number. Include the country code if it is not local.")
    if not raw_email and not raw_phone:
        errors["email"] = _("Please give an email address or a phone number so we can answer you.")
    if len(subject) > limits.max_subject_chars:
        errors["subject"] = _("Please keep the subject under {limit} characters.", limit=limits.max_subject_chars)
    if not message:
        errors["message"] = _("Please write your message.")
    elif len(message) > limits.max_message_chars:
        errors["message"] = _("Please keep the message under {limit} characters.", limit=limits.max_message_chars)
    if language is None:
        errors["language"] = _("Please choose a language from the list.")
    if ticket_type not in FORM_TYPES:
        errors["type"] = _("Please choose question, request or complaint.")
    if customer is not None and not isinstance(customer, dict):
        errors["customer"] = "must be an object"
    elif customer and not _customer_hints_fit(customer):
        errors["customer"] = "tier (up to 20 characters), external_id (up to 200) and segments (a list of text) only"
    if errors:
        raise InputError("some fields need attention", fields=errors)

    return InboundContact(
        channel=channel,
        provider_id=provider_id,
        identities=typed_identities(email, phone),
        received_at=utcnow(),
        display_name=name,
        subject=subject,
        text=message,
        ticket_type=TicketType(ticket_type),
        source_address=channel.value,
        customer_hints={k: v for k, v in (customer or {}).items() if k in ("tier", "external_id", "segments")},
        language=language or "",
        language_chosen=bool(language),
        # The public form's sender: acknowledgements on its behalf are capped
        # (outbound/acknowledgements.py). The JSON intake's caller holds a token.
        metadata={"client_address": client_address} if client_address else {},
    )


def _text(values: dict[str, Any], key: str, errors: dict[str, str] | None = None) -> str:
    value = values.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or not is_text(value):
        if errors is not None:
            errors[key] = _("must be text") if not isinstance(value, str) else _("contains characters that are not allowed")
        return ""
    return value

def _customer_hints_fit(customer: dict[str, Any]) -> bool:
    """The CRM facts we keep have the shapes and sizes of the customer record's columns."""
    tier, external_id, segments = customer.get("tier", ""), customer.get("external_id", ""), customer.get("segments", [])
    return (
        isinstance(tier, str) and len(tier) <= 20 and is_text(tier)
        and isinstance(external_id, str) and len(external_id) <= MAX_EXTERNAL_ID_CHARS and is_text(external_id)
        and isinstance(segments, list) and all(isinstance(s, str) and len(s) <= 100 and is_text(s) for s in segments)
    )


def _form_page(request: web.Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> web.Response:
    hub = request.app[HUB]
    cookie = request.cookies.get(csrf.COOKIE_NAME) or csrf.new_cookie_value()
    token = csrf.issue_token(hub.secret_key, cookie)
    languages = [(tag, babel_locale(tag).get_display_name(babel_locale(tag)) or tag) for tag in hub.settings.i18n.locales]
    response = render_page(
        "contact.html", status=status, values=values, errors=errors, csrf_token=token, types=FORM_TYPES, languages=languages
    )
    response.set_cookie(
        csrf.COOKIE_NAME,
        cookie,
        max_age=30 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=hub.settings.http.public_url.startswith("https://"),
    )
    return response
