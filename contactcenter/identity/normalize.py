"""Normalising identifiers, so that one person's address matches however it is written.

Pure functions, no I/O: channels call them at the edge to build `Identity`
values, and the identify step, the CRM import and API searches use the same
rules. Being pure, the two costly ones (email_validator's IDNA checks and
libphonenumber's parse, a few hundred microseconds each) remember recent
answers: the same senders write again and again. None of them raises on any input: what cannot be read becomes `None`
(or, for phones, a `PhoneNumber` without an E.164 value) so that one bad field
never loses the rest of a contact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Longer input is not an address or a number, whatever it contains; refusing
# it early keeps the parsers' work bounded.
MAX_EMAIL_CHARS = 320
MAX_PHONE_CHARS = 64
# ITU-T E.164: a country code and national number of 15 digits at most.
E164_MAX_DIGITS = 15
# Recent distinct addresses and numbers remembered (under 10 MB in all).
CACHED_IDENTIFIERS = 16384


def normalize_email(raw: str, *, plus_tag_domains: Collection[str] = ()) -> str | None:
    """`Alice@Example.COM` -> `alice@example.com`; None when it is not an address.

    The local part is compared case-insensitively too: RFC 5321 lets a server
    treat it as case-sensitive, but no mail provider people use does, and
    treating `Alice@` and `alice@` as two customers is the worse mistake.
    Sub-addresses (`alice+shop@gmail.com`) fold to the plain address only for
    the domains listed, because only there do we know `+` means a tag
    (`[identity] plus_tag_domains`).
    """
    raw = raw.strip()
    if not raw or len(raw) > MAX_EMAIL_CHARS:
        return None
    address = _valid_address(raw)
    if address is None or not plus_tag_domains:
        return address
    return fold_plus_tag(address, plus_tag_domains)


@lru_cache(maxsize=CACHED_IDENTIFIERS)  # keys are at most MAX_EMAIL_CHARS long
def _valid_address(raw: str) -> str | None:
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except (EmailNotValidError, ValueError, UnicodeError):
        return None
    return result.normalized.lower()


def fold_plus_tag(address: str, domains: Collection[str]) -> str:
    """`alice+shop@gmail.com` -> `alice@gmail.com` when gmail.com is in `domains`."""
    local, _, domain = address.rpartition("@")
    if domain in domains and "+" in local:
        tagless = local.split("+", 1)[0]
        if tagless:  # `+tag@gmail.com` alone is not a sub-address of anything
            return f"{tagless}@{domain}"
    return address


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number as written, and what we could make of it.

    `e164` is None for numbers that are not valid (short codes, typos,
    alphanumeric senders): those are kept raw for people to read but never
    used to match a customer. The extension reaches a desk, not a person's
    phone, so it is kept apart and never part of the matching value.
    """

    raw: str
    e164: str | None
    extension: str = ""


def parse_phone(raw: str, default_region: str) -> PhoneNumber:
    """Any written form of a number; national forms are read in `default_region`."""
    text = raw.strip()
    if not text or len(text) > MAX_PHONE_CHARS:
        return PhoneNumber(raw=text[:MAX_PHONE_CHARS], e164=None)
    return _parse_phone(text, default_region)


@lru_cache(maxsize=CACHED_IDENTIFIERS)  # keys are at most MAX_PHONE_CHARS long
def _parse_phone(text: str, default_region: str) -> PhoneNumber:
    try:
        number = phonenumbers.parse(text, default_region.upper() or None)
    except (phonenumbers.NumberParseException, ValueError, IndexError):
        return PhoneNumber(raw=text, e164=None)
    extension = number.extension or ""
    if not phonenumbers.is_valid_number(number):
        return PhoneNumber(raw=text, e164=None, extension=extension)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > E164_MAX_DIGITS + 1:
        # libphonenumber's patterns admit a few longer German numbers; no
        # network routes them, and E.164 allows 15 digits.
        return PhoneNumber(raw=text, e164=None, extension=extension)
    return PhoneNumber(raw=text, e164=e164, extension=extension)


def normalize_phone(raw: str, default_region: str) -> str | None:
    """Any written form of a number -> E.164 (`+14155550100`); None when invalid."""
    return parse_phone(raw, default_region).e164


def is_e164(value: str) -> bool:
    """True for a value that `normalize_phone` could have produced."""
    return value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= E164_MAX_DIGITS + 1


def normalize_name(raw: str) -> str:
    """Trim, fold whitespace, drop invisible format characters, apply Unicode NFKC.

    NFKC turns full-width letters (common in names typed on Chinese and
    Japanese keyboards, `Ｗａｎｇ`) and ligatures into their plain forms and
    composes accents, so `Chloé` typed either way is one string. Format
    characters (zero-width spaces and joiners, bidi marks) are invisible and
    only make equal-looking names differ.
    """
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch.isspace())
    return " ".join(text.split())


def name_key(name: str) -> str:
    """What two spellings of one name have in common, for finding look-alikes.

    Case, accents, punctuation and word order are dropped (`Doe, John` and
    `john doe` give one key). Names written in Chinese, Japanese or Korean
    characters keep their order and lose their spaces: `王 小明` is `王小明`,
    and family-name-first is how those names are written anyway.
    """
    text = normalize_name(name).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    words = text.split()
    if any(_is_cjk(ch) for word in words for ch in word):
        return unicodedata.normalize("NFC", "".join(words))
    return unicodedata.normalize("NFC", " ".join(sorted(words)))


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x20000 <= code <= 0x2FA1F  # extensions B-F, compatibility supplement
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


# Control characters no person types (tab, newline and carriage return aside)
# and lone UTF-16 surrogates (JSON can carry them, UTF-8 cannot): PostgreSQL
# refuses NUL in text, and neither database can store a surrogate.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def is_text(value: str) -> bool:
    """Whether `value` is text a person could have typed and we can store."""
    return _NOT_TEXT.search(value) is None


def mask(value: str) -> str:
    """What logs show of an address or number: enough to tell two apart, no more."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{value[:3]}***{value[-2:]}" if len(value) > 6 else "***"


def phone_region(e164: str) -> str:
    """The ISO 3166 region of an E.164 number (`+4420…` -> `GB`); "" when it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""
