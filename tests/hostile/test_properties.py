"""Issue 19, as properties: whatever a channel hands over is storable, and our mail's headers are ours."""

from __future__ import annotations

import email
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.channels.email_compose import UnsafeHeaderError, check_headers_are_ours, compose
from contactcenter.contact import Attachment, ChannelKind, InboundContact, OutboundMessage
from contactcenter.db.models import utcnow
from contactcenter.identity.normalize import is_text
from contactcenter.plain_text import FILENAME_CHARS, NAME_CHARS, SUBJECT_CHARS, clean_text, has_bidi_controls
from contactcenter.settings import load_settings
from contactcenter.web.params import MAX_ID, parse_id
from tests.hostile.alphabets import hostile_ids, hostile_text

EMAIL_SETTINGS = load_settings(environ={}).email
OUR_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}


@given(name=hostile_text, subject=hostile_text | st.text(min_size=290, max_size=2000), text=hostile_text, filename=hostile_text)
@settings(max_examples=300, deadline=None)
def test_every_contact_is_storable_whatever_the_channel_was_given(name: str, subject: str, text: str, filename: str) -> None:
    contact = InboundContact(
        channel=ChannelKind.EMAIL,
        provider_id=text or "x",
        identities=(),
        received_at=utcnow(),
        display_name=name,
        subject=subject,
        text=text,
        attachments=(Attachment(filename=filename, content_type=text, content=b""),),
        metadata={"x": text, text: [text]},
    )
    for value in (contact.display_name, contact.subject, contact.text, contact.attachments[0].filename, str(contact.metadata)):
        assert is_text(value), repr(value)
        value.encode("utf-8")  # no lone surrogate survives
    assert len(contact.subject) <= SUBJECT_CHARS and len(contact.display_name) <= NAME_CHARS
    assert len(contact.attachments[0].filename) <= FILENAME_CHARS
    assert not any(ch in contact.subject + contact.display_name for ch in "\r\n\u2028\u2029\x85")
    assert not has_bidi_controls(contact.display_name + contact.attachments[0].filename)
    assert InboundContact.from_json(contact.to_json()) == contact  # a replay is the same contact


@given(subject=hostile_text, reference=st.sampled_from(["", "CC-000001"]))
@settings(max_examples=300, deadline=None)
def test_outbound_headers_are_exactly_ours_whatever_the_subject(subject: str, reference: str) -> None:
    message = OutboundMessage(channel=ChannelKind.EMAIL, to="bob@example.com", text="hello", subject=subject, ticket_reference=reference)
    raw = compose(message, EMAIL_SETTINGS).data
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert {k.lower() for k in parsed.keys()} == OUR_HEADERS
    assert len(parsed.keys()) == len(OUR_HEADERS)
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
    assert [p.get_content_type() for p in parsed.walk() if not p.is_multipart()] == ["text/plain", "text/html"]


def test_a_header_value_that_would_read_back_as_more_headers_is_refused() -> None:
    # What the last check is for: a value that reached the block without plain_header's cleaning.
    head = b"From: help@example.com\r\nTo: bob@example.com\r\nX-Note: x\nBcc: evil@example.com\r\n"
    check_headers_are_ours(head.replace(b"\nBcc", b" Bcc"), ["From", "To", "X-Note"])
    with pytest.raises(UnsafeHeaderError, match="Bcc"):
        check_headers_are_ours(head, ["From", "To", "X-Note"])


@pytest.mark.parametrize(
    "to", ["bob@example.com>, eve@example.com", "bob@example.com\r\nBcc: eve@example.com", "Bob <bob@example.com>", "", "bob"]
)
def test_a_recipient_that_is_not_one_address_is_not_sent(to: str) -> None:
    with pytest.raises(UnsafeHeaderError, match="recipient"):
        compose(OutboundMessage(channel=ChannelKind.EMAIL, to=to, text="hello"), EMAIL_SETTINGS)


@given(text=hostile_text, html=hostile_text)
@settings(max_examples=200, deadline=None)
def test_the_text_and_html_read_back_as_written(text: str, html: str) -> None:
    """Quoted-printable or 7bit, whatever the text: a mail reader shows exactly it (line ends aside)."""
    message = OutboundMessage(channel=ChannelKind.EMAIL, to="bob@example.com", text=text, html=html or "<p>x</p>", subject="hi")
    parsed = email.message_from_bytes(compose(message, EMAIL_SETTINGS).data, policy=policy.default)
    plain, rich = (part.get_content() for part in parsed.iter_parts())
    written = lambda value: clean_text(value).replace("\r\n", "\n").replace("\r", "\n")  # noqa: E731
    assert written(plain).rstrip("\n") == written(text).rstrip("\n")
    assert written(rich).rstrip("\n") == written(html or "<p>x</p>").rstrip("\n")
    assert all(len(line) <= 998 for line in compose(message, EMAIL_SETTINGS).data.split(b"\r\n"))


@given(value=hostile_ids | hostile_text)
def test_ids_are_ascii_digits_within_the_column_or_nothing(value: str) -> None:
    number = parse_id(value)
    assert number is None or (value.isascii() and value.isdigit() and 1 <= number <= MAX_ID)
