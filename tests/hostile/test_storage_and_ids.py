"""Issue 19: what got 2xx/250 is stored and processed the same on SQLite and PostgreSQL; ids never 500.

Long subjects, NUL bytes, lone surrogates, bidi overrides and numbers no
column holds, through the real doors.
"""

from __future__ import annotations

import json
import logging

import pytest

from contactcenter.db.models import Attachment, Interaction, Ticket
from tests.hostile.conftest import (
    assert_nothing_half_written_or_lost,
    deliver_all,
    post_form,
    rows,
    send_sms,
    send_smtp,
)
from tests.mail import SUPPORT, make_mail

HUGE = "9" * 5000


async def test_subjects_up_to_the_limit_are_stored_and_answered(client, hub, relay):
    for length in (296, 300):
        assert (await post_form(client, email=f"long{length}@example.com", subject="s" * length)).status == 200
    mail = make_mail(sender="longer@example.com", subject="m" * 400)
    assert "OK" in await send_smtp(client, mail)
    await deliver_all(hub)
    tickets = await rows(hub, Ticket)
    assert sorted(len(t.subject) for t in tickets) == [296, 300, 300]
    assert len(relay.messages) == 3  # every acknowledgement fits its column and left
    replies = await rows(hub, Interaction, Interaction.direction == "outbound")
    assert all(len(r.subject) <= 300 and r.subject.endswith(f"[{t.reference}]") for r, t in zip(replies, tickets))
    await assert_nothing_half_written_or_lost(hub)


async def test_nul_in_mail_text_and_file_names_is_stored_without_it(client, hub):
    mail = make_mail(sender="nul@example.com", subject="with\x00nul", text="line one\x00 line two")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="invoice\u202efdp.exe\x00.pdf")
    assert "OK" in await send_smtp(client, mail)
    [interaction] = await rows(hub, Interaction, Interaction.direction == "inbound")
    assert "\x00" not in interaction.text and "line one" in interaction.text and "line two" in interaction.text
    [attachment] = await rows(hub, Attachment)
    assert "\x00" not in attachment.filename and "\u202e" not in attachment.filename
    assert attachment.filename.startswith("invoice")
    await assert_nothing_half_written_or_lost(hub)


async def test_an_sms_with_nul_is_on_the_timeline(client, hub):
    response = await send_sms(client, Body="hello\x00there")
    assert response.status == 200
    [interaction] = await rows(hub, Interaction, Interaction.direction == "inbound")
    assert interaction.text == "hellothere"
    await assert_nothing_half_written_or_lost(hub)


async def test_lone_surrogates_and_nul_are_refused_before_success_at_the_api(client, hub, auth):
    for body in (
        {"email": "s@example.com", "message": "a\ud800"},
        {"email": "s@example.com", "message": "ok", "name": "Eve\x00"},
        {"email": "s@example.com", "message": "ok", "customer": {"segments": ["a\ud800"]}},
    ):
        response = await client.post("/api/v1/contacts", json=body, headers=auth)
        assert response.status == 400, body
    created = await client.post("/api/v1/contacts", json={"email": "s@example.com", "message": "ok"}, headers=auth)
    customer = (await created.json())["customer_id"]
    for change in ({"segments": ["a\ud800"]}, {"name": "a\ud800"}, {"tier": "\x00"}, {"notes": "x\ud800"}):
        patched = await client.patch(f"/api/v1/customers/{customer}", json=change, headers=auth)
        assert patched.status == 400, change
    assert (await client.get(f"/api/v1/customers/{customer}", headers=auth)).status == 200
    assert (await client.get(f"/api/v1/customers/{customer}/interactions", headers=auth)).status == 200


async def test_duplicate_json_keys_are_refused(client, hub, auth):
    body = b'{"email": "a@example.com", "message": "one", "email": "b@example.com"}'
    response = await client.post("/api/v1/contacts", data=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_json"
    assert await rows(hub, Ticket) == []


@pytest.mark.parametrize("bad", ["\u00b2", "\u0663", HUGE, str(2**31), str(2**63), "-1", "0"])
async def test_ids_that_name_nothing_are_4xx_on_every_path(client, hub, auth, bad):
    await client.post("/api/v1/contacts", json={"email": "ids@example.com", "message": "ok"}, headers=auth)
    calls = [
        ("GET", f"/api/v1/customers/{bad}", None),
        ("GET", f"/api/v1/customers/{bad}/interactions", None),
        ("PATCH", f"/api/v1/customers/{bad}", {"name": "x"}),
        ("POST", f"/api/v1/customers/{bad}/contact-points", {"kind": "email", "value": "z@example.com"}),
        ("POST", f"/api/v1/customers/{bad}/merge", {"from_customer_id": 1}),
        ("POST", "/api/v1/customers/1/merge", _raw_json("from_customer_id", bad)),
        ("GET", f"/api/v1/tickets/{bad}", None),
        ("GET", f"/api/v1/tickets/CC-{bad}", None),
        ("POST", f"/api/v1/tickets/{bad}/replies", {"text": "hi"}),
        ("POST", f"/api/v1/tickets/{bad}/transfer", {"queue": "general"}),
        ("POST", "/api/v1/tickets/1/transfer", _raw_json("agent_id", bad)),
        ("PUT", f"/api/v1/agents/{bad}/presence", {"presence": "available"}),
        ("POST", f"/api/v1/merge-suggestions/{bad}/dismiss", None),
        ("GET", f"/api/v1/merges/{bad}", None),
        ("POST", f"/api/v1/merges/{bad}/undo", None),
        ("GET", f"/api/v1/tickets?queue={bad}", None),
        ("GET", f"/api/v1/tickets?customer_id={bad}", None),
        ("GET", f"/api/v1/tickets?after_id={bad}", None),
        ("GET", f"/api/v1/customers?limit={bad}", None),
        ("GET", f"/api/v1/merge-suggestions?customer_id={bad}", None),
    ]
    for method, path, body in calls:
        if isinstance(body, bytes):
            response = await client.request(method, path, data=body, headers={**auth, "Content-Type": "application/json"})
        else:
            response = await client.request(method, path, json=body, headers=auth)
        assert response.status < 500, (method, path[:80], response.status, (await response.text())[:300])
        if method != "GET" or "?" not in path:
            assert 400 <= response.status < 500, (method, path[:80], response.status)


def _raw_json(key: str, value: str) -> bytes:
    """A body with `value` as a JSON number when it is written like one (5,000 digits too), else a string."""
    number = value.lstrip("-").isascii() and value.lstrip("-").isdigit()
    return ("{%s: %s}" % (json.dumps(key), value if number else json.dumps(value))).encode()


async def test_twilio_num_media_with_odd_digits_is_read_as_none(client, hub):
    for count in ("\u00b2", HUGE):
        response = await send_sms(client, NumMedia=count, MessageSid="SM" + str(len(count) % 10) * 32)
        assert response.status == 200
    assert len(await rows(hub, Interaction, Interaction.direction == "inbound")) == 2


async def test_aiosmtpd_log_masks_addresses(client, hub, caplog):
    caplog.set_level(logging.INFO, logger="mail.log")
    await send_smtp(client, make_mail(sender="secret.person@example.com"), sender="secret.person@example.com", recipients=[SUPPORT])
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "mail.log")
    assert "MAIL" in text.upper() and "secret.person@" not in text
