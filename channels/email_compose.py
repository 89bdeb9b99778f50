"""Our outgoing mail, byte for byte: one RFC 5322 message per OutboundMessage.

Each message carries our own Message-ID (the one `actions.do_reply` recorded,
so replies to it thread back), In-Reply-To and References (RFC 5322 §3.6.4),
the ticket reference in the subject, text plus HTML (multipart/alternative),
and for automatic messages the headers that keep other auto-responders quiet
(RFC 3834 Auto-Submitted, Exchange's X-Auto-Response-Suppress).

Header values are plain text that no parser can read again as something
else: one line (control characters and line breaks removed), encoded here (RFC
2047 encoded words whenever the text is not plain ASCII or could be mistaken
for an encoded word), never handed to the email package's header parser. That
parser decodes encoded words in whatever it is given, so a stored subject
`=?utf-8?b?...?=` hiding CR/LF became real header lines (Python before the
CVE-2024-6923 fix) or an exception on every retry (after it). The header
block is then read back to carry exactly the headers we wrote.

Written as bytes, not built as an `EmailMessage` (issue 11): with
`policy.default` every header set or read went through the header registry's
full parse, and the generator flattened it all again; that was a fifth of the
CPU of an inbound mail, most of it its acknowledgement (docs/benchmarks.md).
The email package still does what it is quick at: encoded words
(`email.header.Header`), dates, message ids, and the read-back.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid

from contactcenter.contact import OutboundMessage
from contactcenter.db.models import utcnow
from contactcenter.outbound.messages import render_message
from contactcenter.plain_text import clean_line, clean_text
from contactcenter.settings import EmailSettings

# One addr-spec, with nothing that could end the header or add another address.
ADDRESS = re.compile(r"[^\s@<>()\[\]\\,;:\"]{1,64}@[^\s@<>()\[\]\\,;:\"]{1,255}")
# A Message-ID as we write it: `<left@right>` with nothing that could end the header.
MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
SUBJECT_CHARS = 400
# Lines of a 7bit part stay within what RFC 5322 §2.1.1 asks of every line.
LINE_CHARS = 78


class UnsafeHeaderError(ValueError):
    """The message would not carry exactly the headers we meant to write; it is not sent."""


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    sender: str
    recipient: str
    message_id: str
    data: bytes  # the whole message, CRLF line ends
    smtputf8: bool  # an address is not ASCII: the relay must take SMTPUTF8 (RFC 6531)


def compose(message: OutboundMessage, settings: EmailSettings) -> OutgoingMail:
    sender = _address(settings.from_address, "the sender ([email] from_address)")
    recipient = _address(message.to, "the recipient")
    subject = message.subject or "Your request"
    if message.ticket_reference and message.ticket_reference not in subject:
        subject = f"{subject} [{message.ticket_reference}]"
    message_id = _message_id(message.message_id) or make_msgid(domain=sender.rpartition("@")[2])
    headers = [
        ("From", sender),
        ("To", recipient),
        ("Subject", plain_header("Subject", subject)),
        ("Date", format_datetime(utcnow())),
        ("Message-ID", message_id),
    ]
    in_reply_to = _message_id(message.in_reply_to)
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
    references = [r for r in dict.fromkeys([*message.references, *([in_reply_to] if in_reply_to else [])]) if _message_id(r)]
    if references:
        headers.append(("References", _folded(references)))
    if message.auto_submitted:
        headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    html = message.html
    if not html:
        paragraphs = [p.split("\n") for p in message.text.strip().split("\n\n") if p.strip()]
        _, html = render_message("reply", locale=message.language, text=message.text, paragraphs=paragraphs, reference=message.ticket_reference)
    parts = [_text_part("plain", message.text), _text_part("html", html)]
    boundary = "=_" + secrets.token_hex(16)  # "=" never starts a line of quoted-printable
    while any(boundary.encode() in part for part in parts):
        boundary = "=_" + secrets.token_hex(16)
    headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
    check_headers_are_ours(head, [name for name, _ in headers])
    delimiter = f"--{boundary}\r\n".encode()
    body = b"".join([delimiter, parts[0], delimiter, parts[1], f"--{boundary}--\r\n".encode()])
    return OutgoingMail(sender, recipient, message_id, head + b"\r\n" + body, smtputf8=not (sender + recipient).isascii())


def plain_header(name: str, text: str) -> str:
    """`text` as one header's value: one line, folded and encoded here (RFC 5322 §2.2.3, RFC 2047 §2)."""
    text = clean_line(text, SUBJECT_CHARS)
    plain = text.isascii() and "=?" not in text
    return Header(text, "us-ascii" if plain else "utf-8", header_name=name).encode(linesep="\r\n")


def check_headers_are_ours(head: bytes, names: list[str]) -> None:
    """Read the header block back as a receiver would: the same names, in order, and nothing more."""
    written = BytesHeaderParser().parsebytes(head + b"\r\n")
    if [k.lower() for k in written.keys()] != [n.lower() for n in names]:
        raise UnsafeHeaderError(f"headers would read back as {written.keys()}")


def _address(value: str, what: str) -> str:
    if not ADDRESS.fullmatch(value):
        raise UnsafeHeaderError(f"{what} is not one address")
    return value


def _message_id(value: str) -> str:
    return value if MESSAGE_ID.fullmatch(value) else ""


def _folded(words: list[str]) -> str:
    """Words on lines of at most 78 characters (RFC 5322 §2.1.1), folded with CRLF and a space."""
    lines = [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > LINE_CHARS - len("References: "):
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return "\r\n ".join(lines)


def _text_part(subtype: str, text: str) -> bytes:
    """One text part: 7bit when it is short-lined ASCII, quoted-printable UTF-8 otherwise.

    Control characters and lone surrogates (an API client can send them) go,
    as from every stored text (`clean_text`): UTF-8 cannot carry a surrogate.
    """
    text = clean_text(text).replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and all(len(line) <= LINE_CHARS for line in text.split("\n")):
        encoding, body = "7bit", text.encode("ascii")
    else:
        encoding, body = "quoted-printable", binascii.b2a_qp(text.encode("utf-8"))
    body = body.replace(b"\n", b"\r\n")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'.encode() + body
