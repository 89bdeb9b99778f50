"""Shared pieces of the durability tests (crash, duplicates, database faults, fuzz).

The heart is the table of *deliverers*: one small async function per way a
contact reaches the hub over the wire (JSON intake, the web form, Twilio SMS
webhooks and SMTP). Each prepares one contact
for a key the test chose and returns a `send()` that delivers it, the very
same way each time it is called (a provider's retry), and says whether the
hub acknowledged it the way that provider understands (2xx, SMTP 250). `stored_keys` reads back
from the database which keys became interactions, so a test can compare
"acknowledged" with "stored exactly once" for every channel in one place.

Adding a channel is one line in `DELIVERERS`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.db.models import InboundRecord, Interaction
from contactcenter.hub import Hub
from contactcenter.settings import load_settings
from contactcenter.web.auth import create_api_token
from tests.factories import settings_with
from tests.hubprocess import HubProcess, free_port

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
TWILIO_TOKEN = "durability-twilio-token"
TWILIO_ACCOUNT = "AC" + "d" * 32
OUR_NUMBER = "+14155550000"
MAILBOX = "support@example.com"


def hub_settings(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Config sections for a HubProcess under load from one loopback address."""
    base: dict[str, dict[str, Any]] = {
        # Every test client comes from 127.0.0.1; the per-address limit is for the public.
        "web": {"rate_limit_per_minute": 1_000_000},
        # Likewise the cap on acknowledgements sent for one form sender (client address).
        "tickets": {"acknowledgements_per_client_per_hour": 1_000_000},
        "outbox": {"poll_seconds": 0.5},
        # Twilio signatures and the SMTP receiver.
        # Outbound SMS must not leave loopback: nothing listens on port 9 (discard), so sends are retried.
        "twilio": {
            "auth_token": TWILIO_TOKEN,
            "account_sid": TWILIO_ACCOUNT,
            "phone_number": OUR_NUMBER,
            "api_base_url": "http://127.0.0.1:9",
        },
        # Load from one machine opens more SMTP sessions at once than a real peer would (421 beyond the cap).
        "email": {"smtp_port": free_port(), "max_smtp_sessions": 1000},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return base


async def admin_token(database_url: str) -> str:
    """An admin API token written straight into the database (tests, bench)."""
    settings = settings_with(load_settings(environ={}), http={"secret_key": "test-secret"})
    hub = Hub.create(settings, database_url)
    try:
        async with hub.sessions() as session, session.begin():
            return await create_api_token(session, "durability", "admin")
    finally:
        await hub.close()


@dataclass
class Target:
    """Where and how to deliver: the hub's base URL, an HTTP session and the token."""

    url: str
    http: aiohttp.ClientSession
    token: str
    smtp_port: int = 0

    @classmethod
    def of(cls, hub: HubProcess, http: aiohttp.ClientSession, token: str) -> Target:
        with hub.config.open("rb") as f:
            config = tomllib.load(f)
        return cls(hub.url, http, token, config.get("email", {}).get("smtp_port", 0))


REFERENCE = re.compile(r"CC-[0-9]{6,}")


@dataclass(frozen=True)
class Delivery:
    acknowledged: bool  # the hub gave the provider's success answer
    status: int  # HTTP status, SMTP code, or 0 when the connection failed
    detail: str = ""  # the start of the answer, when it was not a success
    reference: str = ""  # the ticket reference the answer named, if any


@dataclass(frozen=True)
class Prepared:
    """One contact ready to go: `send()` delivers it, and delivers the very same
    thing again when called again (a provider's retry, a double click)."""

    key: str  # what identifies it in the database (external id, form id, MessageSid, Message-ID)
    send: Callable[[], Awaitable[Delivery]]


# Prepare one contact; `key` is the test's choice, which a channel may replace
# with the provider's own id (the web form's id is issued by the hub).
Deliverer = Callable[[Target, str], Awaitable[Prepared]]


async def _post(target: Target, path: str, ok: Callable[[int, str], bool], **kwargs: Any) -> Delivery:
    try:
        async with target.http.post(target.url + path, **kwargs) as response:
            text = await response.text()
            good = ok(response.status, text)
            reference = REFERENCE.search(text)
            return Delivery(good, response.status, "" if good else text[:300], reference.group(0) if reference else "")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Delivery(False, 0, repr(exc))


async def prepare_json(target: Target, key: str) -> Prepared:
    body = {"external_id": key, "email": f"{key}@load.example.com", "name": "Load Test", "message": f"contact {key}"}
    headers = {"Authorization": f"Bearer {target.token}"}
    return Prepared(
        key, lambda: _post(target, "/api/v1/contacts", lambda status, _: status in (200, 201), json=body, headers=headers)
    )


async def open_form(target: Target) -> tuple[str, str]:
    """GET /contact like a browser: the CSRF token and the cookie it is bound to."""
    async with target.http.get(target.url + "/contact") as response:
        page = await response.text()
        cookie = response.cookies["cc_csrf"].value if "cc_csrf" in response.cookies else ""
        status = response.status
    match = CSRF_FIELD.search(page)
    if status != 200 or match is None or not cookie:
        raise aiohttp.ClientError(f"GET /contact answered {status} without a form")
    return match.group(1), cookie


async def prepare_form(target: Target, key: str) -> Prepared:
    """A person's visit: GET the form (the hub issues its id), then POST it.

    The key becomes the form id from the CSRF token, the idempotency key the
    hub stores as `form:<id>`. When the GET itself fails, sending reports that
    failure without posting.
    """
    try:
        token, cookie = await open_form(target)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        failure = Delivery(False, 0, repr(exc))

        async def failed() -> Delivery:
            return failure

        return Prepared(f"unissued-{key}", failed)
    fields = {
        "name": "Form Load",
        "email": f"{key}@form.example.com",
        "subject": f"form {key}",
        "message": f"form contact {key}",
        "type": "question",
        "csrf_token": token,
    }
    # The success page carries the ticket reference; an error page never does.
    return Prepared(
        token.split(".")[0],
        lambda: _post(
            target,
            "/contact",
            lambda status, page: status == 200 and 'data-reference="CC-' in page,
            data=fields,
            headers={"Cookie": f"cc_csrf={cookie}"},
        ),
    )


async def prepare_sms(target: Target, key: str) -> Prepared:
    """Twilio's inbound-SMS webhook, signed as Twilio signs it; the MessageSid is the key."""
    from twilio.request_validator import RequestValidator

    sid = "SM" + hashlib.md5(key.encode()).hexdigest()
    number = int(hashlib.md5(key.encode()).hexdigest()[:8], 16) % 8_000_000 + 2_000_000
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": TWILIO_ACCOUNT,
        "From": f"+1206{number}",
        "To": OUR_NUMBER,
        "Body": f"sms {key}",
        "NumMedia": "0",
    }
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(target.url + path, params)
    return Prepared(
        sid, lambda: _post(target, path, lambda status, _: status == 200, data=params, headers={"X-Twilio-Signature": signature})
    )


async def prepare_smtp(target: Target, key: str) -> Prepared:
    """One mail to the hub's SMTP receiver; 250 after DATA is the acknowledgement."""
    from email.message import EmailMessage

    import aiosmtplib

    message = EmailMessage()
    message["From"] = f"{key}@mail.example.com"
    message["To"] = MAILBOX
    message["Subject"] = f"mail {key}"
    message["Message-ID"] = f"<{key}@load.example.com>"
    message.set_content(f"mail contact {key}\n")

    async def send() -> Delivery:
        try:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=target.smtp_port, timeout=20)
        except aiosmtplib.SMTPResponseException as exc:
            return Delivery(False, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Delivery(False, 0, repr(exc))
        return Delivery(True, 250)

    return Prepared(key, send)


# channel -> how to prepare one contact delivered over the wire.
DELIVERERS: dict[str, Deliverer] = {
    "api": prepare_json,
    "web": prepare_form,
    "email": prepare_smtp,
    "sms": prepare_sms,
}

# Answers that tell a provider to try again later (HTTP 503, SMTP 421/451),
# or no answer at all (0).
RETRY_LATER = (0, 421, 451, 503)

# channel -> the key of a stored interaction, from its provider id.
KEY_OF_PROVIDER_ID: dict[str, Callable[[str], str]] = {
    "api": lambda provider_id: provider_id.removeprefix("ext:"),
    "web": lambda provider_id: provider_id.removeprefix("form:"),
    "sms": lambda provider_id: provider_id,
    "email": lambda provider_id: provider_id.strip("<>").removesuffix("@load.example.com"),
}


async def stored_keys(database_url: str) -> dict[str, Counter[str]]:
    """channel -> how many inbound interactions each test key became."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(Interaction.channel, Interaction.provider_id).where(Interaction.direction == "inbound")
                )
            ).all()
    finally:
        await engine.dispose()
    found: dict[str, Counter[str]] = {channel: Counter() for channel in DELIVERERS}
    for channel, provider_id in rows:
        key_of = KEY_OF_PROVIDER_ID.get(channel)
        if key_of is not None and provider_id:
            found.setdefault(channel, Counter())[key_of(provider_id)] += 1
    return found


@dataclass
class Tally:
    """What one test run sent and got back, per channel, for the summary line."""

    sent: Counter[str]
    acknowledged: dict[str, set[str]]
    refused: Counter[int]

    @classmethod
    def new(cls) -> Tally:
        return cls(sent=Counter(), acknowledged={}, refused=Counter())

    def record(self, channel: str, key: str, delivery: Delivery) -> None:
        self.sent[channel] += 1
        if delivery.acknowledged:
            self.acknowledged.setdefault(channel, set()).add(key)
        else:
            self.refused[delivery.status] += 1


def check_exactly_once(tally: Tally, stored: dict[str, Counter[str]], label: str) -> str:
    """Assert acknowledged ⊆ stored, nothing stored twice; return the summary line."""
    lines = []
    for channel in sorted(tally.sent):
        acked = tally.acknowledged.get(channel, set())
        counts = stored.get(channel, Counter())
        duplicates = {key: n for key, n in counts.items() if n > 1}
        lost = acked - set(counts)
        lines.append(
            f"{channel}: sent {tally.sent[channel]}, acknowledged {len(acked)}, stored {len(counts)}, "
            f"duplicates: {len(duplicates)}, lost: {len(lost)}"
        )
        assert not duplicates, f"{label} {channel}: stored more than once: {sorted(duplicates)[:10]}"
        assert not lost, f"{label} {channel}: acknowledged but not stored: {sorted(lost)[:10]}"
    refused = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(tally.refused.items()))
    return f"{label}: " + "; ".join(lines) + (f" (refused {refused})" if refused else "")


async def nothing_pending(database_url: str) -> bool:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        pending = await connection.scalar(select(func.count()).select_from(InboundRecord).where(InboundRecord.status == "pending"))
    await engine.dispose()
    return pending == 0
