"""Step: find the customer this contact comes from, or create one.

Matching is exact on normalised identifiers. When a contact carries
identifiers of two different customers it goes to the customer of its reply
address and a merge suggestion is opened; records are never merged silently.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import Identity
from contactcenter.db.models import ContactPoint, Customer, MergeSuggestion
from contactcenter.normalize import normalize_name
from contactcenter.pipeline.context import IngestContext

# Stronger evidence replaces weaker on a known contact point, never the reverse.
EVIDENCE_RANK = {"claimed": 0, "imported": 1, "verified": 2}


async def identify_customer(ctx: IngestContext) -> None:
    contact = ctx.contact
    known = await find_contact_points(ctx.session, contact.identities)
    owners = {point.customer_id for point in known.values()}
    reply = contact.reply_identity()

    if not owners:
        customer = Customer(name=normalize_name(contact.display_name))
        ctx.session.add(customer)
        await ctx.session.flush()
        ctx.matched = reply
    else:
        chosen = _owner_of(reply, known) if reply else None
        if chosen is None:
            chosen = min(owners)
        customer = await ctx.session.get_one(Customer, chosen)
        ctx.matched = next(
            (i for i in _reply_first(contact.identities, reply) if (i.kind, i.value) in known and known[(i.kind, i.value)].customer_id == chosen),
            None,
        )
        for other in sorted(owners - {chosen}):
            await suggest_merge(ctx.session, chosen, other, [f"one contact carried identifiers of both customers ({contact.channel})"])
        if not customer.name and contact.display_name:
            customer.name = normalize_name(contact.display_name)

    for identity in contact.identities:
        point = known.get((identity.kind, identity.value))
        if point is None:
            ctx.session.add(
                ContactPoint(customer_id=customer.id, kind=identity.kind, value=identity.value, evidence=identity.evidence)
            )
        elif point.customer_id == customer.id and EVIDENCE_RANK[identity.evidence] > EVIDENCE_RANK[point.evidence]:
            point.evidence = identity.evidence
    ctx.customer = customer


async def find_contact_points(session: AsyncSession, identities: tuple[Identity, ...]) -> dict[tuple[str, str], ContactPoint]:
    if not identities:
        return {}
    wanted = {(i.kind, i.value) for i in identities}
    rows = await session.scalars(
        select(ContactPoint).where(ContactPoint.value.in_([value for _, value in wanted]))
    )
    return {(p.kind, p.value): p for p in rows if (p.kind, p.value) in wanted}


async def suggest_merge(session: AsyncSession, a: int, b: int, reasons: list[str], score: float = 1.0) -> MergeSuggestion:
    """Open (or strengthen) the suggestion that customers `a` and `b` are one person."""
    low, high = sorted((a, b))
    suggestion = await session.scalar(
        select(MergeSuggestion).where(MergeSuggestion.customer_a_id == low, MergeSuggestion.customer_b_id == high)
    )
    if suggestion is None:
        suggestion = MergeSuggestion(customer_a_id=low, customer_b_id=high, score=score, reasons=list(reasons))
        session.add(suggestion)
    elif suggestion.status == "open":
        suggestion.reasons = sorted(set(suggestion.reasons) | set(reasons))
        suggestion.score = max(suggestion.score, score)
    return suggestion


def _owner_of(identity: Identity, known: dict[tuple[str, str], ContactPoint]) -> int | None:
    point = known.get((identity.kind, identity.value))
    return point.customer_id if point else None


def _reply_first(identities: tuple[Identity, ...], reply: Identity | None) -> list[Identity]:
    return sorted(identities, key=lambda i: i != reply)
