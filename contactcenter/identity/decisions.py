"""Pure decisions about who a contact is: no I/O, easy to test.

The identify step (`pipeline/identify.py`), the CRM import and merges read the
database and then ask these functions what to do. The rules:

- Only exact, normalised identifiers link a contact to a customer; a name,
  however alike, never does (it only opens a merge suggestion).
- An identifier known to one customer links the contact to that customer.
- A contact whose identifiers belong to two customers goes to the customer of
  its reply address (where our answer will go), and a suggestion is opened
  to merge the two; nothing is merged without a person deciding.
- Numbers that are not valid E.164 are never used for matching.
- A contact tied to its customer only by an identifier somebody typed (web
  form, JSON intake) never joins one of that customer's tickets: it opens its
  own, shown as an unverified match (`may_join_ticket`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from contactcenter.contact import ChannelKind, Evidence, Identity, InboundContact
from contactcenter.identity.normalize import fold_plus_tag, is_e164

# How sure we are that an identifier belongs to its customer, weakest first.
EVIDENCE_RANK: dict[str, int] = {"claimed": 0, "imported": 1, "verified": 2}

# Numbers that differ only in their last digits are one company's lines (or
# one household's): a shared block is a hint, never a link.
PHONE_PREFIX_DROP = 2
# Lowest rapidfuzz token-sort ratio (0-100) for two names to count as alike.
NAME_SIMILARITY_MIN = 88.0
# Names shorter than this (after name_key) say too little to suggest anything.
NAME_KEY_MIN_CHARS = 4
# A suggestion because one contact carried both customers' identifiers is as
# strong as a suggestion gets; likeness scores stay below it.
CONFLICT_SCORE = 1.0
LIKENESS_MAX_SCORE = 0.95


def canonical_identities(identities: Iterable[Identity], plus_tag_domains: Collection[str]) -> tuple[Identity, ...]:
    """The contact's identifiers as they are matched: tags folded, invalid numbers left out.

    Channels normalise what they receive; this applies the rules that depend
    on configuration (sub-address folding), so every channel gets them
    whether or not it knows about them. Order is kept; repeats are dropped.
    """
    seen: set[tuple[str, str]] = set()
    result = []
    for identity in identities:
        if identity.kind == "email":
            value = fold_plus_tag(identity.value.lower(), plus_tag_domains)
        elif identity.kind == "phone" and is_e164(identity.value):
            value = identity.value
        else:
            continue
        if (identity.kind, value) in seen:
            continue
        seen.add((identity.kind, value))
        result.append(dataclasses.replace(identity, value=value) if value != identity.value else identity)
    return tuple(result)


def reply_of(identities: tuple[Identity, ...]) -> Identity | None:
    """The identifier answers go to (see InboundContact.reply_identity)."""
    return next((i for i in identities if i.is_reply_address), identities[0] if identities else None)


@dataclass(frozen=True, slots=True)
class Decision:
    """Which known customer a contact belongs to, and why."""

    customer_id: int | None  # None: nobody we know; create a customer
    matched: Identity | None  # the contact's identifier that made the link
    others: tuple[int, ...] = ()  # other customers whose identifiers it carried


def choose_customer(identities: tuple[Identity, ...], owners: Mapping[tuple[str, str], int]) -> Decision:
    """Apply the matching rules to a contact's identifiers and who holds them.

    `owners` maps (kind, value) to the customer holding it. The reply
    address's customer wins; when the reply address is new, the customer
    linked by the contact's strongest identifier does (lowest id on a tie).
    """
    held = [i for i in identities if (i.kind, i.value) in owners]
    if not held:
        return Decision(customer_id=None, matched=reply_of(identities))
    reply = reply_of(identities)
    if reply is not None and (reply.kind, reply.value) in owners:
        matched = reply
    else:
        matched = min(held, key=lambda i: (-EVIDENCE_RANK[i.evidence], owners[(i.kind, i.value)]))
    chosen = owners[(matched.kind, matched.value)]
    others = sorted({owners[(i.kind, i.value)] for i in held} - {chosen})
    return Decision(customer_id=chosen, matched=matched, others=tuple(others))


def stronger(a: str, b: str) -> Evidence:
    return a if EVIDENCE_RANK[a] >= EVIDENCE_RANK[b] else b  # type: ignore[return-value]


def group_key(kind: str, value: str) -> str:
    """What look-alike customers may share: an email domain, or a block of numbers."""
    if kind == "email":
        return "d:" + value.rpartition("@")[2]
    if kind == "phone" and is_e164(value):
        return "p:" + value[:-PHONE_PREFIX_DROP]
    return ""


def is_shared_evidence(key: str, free_mail_domains: Collection[str]) -> bool:
    """Free-mail domains are shared by millions: they say nothing about two people."""
    return bool(key) and not (key.startswith("d:") and key[2:] in free_mail_domains)


@dataclass(frozen=True, slots=True)
class Likeness:
    score: float
    reasons: tuple[str, ...]


def score_likeness(name_key_a: str, name_key_b: str, shared_keys: Collection[str]) -> Likeness | None:
    """Two customers look like one person: alike names and something shared.

    A name alone is never enough (there are many John Smiths), nor is a
    company domain or a number block alone (colleagues share those).
    """
    if len(name_key_a) < NAME_KEY_MIN_CHARS or len(name_key_b) < NAME_KEY_MIN_CHARS or not shared_keys:
        return None
    similarity = 100.0 if name_key_a == name_key_b else fuzz.ratio(name_key_a, name_key_b)
    if similarity < NAME_SIMILARITY_MIN:
        return None
    reasons = ["same name" if similarity == 100.0 else f"similar names ({similarity:.0f}% alike)"]
    for key in sorted(shared_keys):
        if key.startswith("d:"):
            reasons.append(f"both use the email domain {key[2:]}")
        else:
            reasons.append(f"phone numbers in the same block {key[2:]}" + "X" * PHONE_PREFIX_DROP)
    score = min(LIKENESS_MAX_SCORE, 0.5 * similarity / 100.0 + 0.25 * len(shared_keys))
    return Likeness(score=round(score, 3), reasons=tuple(reasons))


# Channels where the sender types its identifiers: nobody vouches for them.
TYPED_CHANNELS = (ChannelKind.WEB, ChannelKind.API)


def may_join_ticket(contact: InboundContact, matched: Identity | None) -> bool:
    """Whether the contact may be threaded into an existing ticket of its customer.

    Not when the only tie is a typed identifier: anyone can type a customer's
    address into the form, and must neither write into that customer's ticket
    nor be shown its reference. A reference or Message-ID typed with it proves
    nothing either.
    """
    if contact.channel in TYPED_CHANNELS:
        return matched is not None and matched.evidence == "verified"
    return True
