"""Changing a customer record by hand or by import: value fields and contact points.

Tier and segments are what routing reads to treat customers differently, so
they are checked the same way whoever sets them (API, agent, CRM import).
Each `do_*` writes its audit event in the caller's transaction.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db.models import ContactPoint, Customer
from contactcenter.errors import ConflictError, InputError
from contactcenter.identity.decisions import group_key
from contactcenter.identity.normalize import is_text, name_key, normalize_email, normalize_name, parse_phone
from contactcenter.settings import IdentitySettings

MAX_TIER_CHARS = 20
MAX_SEGMENT_CHARS = 50
MAX_SEGMENTS = 50
MAX_TEXT_CHARS = 200
MAX_NOTES_CHARS = 10_000
EDITABLE = ("name", "company", "tier", "segments", "lifetime_value", "notes")


def clean_tier(value: Any) -> str:
    """`vip ` -> `VIP`: tiers are short labels (VIP, A, B, C), compared in upper case."""
    if not isinstance(value, str) or len(value.strip()) > MAX_TIER_CHARS:
        raise ValueError(f"a tier is text of at most {MAX_TIER_CHARS} characters")
    return value.strip().upper()


def clean_segments(value: Any) -> list[str]:
    """Segment tags: trimmed, without repeats, sorted (so re-imports compare equal)."""
    if isinstance(value, str):
        value = [part for part in value.replace(",", ";").split(";")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("segments are a list of text tags")
    tags = sorted({" ".join(v.split()) for v in value if v.strip()})
    if len(tags) > MAX_SEGMENTS or any(len(t) > MAX_SEGMENT_CHARS for t in tags):
        raise ValueError(f"at most {MAX_SEGMENTS} segments of at most {MAX_SEGMENT_CHARS} characters")
    return tags


def clean_lifetime_value(value: Any) -> float:
    if isinstance(value, str):
        value = value.strip().replace(",", "") or "0"
        try:
            value = float(value)
        except ValueError:
            raise ValueError("lifetime value must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError("lifetime value must be a number of at least 0")
    return float(value)


def clean_text(value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"must be text of at most {limit} characters")
    return normalize_name(value)


def clean_notes(value: Any) -> str:
    """Free text for agents: line breaks kept, only the ends trimmed."""
    if not isinstance(value, str) or len(value) > MAX_NOTES_CHARS:
        raise ValueError(f"must be text of at most {MAX_NOTES_CHARS} characters")
    return unicodedata.normalize("NFC", value).strip()


CLEANERS = {
    "name": clean_text,
    "company": clean_text,
    "tier": clean_tier,
    "segments": clean_segments,
    "lifetime_value": clean_lifetime_value,
    "notes": clean_notes,
}


def clean_changes(body: dict[str, Any]) -> dict[str, Any]:
    """Check an edit; InputError names every field that is wrong."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key not in EDITABLE:
            errors[key] = f"not editable; editable fields: {', '.join(EDITABLE)}"
            continue
        if not _is_storable(value):
            errors[key] = "contains characters that are not allowed (control characters or lone surrogates)"
            continue
        try:
            changes[key] = CLEANERS[key](value)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise InputError("some fields need attention", fields=errors)
    if not changes:
        raise InputError(f"nothing to change; editable fields: {', '.join(EDITABLE)}")
    return changes


def _is_storable(value: Any) -> bool:
    """No NUL, control characters or lone surrogates: what neither database (nor a page) can hold."""
    if isinstance(value, str):
        return is_text(value)
    if isinstance(value, list):
        return all(_is_storable(v) for v in value)
    return True


def apply_changes(customer: Customer, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Set what differs; returns {field: [before, after]} of what changed."""
    changed: dict[str, list[Any]] = {}
    for key, value in changes.items():
        before = getattr(customer, key)
        if before != value:
            setattr(customer, key, value)
            changed[key] = [before, value]
    if "name" in changed:
        customer.name_key = name_key(customer.name)
    return changed


async def do_update_customer(session: AsyncSession, customer: Customer, changes: dict[str, Any], actor: str) -> dict[str, list[Any]]:
    if customer.merged_into_id is not None:
        raise ConflictError(
            f"customer {customer.id} was merged into {customer.merged_into_id}; edit that record", code="merged"
        )
    changed = apply_changes(customer, changes)
    if changed:
        audit(session, actor, "customer.updated", customer, changes=changed)
    return changed


async def do_add_contact_point(
    session: AsyncSession, customer: Customer, kind: str, raw: str, settings: IdentitySettings, actor: str
) -> ContactPoint:
    """An agent adds an address or number they were told: it counts as claimed."""
    if customer.merged_into_id is not None:
        raise ConflictError(f"customer {customer.id} was merged into {customer.merged_into_id}", code="merged")
    extension = ""
    if kind == "email":
        value = normalize_email(raw, plus_tag_domains=settings.plus_tag_domains)
    elif kind == "phone":
        phone = parse_phone(raw, settings.default_region)
        value, extension = phone.e164, phone.extension
    else:
        raise InputError("kind must be 'email' or 'phone'", fields={"kind": "must be 'email' or 'phone'"})
    if value is None:
        raise InputError(f"this is not a valid {kind}", fields={"value": f"not a valid {kind}"})
    holder = await session.scalar(select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value))
    if holder is not None:
        where = "this customer" if holder.customer_id == customer.id else f"customer {holder.customer_id}"
        raise ConflictError(f"{kind} {value} belongs to {where} already", code="contact_point_taken")
    point = ContactPoint(
        customer_id=customer.id,
        kind=kind,
        value=value,
        raw_value=raw.strip()[:320],
        extension=extension[:20],
        evidence="claimed",
        group_key=group_key(kind, value),
    )
    session.add(point)
    await session.flush()
    audit(session, actor, "customer.contact_point_added", customer, kind=kind, value=value, evidence="claimed")
    return point
