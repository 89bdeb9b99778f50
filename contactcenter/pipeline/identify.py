"""Step: find the customer this contact comes from, or create one.

The rules are in `contactcenter/identity/decisions.py`; this step reads what it needs
with indexed lookups (identifiers by their unique key, look-alikes by name key
and group key, each bounded) and writes the outcome: the customer, the
identifiers it learned with their evidence, and merge suggestions. Records are
never merged here, and a merged record never receives a contact.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import Identity
from contactcenter.db.models import ContactPoint, Customer, MergeSuggestion
from contactcenter.identity.decisions import (
    CONFLICT_SCORE,
    canonical_identities,
    choose_customer,
    group_key,
    is_shared_evidence,
    score_likeness,
    stronger,
)
from contactcenter.identity.normalize import name_key, normalize_name
from contactcenter.i18n import choose_customer_language
from contactcenter.pipeline.context import IngestContext
from contactcenter.settings import IdentitySettings

# A merge suggestion to open or strengthen: (customer, other customer, reasons, score).
Suggested = tuple[int, int, list[str], float]
# Look-alike candidates read per contact, at most: bounds the step's cost when
# thousands of customers share a company domain.
LIKENESS_CANDIDATES = 50
# A merged record points at its survivor; chains longer than this are a bug.
MAX_MERGE_HOPS = 10


async def identify_customer(batch: list[IngestContext]) -> None:
    """The round's customers: one read of every identifier in it, one flush of what is new.

    The contacts of a round share no identifier and no customer
    (pipeline/rounds.py), so each decides as if it came alone; merge and
    look-alike suggestions then follow in contact order, each seeing the
    customers the contacts before it made.
    """
    session = batch[0].session
    settings = batch[0].hub.settings.identity
    identities_of = [canonical_identities(ctx.contact.identities, settings.plus_tag_domains) for ctx in batch]
    known, holders = await find_contact_points(session, tuple(i for identities in identities_of for i in identities))
    added_of: list[list[ContactPoint]] = []
    others_of: list[tuple[int, ...]] = []
    for ctx, identities in zip(batch, identities_of):
        mine = {(i.kind, i.value): known[(i.kind, i.value)] for i in identities if (i.kind, i.value) in known}
        decision = choose_customer(identities, {key: point.customer_id for key, point in mine.items()})
        display_name = normalize_name(ctx.contact.display_name)
        if decision.customer_id is None:
            customer = Customer(name=display_name, name_key=name_key(display_name))
            session.add(customer)
            created = True  # inserted with the round's other new customers in one flush below
        else:
            customer = holders[decision.customer_id]
            if customer.merged_into_id is not None:
                customer = await live_customer(session, customer.merged_into_id)
            created = False
            if not customer.name and display_name:
                customer.name, customer.name_key = display_name, name_key(display_name)
        others_of.append(tuple(decision.others))

        # How the contact showed the identifier that linked it (verified by the
        # provider, or typed): what the agent's "unverified match" warning reads.
        # How the record came to hold it is the contact point's own evidence.
        ctx.matched = decision.matched

        added = []
        for identity in identities:
            point = mine.get((identity.kind, identity.value))
            if point is None:
                point = ContactPoint(
                    kind=identity.kind,
                    value=identity.value,
                    evidence=identity.evidence,
                    group_key=group_key(identity.kind, identity.value),
                )
                if created:
                    point.customer = customer  # a new customer's collection needs no load
                else:
                    point.customer_id = customer.id
                session.add(point)
                added.append(point)
            elif point.customer_id == customer.id and stronger(point.evidence, identity.evidence) != point.evidence:
                point.evidence = identity.evidence
            ctx.contact_points[(identity.kind, identity.value)] = point
        added_of.append(added)
        language = choose_customer_language(customer.language, ctx.contact.language, chosen=ctx.contact.language_chosen)
        if language != customer.language:
            customer.language = language
        ctx.customer, ctx.customer_created = customer, created
    if any(ctx.customer_created for ctx in batch) or any(added_of):
        await session.flush()  # the next steps need the customers' ids: one INSERT per table for the round
    # Suggestions in contact order: a contact does not see customers the
    # contacts after it in the round made (one at a time, they did not exist yet).
    later_new = {ctx.customer.id for ctx in batch if ctx.customer_created}
    wanted: list[Suggested] = []
    for ctx, others, added in zip(batch, others_of, added_of):
        customer = ctx.customer
        later_new.discard(customer.id)
        reasons = [f"one {ctx.contact.channel} contact carried identifiers of both"]
        wanted += [(customer.id, other, reasons, CONFLICT_SCORE) for other in others]
        if added:
            wanted += await find_lookalikes(session, customer, [p.group_key for p in added], settings, exclude=later_new)
    await suggest_merges(session, wanted)


# Statements built once: building a select costs more than running it here.
FIND_POINTS = (
    select(ContactPoint, Customer)
    .join(Customer, Customer.id == ContactPoint.customer_id)
    .where(
        ContactPoint.kind.in_(bindparam("kinds", expanding=True)),
        ContactPoint.value.in_(bindparam("values", expanding=True)),
    )
    .order_by(Customer.id)  # locks taken in id order, as merges take them: no deadlock
    # FOR NO KEY UPDATE: it still keeps a merge (or another writer) off these
    # customers, but not a row that refers to one (a merge suggestion, a
    # ticket), which FOR UPDATE blocked: two writers suggesting merges of
    # each other's customers deadlocked (docs/benchmarks.md, 2026-12-04).
    .with_for_update(of=Customer, key_share=True)
    .execution_options(populate_existing=True)
)

LOCK_CUSTOMER = (
    select(Customer)
    .where(Customer.id == bindparam("customer_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def _lookalike_candidates() -> Any:
    base = (
        select(ContactPoint.customer_id, ContactPoint.group_key, Customer.name_key)
        .join(Customer, Customer.id == ContactPoint.customer_id)
        .where(
            ContactPoint.group_key.in_(bindparam("keys", expanding=True)),
            ContactPoint.customer_id != bindparam("customer_id"),
            Customer.merged_into_id.is_(None),
        )
        .limit(LIKENESS_CANDIDATES)
    )
    same_name = base.where(Customer.name_key == bindparam("name_key")).subquery()
    return union_all(select(same_name), select(base.subquery()))


LOOKALIKE_CANDIDATES = _lookalike_candidates()


async def find_contact_points(
    session: AsyncSession, identities: tuple[Identity, ...]
) -> tuple[dict[tuple[str, str], ContactPoint], dict[int, Customer]]:
    """The known contact points among `identities` and their customers, in one query.

    `kind IN (...) AND value IN (...)` rather than a row-value IN, because both
    SQLite and PostgreSQL turn it into probes of the unique index. The
    customers are locked until the transaction ends (FOR UPDATE on
    PostgreSQL; SQLite's writers take turns anyway): that is what keeps a
    concurrent merge from leaving this contact on the merged record.
    """
    if not identities:
        return {}, {}
    wanted = {(i.kind, i.value) for i in identities}
    rows = await session.execute(
        FIND_POINTS, {"kinds": sorted({k for k, _ in wanted}), "values": sorted({v for _, v in wanted})}
    )
    points, customers = {}, {}
    for point, customer in rows:
        if (point.kind, point.value) in wanted:
            points[(point.kind, point.value)] = point
            customers[customer.id] = customer
    return points, customers


async def live_customer(session: AsyncSession, customer_id: int) -> Customer:
    """The customer, or the record it was merged into; locked like find_contact_points does."""
    for _ in range(MAX_MERGE_HOPS):
        customer = await session.scalar(LOCK_CUSTOMER, {"customer_id": customer_id})
        assert customer is not None, f"contact point of missing customer {customer_id}"
        if customer.merged_into_id is None:
            return customer
        customer_id = customer.merged_into_id
    raise RuntimeError(f"customer {customer_id}: merge chain longer than {MAX_MERGE_HOPS}")


async def find_lookalikes(
    session: AsyncSession, customer: Customer, group_keys: list[str], settings: IdentitySettings,
    *, exclude: Collection[int] = (),
) -> list[Suggested]:
    """The suggestions to open for other customers with an alike name who share a domain or number block.

    One round trip of two bounded, indexed lookups among customers sharing a
    group key with the contact's new identifiers: those with the same name
    key (found however many share the key), and any (for near names).
    Customers in `exclude` are left out (made later in the same round).
    """
    keys = sorted({key for key in group_keys if is_shared_evidence(key, settings.free_mail_domains)})
    if not customer.name_key or not keys:
        return []
    shared: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    params = {"keys": keys, "customer_id": customer.id, "name_key": customer.name_key}
    for other_id, key, other_name in await session.execute(LOOKALIKE_CANDIDATES, params):
        if other_id in exclude:
            continue
        shared.setdefault(other_id, set()).add(key)
        names[other_id] = other_name
    found = []
    for other_id, other_keys in shared.items():
        likeness = score_likeness(customer.name_key, names[other_id], other_keys)
        if likeness is not None:
            found.append((customer.id, other_id, likeness.reasons, likeness.score))
    return found


FIND_SUGGESTIONS = select(MergeSuggestion).where(
    MergeSuggestion.customer_a_id.in_(bindparam("lows", expanding=True)),
    MergeSuggestion.customer_b_id.in_(bindparam("highs", expanding=True)),
)


async def suggest_merges(session: AsyncSession, wanted: list[Suggested]) -> None:
    """identity.merge.suggest_merge for each, in order, with one read of the pairs' suggestions."""
    pairs = {tuple(sorted((a, b))) for a, b, _, _ in wanted if a != b}
    if not pairs:
        return
    params = {"lows": sorted({low for low, _ in pairs}), "highs": sorted({high for _, high in pairs})}
    known = {(s.customer_a_id, s.customer_b_id): s for s in await session.scalars(FIND_SUGGESTIONS, params)}
    created: dict[tuple[int, int], MergeSuggestion] = {}
    for a, b, reasons, score in wanted:
        if a == b:
            continue
        low, high = sorted((a, b))
        suggestion = known.get((low, high))
        if suggestion is None:
            known[(low, high)] = created[(low, high)] = MergeSuggestion(customer_a_id=low, customer_b_id=high, score=score, reasons=list(reasons))
        elif suggestion.status == "open":
            merged_reasons = list(dict.fromkeys([*suggestion.reasons, *reasons]))
            if merged_reasons != suggestion.reasons or score > suggestion.score:
                suggestion.reasons = merged_reasons
                suggestion.score = max(suggestion.score, score)
    # Inserted in pair order, as every writer does: two transactions adding
    # overlapping pairs then wait for each other instead of deadlocking.
    session.add_all([created[pair] for pair in sorted(created)])
