"""Parsing one raw email into the values the hub keeps.

Pure and synchronous (the SMTP receiver runs it in a worker thread, where it
still holds the GIL: its CPU is CPU the event loop does not get). Stdlib
`email` with headers read raw (`RAW_HEADERS`), hardened against what real
mail does: mbox `From ` lines, undeclared or wrong charsets, broken RFC 2047
words, missing MIME boundaries, uuencoded attachments, HTML-only bodies,
bounces and auto-replies. Whatever goes wrong in one header or part is
recorded as a defect and the rest of the message is still read.
"""

from __future__ import annotations

import binascii
import dataclasses
import email
import email.errors
import email.header
import email.utils
import functools
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message
from typing import IO, NamedTuple

from contactcenter.channels.email_text import decode_bytes, html_to_text, sanitize_html, split_reply
from contactcenter.contact import Attachment
from contactcenter.identity.normalize import normalize_email

TICKET_REFERENCE = re.compile(r"\[?\b(CC-\d{6,})\b\]?", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
# Local parts that never read what we send (RFC 3834 §2, RFC 2142).
AUTOMATED_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|donotreply|bounces?|auto-?reply|autoresponder)([+-].*)?$",
    re.IGNORECASE,
)
AUTOMATED_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner", "list-archive")
# Subjects Outlook and Exchange give auto-replies that carry no header saying so.
AUTOREPLY_SUBJECT = re.compile(r"^\s*(automatic reply|out of office( autoreply)?|autoreply|abwesenheitsnotiz|automatische antwort)\s*:", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver(ed|able)|delivery (status notification|failure|has failed)|mail delivery failed|returned mail|failure notice|"
    r"unzustellbar|nicht zustellbar)",
    re.IGNORECASE,
)
UUENCODE_BEGIN = re.compile(r"^begin [0-7]{3,4} (\S.*)$", re.MULTILINE)
# Every byte outside the base64 alphabet (RFC 2045 §6.8 says to ignore them), padding too.
NOT_BASE64 = bytes(sorted(set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")))
# How BytesParser hands over a header's raw 8-bit bytes: as surrogate escapes.
RAW_8BIT = re.compile("[\udc80-\udcff]")
LOOSE_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
LOCAL_ADDRESS = re.compile(r"[^@\s<>\"]+@[\w.-]+")


class _RawHeaderPolicy(policy.Compat32):
    """Headers handed back as written, only unfolded; we decode the few we read ourselves.

    `policy.default` runs a full RFC 5322 parse (the header registry) each time
    a header is read, and the parser and `get_content_type`/`get_param` read
    Content-Type many times per part: that was half the CPU of a message, for
    values `decode_header_value` decodes anyway (it reads `raw_items`).
    Raw 8-bit bytes (surrogate escapes) become text as `policy.default` makes
    them: UTF-8 (RFC 6532), U+FFFD for the rest, so none reaches a stored value.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        value = value.replace("\r", "").replace("\n", "")
        if value.isascii():
            return value
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


RAW_HEADERS = _RawHeaderPolicy()

# The same addresses come back all day (customers write again; our mailboxes
# are in every To), and email_validator costs more than the rest of a header.
normalised_address = functools.lru_cache(maxsize=4096)(normalize_email)


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    max_bytes: int  # per attachment; larger ones are listed but not kept
    max_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """A delivery status notification (RFC 3464) and what it reports on."""

    original_message_ids: tuple[str, ...]
    recipient: str
    status: str  # the DSN status code, e.g. 5.1.1
    failed: bool  # False for "delayed" and "delivered" reports
    reason: str


@dataclass(kw_only=True)
class ParsedEmail:
    message_id: str
    from_address: str | None  # normalised, None when there is none we can use
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    subject: str
    text: str  # the whole body as plain text
    new_text: str  # what the sender just wrote
    signature: str
    quoted: str  # quoted history below the new text
    html: str  # sanitised
    body_type: str  # text/plain or text/html: which part the text came from
    in_reply_to: list[str]
    references: list[str]
    ticket_references: list[str]
    date: datetime | None
    automated_reason: str  # why no acknowledgement may go back; "" for a person
    bounce: Bounce | None
    attachments: list[Attachment] = field(default_factory=list)
    dropped_attachments: list[dict[str, object]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def parse_email(raw: bytes | IO[bytes], limits: AttachmentLimits) -> ParsedEmail:
    """Read one message, from bytes or from a file; raises only on input that is not mail at all."""
    msg = read_message(raw)
    defects = [type(d).__name__ for d in msg.defects]
    from_name, from_address = _first_address(msg, "from", defects)
    for fallback in ("sender", "reply-to", "return-path"):
        if from_address is None:
            # `From: "name" <>`: whoever else the headers name as responsible.
            fallback_name, from_address = _first_address(msg, fallback, defects)
            from_name = from_name or fallback_name
    subject = " ".join(header_text(msg, "subject").split())
    body = _Body(limits, msg)
    body.walk(msg)
    text = body.text()
    new_text, signature, quoted = split_reply(text)
    references = MESSAGE_ID.findall(header_text(msg, "references"))
    in_reply_to = MESSAGE_ID.findall(header_text(msg, "in-reply-to"))
    ticket_refs = [m.upper() for m in TICKET_REFERENCE.findall(subject)]
    ticket_refs += [m.upper() for m in TICKET_REFERENCE.findall(text) if m.upper() not in ticket_refs]
    message_id_match = MESSAGE_ID.search(header_text(msg, "message-id"))
    parsed = ParsedEmail(
        message_id=message_id_match.group(0) if message_id_match else "",
        from_address=from_address,
        from_name=from_name,
        to=_addresses(msg, "to", defects),
        cc=_addresses(msg, "cc", defects),
        reply_to=_addresses(msg, "reply-to", defects),
        subject=subject,
        text=text,
        new_text=new_text,
        signature=signature,
        quoted=quoted,
        html=sanitize_html(body.html) if body.html else "",
        body_type=body.body_type,
        in_reply_to=in_reply_to,
        references=references,
        ticket_references=ticket_refs,
        date=_date(msg),
        automated_reason="",
        bounce=None,
        attachments=body.attachments,
        dropped_attachments=body.dropped,
        defects=defects + body.defects,
    )
    parsed.bounce = find_bounce(msg, parsed, body)
    parsed.automated_reason = automated_reason(msg, parsed)
    return parsed


HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# A file is fed to the parser this much at a time.
READ_BYTES = 256 * 1024


def read_message(raw: bytes | IO[bytes]) -> Message:
    """The message tree, its headers repaired first (`strip_mbox_line`, `repair_headers`).

    From a file (a large mail spooled to disk) only the header block is read
    whole; the rest is fed to the parser a chunk at a time, so the raw bytes
    are never all in memory beside the tree built from them.
    """
    if isinstance(raw, (bytes, bytearray)):
        return email.message_from_bytes(repair_headers(strip_mbox_line(bytes(raw))), policy=RAW_HEADERS)
    head = raw.read(READ_BYTES)
    while not BLANK_LINE.search(head) and (more := raw.read(READ_BYTES)):
        head += more
    parser = BytesFeedParser(policy=RAW_HEADERS)
    parser.feed(repair_headers(strip_mbox_line(head)))
    while chunk := raw.read(READ_BYTES):
        parser.feed(chunk)
    message = parser.close()
    assert isinstance(message, Message)
    return message


def repair_headers(raw: bytes) -> bytes:
    """Unfold header lines a broken mailer wrapped without indenting them.

    A line that is not a header, between header lines, would otherwise end
    the header block early and turn From and Subject into body text.
    """
    end = re.search(rb"\r?\n\r?\n", raw)
    block = raw[: end.start()] if end else raw
    lines = block.split(b"\n")
    last_header = max((i for i, line in enumerate(lines) if HEADER_LINE.match(line)), default=0)
    repaired = [
        line if i == 0 or i > last_header or HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") else b" " + line
        for i, line in enumerate(lines)
    ]
    return b"\n".join(repaired) + raw[len(block):] if end else raw


def strip_mbox_line(raw: bytes) -> bytes:
    """Drop the mbox `From sender date` separator, and any junk line before the headers.

    Some stores keep the separator as line one; some forwarders put a banner
    (`---- Original email message ----`) there. Either would end the header
    block at once and turn the whole message into body text.
    """
    for _ in range(3):
        first, newline, rest = raw.partition(b"\n")
        if not newline or HEADER_LINE.match(first) or not HEADER_LINE.match(rest):
            break
        raw = rest
    return raw


# --- Headers -----------------------------------------------------------------


def charset_hint(msg: Message) -> str:
    """The charset the sender's software used elsewhere, for parts that declare none."""
    for name in ("subject", "from"):
        for raw in _raw_headers(msg, name):
            for found in re.findall(r"=\?([^?*]+)[^?]*\?[bBqQ]\?", raw):
                if found.lower() not in ("us-ascii", "utf-8"):
                    return found.lower()
    for charset in msg.get_charsets():
        if charset and charset.lower() not in ("us-ascii",):
            return charset.lower()
    return ""


def header_text(msg: Message, name: str) -> str:
    """A header's decoded text, whatever its encoding; "" when absent."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    return decode_header_value(raw)


def _raw_header(msg: Message, name: str) -> str | None:
    values = _raw_headers(msg, name)
    return values[0] if values else None


def _raw_headers(msg: Message, name: str) -> list[str]:
    return [str(value) for key, value in msg.raw_items() if key.lower() == name]


def decode_header_value(raw: str) -> str:
    """RFC 2047 words with any (or a wrong) charset, and raw 8-bit bytes, to text."""
    raw = re.sub(r"\r?\n[ \t]", " ", raw)
    # 8-bit bytes arrive as surrogate escapes (RFC 6532 UTF-8, or a local charset).
    if RAW_8BIT.search(raw):
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), "utf-8")
    # Encoded words split inside a multi-byte character only decode when joined.
    raw = re.sub(r"\?=\s+=\?", "?==?", raw)
    try:
        chunks = email.header.decode_header(raw)
    except (ValueError, email.errors.HeaderParseError, AssertionError):  # binascii.Error is a ValueError
        return raw.strip()
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        else:
            parts.append(decode_bytes(chunk, charset))
    # decode_header drops the space between an encoded word and plain text.
    text = ""
    for index, part in enumerate(parts):
        if index and chunks[index - 1][1] != chunks[index][1] and not text.endswith(" ") and not part.startswith(" "):
            text += " "
        text += part
    return text.strip()


class _Mailbox(NamedTuple):
    display: str
    address: str  # as written
    normalised: str | None  # computed once: email_validator is the dear part of reading a header


def _first_address(msg: Message, name: str, defects: list[str]) -> tuple[str, str | None]:
    mailboxes = _mailboxes(msg, name, defects)
    for mailbox in mailboxes:
        if mailbox.normalised:
            return mailbox.display, mailbox.normalised
    for mailbox in mailboxes:
        # `user@localhost`, `redacted@redacted`: not deliverable, still who wrote.
        if LOCAL_ADDRESS.fullmatch(mailbox.address):
            return mailbox.display, mailbox.address.lower()
    return (mailboxes[0].display if mailboxes else ""), None


def _addresses(msg: Message, name: str, defects: list[str]) -> list[str]:
    found = []
    for mailbox in _mailboxes(msg, name, defects):
        if mailbox.normalised and mailbox.normalised not in found:
            found.append(mailbox.normalised)
    return found


def _mailboxes(msg: Message, name: str, defects: list[str]) -> list[_Mailbox]:
    # Spam and broken gateways repeat headers; every copy may hold the address.
    result: list[_Mailbox] = []
    for raw in _raw_headers(msg, name):
        result += _mailboxes_in(decode_header_value(raw), name, defects)
    return result


def _mailboxes_in(text: str, name: str, defects: list[str]) -> list[_Mailbox]:
    if not text:
        return []
    try:
        pairs = email.utils.getaddresses([text])
    except Exception:  # noqa: BLE001 - a broken header must not lose the message
        defects.append(f"unreadable {name} header")
        pairs = []
    result = [_mailbox(display, address) for display, address in pairs if address]
    if not any(mailbox.normalised for mailbox in result):
        # `"a@b"@example.com>`, `Test test@example.com`: take what looks like an address.
        result += [_mailbox("", address) for address in LOOSE_ADDRESS.findall(text)]
    return result


def _mailbox(display: str, address: str) -> _Mailbox:
    address = address.strip()
    return _Mailbox(display.strip(), address, normalised_address(address))


def _date(msg: Message) -> datetime | None:
    value = header_text(msg, "date")
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- Body parts --------------------------------------------------------------


class _Body:
    """Walks the MIME tree once: picks the body, collects attachments."""

    def __init__(self, limits: AttachmentLimits, msg: Message):
        self.limits = limits
        self.msg = msg
        self.plain: list[str] = []
        self.html = ""
        self.html_text = ""
        self.attachments: list[Attachment] = []
        self.dropped: list[dict[str, object]] = []
        self.defects: list[str] = []
        self.reports: list[Message] = []  # message/delivery-status parts
        self.returned: list[Message] = []  # the message a bounce returns
        self.body_type = "text/plain"

    @functools.cached_property
    def hint(self) -> str:
        """Only for parts that declare no charset: most do, and it reads every part."""
        return charset_hint(self.msg)

    def text(self) -> str:
        plain = "\n\n".join(p for p in self.plain if p.strip()).strip()
        # Where both exist the HTML is what the sender saw and wrote; the plain
        # alternative is often a stub ("view this mail in a browser") or stale.
        if plain and not self.html_text.strip():
            self.body_type = "text/plain"
            return plain
        if self.html_text:
            self.body_type = "text/html"
        return self.html_text

    def walk(self, part: Message) -> None:
        content_type = _content_type(part)
        if content_type == "message/delivery-status":
            self.reports.append(part)
            self._attach(part, "delivery-status.txt")
            return
        if content_type in ("message/rfc822", "message/global", "text/rfc822-headers"):
            self.returned.append(_inner_message(part))
            self._attach(part, "")
            return
        if part.is_multipart():
            children = part.get_payload()
            if not isinstance(children, list) or not children:
                self._broken_multipart(part)
                return
            if content_type == "multipart/alternative":
                self._alternative(children)
                return
            for child in children:
                self.walk(child)
            return
        if content_type.startswith("multipart/"):
            self._broken_multipart(part)
            return
        is_attachment = _is_attachment(part)
        if content_type == "text/plain" and not is_attachment:
            self._plain(part)
        elif content_type == "text/html" and not is_attachment and not self.html:
            self.html = self._decoded(part)
            self.html_text = html_to_text(self.html)
        else:
            self._attach(part, "")

    def _alternative(self, children: list[Message]) -> None:
        # RFC 2046 §5.1.4: the last part is the richest; we want the plain one
        # for the text and the HTML one for the view, wherever they are.
        plain_before = len(self.plain)
        for child in children:
            child_type = _content_type(child)
            if child_type == "text/plain" and len(self.plain) > plain_before:
                continue
            if child_type == "text/html" and self.html:
                continue
            self.walk(child)

    def _plain(self, part: Message) -> None:
        text = self._decoded(part)
        if part.get_param("format", header="content-type") == "flowed":
            text = _unflow(text, str(part.get_param("delsp", "no", header="content-type")).lower() == "yes")
        text = self._uudecode(text)
        self.plain.append(text)

    def _decoded(self, part: Message) -> str:
        payload = _payload_bytes(part, self.defects)
        return decode_bytes(payload, part.get_content_charset() or self.hint).replace("\r\n", "\n").replace("\r", "\n")

    def _uudecode(self, text: str) -> str:
        """Old mailers put attachments inline as uuencode blocks (`begin 644 name`)."""
        while match := UUENCODE_BEGIN.search(text):
            end = text.find("\nend", match.end())
            if end < 0:
                break
            lines = text[match.end() : end].strip("\n").split("\n")
            try:
                content = b"".join(_uudecode_line(line) for line in lines if line.strip())
            except ValueError:  # binascii.Error, or a non-ASCII character in the block
                self.defects.append("broken uuencode block")
                break
            name = match.group(1).strip()
            self._keep(Attachment(filename=name, content_type=_guess_type(name), content=content))
            text = text[: match.start()] + text[end + 4 :].lstrip("\n")
        return text

    def _broken_multipart(self, part: Message) -> None:
        """A multipart whose boundary never appears: read the body as text."""
        self.defects.append("multipart without its boundary")
        data = _payload_bytes(part, self.defects)
        self.plain.append(self._uudecode(decode_bytes(data, part.get_content_charset() or self.hint).replace("\r\n", "\n")))

    def _attach(self, part: Message, fallback_name: str) -> None:
        content_type = _content_type(part)
        if content_type.startswith("message/") or content_type == "text/rfc822-headers":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            content = inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else _payload_bytes(part, self.defects)
            subject = header_text(inner, "subject") if isinstance(inner, Message) else ""
            fallback_name = fallback_name or (f"{subject}.eml" if subject and content_type != "text/rfc822-headers" else "file")
        else:
            content = _payload_bytes(part, self.defects)
        content_id = _content_id(part)
        name = _filename(part) or _name_from_content_id(content_id) or fallback_name or _invented_name(content_type)
        disposition = (part.get_content_disposition() or "").lower()
        inline = bool(content_id) and disposition != "attachment"
        self._keep(Attachment(filename=name, content_type=content_type, content=content, content_id=content_id, inline=inline))

    def _keep(self, attachment: Attachment) -> None:
        size = len(attachment.content)
        taken = {a.filename for a in self.attachments}
        if attachment.filename in taken:
            stem, dot, ext = attachment.filename.rpartition(".")
            stem, ext = (stem, dot + ext) if dot else (attachment.filename, "")
            number = 1
            while f"{stem}{number}{ext}" in taken:
                number += 1
            attachment = dataclasses.replace(attachment, filename=f"{stem}{number}{ext}")
        if size > self.limits.max_bytes or len(self.attachments) >= self.limits.max_count:
            self.dropped.append(
                {
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": size,
                    "sha256": hashlib.sha256(attachment.content).hexdigest(),
                    "reason": "too large" if size > self.limits.max_bytes else "too many attachments",
                }
            )
            return
        self.attachments.append(attachment)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    """Declared an attachment, or named (a named inline part is an attachment shown inline)."""
    return (part.get_content_disposition() or "").lower() == "attachment" or bool(_filename(part))


def _content_id(part: Message) -> str:
    match = re.search(r"<?([^<>\s]+)>?", header_text(part, "content-id"))
    return match.group(1) if match else ""


def _name_from_content_id(content_id: str) -> str:
    """Outlook names inline images only in their Content-ID: `image001.jpg@01CDB132.D8A510F0`."""
    local = content_id.partition("@")[0]
    return local if re.fullmatch(r"[\w.-]+\.[A-Za-z0-9]{2,4}", local) else ""


def _filename(part: Message) -> str:
    raw_name = _raw_8bit_filename(part)
    if raw_name:
        return raw_name
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a broken RFC 2231 parameter
        name = None
    if name is None:
        raw = part.get_param("name", header="content-type")
        name = email.utils.collapse_rfc2231_value(raw) if raw else None
    if not name:
        return ""
    name = decode_header_value(str(name))
    return name.replace("/", "_").replace("\\", "_").strip()[:300]


def _raw_8bit_filename(part: Message) -> str:
    """A filename sent as raw 8-bit bytes in the header, in the part's or a guessed charset."""
    for header in ("content-disposition", "content-type"):
        raw = _raw_header(part, header) or ""
        if not RAW_8BIT.search(raw):
            continue
        match = re.search(r'(?:file)?name\s*=\s*"([^"]*)"|(?:file)?name\s*=\s*([^;\s]+)', raw, re.IGNORECASE)
        if match:
            data = (match.group(1) or match.group(2)).encode("ascii", "surrogateescape")
            return decode_bytes(data, part.get_content_charset() or "utf-8").replace("/", "_")[:300]
    return ""


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    if part.get("content-transfer-encoding", "").strip().lower() == "base64" and not part.is_multipart():
        return _base64_payload(part, defects)
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken quoted-printable or uuencode
        defects.append("undecodable transfer encoding")
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload(decode=False)
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _base64_payload(part: Message, defects: list[str]) -> bytes:
    """Base64 that may be cut short: stdlib `email` then hands back the encoded text.

    Decode what is whole: drop characters outside the alphabet and a last
    group too short to hold a byte, pad the rest.
    """
    raw = part.get_payload(decode=False)
    # bytes.translate: a regex substitution took longer than the decoding itself.
    text = raw.encode("ascii", "ignore").translate(None, NOT_BASE64) if isinstance(raw, str) else b""
    if len(text) % 4 == 1:
        defects.append("truncated base64")
        text = text[:-1]
    try:
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4))
    except binascii.Error:
        defects.append("undecodable base64")
        return b""


def _inner_message(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return email.message_from_bytes(_payload_bytes(part, []), policy=RAW_HEADERS)


def _uudecode_line(line: str) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders pad lines short; the length byte says how much is real.
        length = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
        return binascii.a2b_uu(line[:length])


def _invented_name(content_type: str) -> str:
    """A name for an unnamed part, with an extension so an agent's computer can open it."""
    if content_type == "text/html":
        return "document.html"
    maintype = content_type.partition("/")[0]
    stem = maintype if maintype in ("image", "video", "audio") else "file"
    return stem + (mimetypes.guess_extension(content_type) or "")


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _unflow(text: str, delsp: bool) -> str:
    """Join RFC 3676 format=flowed lines (a trailing space means "continued")."""
    out: list[str] = []
    buffer = ""
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":
            buffer += line[:-1] if delsp else line
        else:
            out.append(buffer + line)
            buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


# --- Bounces and auto-replies -------------------------------------------------


def find_bounce(msg: Message, parsed: ParsedEmail, body: _Body) -> Bounce | None:
    """A DSN (RFC 3464 multipart/report) or a non-standard bounce from a mailer daemon."""
    content_type = _content_type(msg)
    report_type = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    is_dsn = content_type == "multipart/report" and report_type in ("delivery-status", "")
    sender_local = (parsed.from_address or header_text(msg, "from")).partition("@")[0].strip("<> ").lower()
    from_daemon = sender_local in ("mailer-daemon", "postmaster") or "mailer-daemon" in header_text(msg, "from").lower()
    if not is_dsn and not (from_daemon and (body.returned or BOUNCE_SUBJECT.search(parsed.subject))):
        return None
    fields: dict[str, str] = {}
    for report in body.reports:
        fields.update(_report_fields(report))
    action = fields.get("action", "failed").lower()
    ids = [MESSAGE_ID.search(header_text(inner, "message-id")) for inner in body.returned]
    original = [m.group(0) for m in ids if m]
    for key in ("original-message-id", "x-original-message-id"):
        if key in fields:
            original += MESSAGE_ID.findall(fields[key])
    if not original:
        # Last resort: the body quotes the returned headers as text.
        original = re.findall(r"(?im)^\s*Message-ID:\s*(<[^<>\s]+>)", parsed.text)
    recipient = fields.get("final-recipient", fields.get("original-recipient", ""))
    return Bounce(
        original_message_ids=tuple(dict.fromkeys(original)),
        recipient=recipient.partition(";")[2].strip() or recipient.strip(),
        status=fields.get("status", ""),
        failed=action not in ("delayed", "delivered", "relayed", "expanded"),
        reason=fields.get("diagnostic-code", parsed.subject)[:500],
    )


def _report_fields(report: Message) -> dict[str, str]:
    payload = report.get_payload()
    texts: list[str] = []
    if isinstance(payload, list):
        for block in payload:
            texts.append("\n".join(f"{k}: {v}" for k, v in block.items()))
    else:
        texts.append(decode_bytes(_payload_bytes(report, []), "utf-8"))
    fields: dict[str, str] = {}
    for line in re.sub(r"\r?\n[ \t]+", " ", "\n".join(texts)).split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def automated_reason(msg: Message, parsed: ParsedEmail) -> str:
    """Why this mail must get no automatic answer (RFC 3834 §2, §3.1.7); "" when a person sent it."""
    auto_submitted = header_text(msg, "auto-submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header_text(msg, "precedence").strip().lower()
    if precedence in AUTOMATED_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if header_text(msg, name):
            return name
    if header_text(msg, "x-auto-response-suppress").lower() in ("all", "oof", "autoreply"):
        # Exchange sets this on its own automatic messages.
        if header_text(msg, "x-ms-exchange-generated-message-source") or AUTOREPLY_SUBJECT.search(parsed.subject):
            return "X-Auto-Response-Suppress"
    for name in LIST_HEADERS:
        if header_text(msg, name):
            return name
    if parsed.bounce is not None:
        return "delivery status notification"
    local = (parsed.from_address or "").partition("@")[0]
    if not parsed.from_address or AUTOMATED_SENDERS.match(local):
        return f"sender {local or 'missing'}"
    if AUTOREPLY_SUBJECT.search(parsed.subject):
        return "auto-reply subject"
    return ""
