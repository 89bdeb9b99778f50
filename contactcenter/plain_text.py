"""Text as every channel hands it to the core: storable, one meaning, and sized to its column.

Pure functions. `InboundContact` applies them to each of its fields when it is
built, so every channel (form, JSON, SMTP, IMAP, Twilio) and every replay gets
the same treatment once, at the edge:

- NUL and the other C0/C1 control characters no person types are removed
  (PostgreSQL refuses NUL in text and in JSONB; SQLite would keep it and a
  later step would trip on it); tab and newline stay in bodies.
- Lone UTF-16 surrogates (JSON and Python strings can carry them, UTF-8
  cannot) become U+FFFD, the replacement character, so a page that shows the
  value can always be encoded.
- One-line values (subjects, names, file names) lose every line break,
  including U+2028/U+2029 and NEL, so no header or log line can be split.
- Bidi controls are dropped from names and file names: `invoice‮fdp.exe`
  would otherwise show as `invoiceexe.pdf` (Unicode TR#36 §2.1.1).
- Lengths are cut to what the column holds, identically on SQLite (which does
  not check VARCHAR lengths) and PostgreSQL (which refuses the whole row):
  what was answered 2xx/250 is then always processed.

Encoded words (RFC 2047) are decoded by the mail parser for mail headers and
nowhere else: a form subject that reads `=?utf-8?b?...?=` is that text.
"""

from __future__ import annotations

import re
import unicodedata

# Column sizes (contactcenter/db/models.py) the contact's values go into.
SUBJECT_CHARS = 300  # Ticket.subject, Interaction.subject
NAME_CHARS = 200  # Customer.name
FILENAME_CHARS = 300  # Attachment.filename
CONTENT_TYPE_CHARS = 200  # Attachment.content_type
CONTENT_ID_CHARS = 300  # Attachment.content_id
PROVIDER_ID_CHARS = 500  # Interaction.provider_id, InboundRecord.provider_id
ADDRESS_CHARS = 320  # Ticket.source_address, ContactPoint.value
TIER_CHARS = 20  # Customer.tier
HINT_CHARS = 998  # a thread hint is a header value at most (RFC 5322 §2.1.1)

# C0 controls but tab, newline and carriage return; DEL; C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Everything str.splitlines() splits on, and tab: one-line values hold none.
_LINE_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
# Unicode bidi formatting characters (UAX #9 §2): embeddings, overrides, isolates, marks.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str, max_chars: int | None = None) -> str:
    """A body of text: CRLF as LF, no control characters or lone surrogates, at most `max_chars`."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    text = _SURROGATES.sub("\ufffd", text)
    return text if max_chars is None else text[:max_chars]


def clean_line(value: str, max_chars: int) -> str:
    """One line (a subject): line breaks become spaces, runs of spaces fold, at most `max_chars`."""
    text = _LINE_BREAKS.sub(" ", value)
    text = _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))
    return " ".join(text.split())[:max_chars].rstrip()  # a cut never leaves a space a second cleaning would drop


def clean_name(value: str, max_chars: int = NAME_CHARS) -> str:
    """A person's name: one line, no bidi controls, NFC so one name is one string."""
    return unicodedata.normalize("NFC", clean_line(_BIDI.sub("", value), max_chars))[:max_chars]


def clean_filename(value: str) -> str:
    """A file name to show and offer for download: one line, no bidi controls, no path."""
    name = clean_line(_BIDI.sub("", value), FILENAME_CHARS * 2).replace("/", "_").replace("\\", "_")
    name = name.strip(" .") or "file"
    if len(name) <= FILENAME_CHARS:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and len(extension) <= 10:  # keep the extension people and virus scanners read
        return stem[: FILENAME_CHARS - len(extension) - 1] + "." + extension
    return name[:FILENAME_CHARS]


def clean_json(value: object) -> object:
    """Strings inside JSON-like data (metadata) cleaned as text; PostgreSQL's JSONB refuses NUL."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def has_bidi_controls(value: str) -> bool:
    return _BIDI.search(value) is not None
