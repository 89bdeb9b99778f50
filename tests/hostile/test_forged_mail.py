"""Issue 19: an encoded-word subject hiding CR/LF must never become headers of our mail.

Through every door (form, JSON intake, SMTP with a double-encoded subject)
and in a later agent reply, the acknowledgement that reaches the relay has
exactly our headers, one text and one HTML part of ours, and goes only to the
contact's own address. Runs on the Python here (3.11.7, before the
CVE-2024-6923 fix), where the email package would write the CR/LF out.
"""

from __future__ import annotations

import base64
import email
import re
from email import policy

from contactcenter.db.models import Interaction, Ticket
from tests.hostile.conftest import (
    OUR_HEADERS,
    assert_nothing_half_written_or_lost,
    assert_outbound_only_to_own_identifiers,
    deliver_all,
    post_form,
    rows,
    send_smtp,
)
from tests.mail import SUPPORT, make_mail

PAYLOAD = (
    b"Hi\r\nReply-To: attacker@evil.test\r\nBcc: victim2@evil.test\r\nContent-Type: text/html\r\n\r\n"
    b"<h1>Your account is locked</h1><a href='https://evil.test'>unlock</a>"
)
ENCODED = "=?utf-8?b?" + base64.b64encode(PAYLOAD).decode() + "?="


def assert_exactly_ours(message, to: str) -> None:
    names = [k.lower() for k in message.keys()]
    assert set(names) <= OUR_HEADERS, names
    assert len(names) == len(set(names)), names
    assert str(message["To"]) == to
    assert "reply-to" not in names and "bcc" not in names
    parts = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
    assert parts == ["text/plain", "text/html"]
    html = message.get_body(("html",)).get_content()
    assert "<h1>Your account is locked</h1>" not in html and "href='https://evil.test'" not in html


async def test_form_subject_with_encoded_crlf_gives_an_acknowledgement_with_only_our_headers(client, hub, relay):
    answer = await post_form(client, email="victim@example.com", subject=ENCODED, message="hello")
    assert answer.status == 200
    await deliver_all(hub)
    [ack] = relay.messages
    assert_exactly_ours(ack, "victim@example.com")
    assert relay.envelopes[0][1] == ["victim@example.com"]
    # The subject is the literal text typed, shown as text, never decoded as mail.
    assert ENCODED in str(ack["Subject"])
    await assert_nothing_half_written_or_lost(hub)
    await assert_outbound_only_to_own_identifiers(hub)


async def test_json_intake_subject_with_encoded_bcc_gives_only_our_headers(client, hub, auth, relay):
    body = {"external_id": "x1", "email": "victim@example.com", "subject": ENCODED, "message": "hello"}
    response = await client.post("/api/v1/contacts", json=body, headers=auth)
    assert response.status == 201
    await deliver_all(hub)
    [ack] = relay.messages
    assert_exactly_ours(ack, "victim@example.com")
    assert [rcpts for _, rcpts in relay.envelopes] == [["victim@example.com"]]


async def test_smtp_double_encoded_subject_and_the_agents_reply_carry_only_our_headers(client, hub, auth, relay):
    double = "=?utf-8?b?" + base64.b64encode(ENCODED.encode()).decode() + "?="
    mail = make_mail(sender="carol@example.com", subject="placeholder")
    raw = mail.as_bytes().replace(b"Subject: placeholder", b"Subject: " + double.encode())
    answer = await send_smtp(client, raw, sender="carol@example.com", recipients=[SUPPORT])
    assert answer.startswith("OK") or "OK" in answer
    [ticket] = await rows(hub, Ticket)
    assert ticket.subject == " ".join(PAYLOAD.decode().split()) or ticket.subject == ENCODED
    reply = await client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"text": "We are on it."}, headers=auth)
    assert reply.status == 201
    await deliver_all(hub)
    assert len(relay.messages) == 2
    for message in relay.messages:
        assert_exactly_ours(message, "carol@example.com")
    await assert_nothing_half_written_or_lost(hub)


async def test_a_subject_with_raw_line_breaks_is_one_line_everywhere(client, hub, relay):
    response = await post_form(client, email="dana@example.com", subject="Hi\u2028Bcc: x@evil.test\u0085Reply-To: y@evil.test")
    assert response.status == 200
    await deliver_all(hub)
    [ack] = relay.messages
    assert_exactly_ours(ack, "dana@example.com")
    raw = ack.as_bytes()
    assert not re.search(rb"^(bcc|reply-to):", raw, re.IGNORECASE | re.MULTILINE)
    reparsed = email.message_from_bytes(raw, policy=policy.default)
    assert "\n" not in str(reparsed["Subject"])
    [interaction] = await rows(hub, Interaction, Interaction.direction == "inbound")
    assert "\u2028" not in interaction.subject and "\x85" not in interaction.subject
