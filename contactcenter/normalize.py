"""Normalising identifiers, so that one person's address matches however it is written.

Pure functions, no I/O: channels call them at the edge to build `Identity`
values, and the CRM import and API searches use the same rules.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalize_email(raw: str) -> str | None:
    """`Alice@Example.COM` -> `alice@example.com`; None when it is not an address.

    The local part is compared case-insensitively too: RFC 5321 lets a server
    treat it as case-sensitive, but no mail provider people use does, and
    treating `Alice@` and `alice@` as two customers is the worse mistake.
    """
    raw = raw.strip()
    if not raw or len(raw) > 320:
        return None
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def normalize_phone(raw: str, default_region: str) -> str | None:
    """Any written form of a number -> E.164 (`+14155550100`); None when invalid.

    Numbers written without a country code are read in `default_region`.
    Extensions are dropped here: they reach a desk, not a person's phone.
    """
    raw = raw.strip()
    if not raw or len(raw) > 64:
        return None
    try:
        number = phonenumbers.parse(raw, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_name(raw: str) -> str:
    """Trim, fold whitespace and apply Unicode NFKC (full-width letters, ligatures)."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


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
