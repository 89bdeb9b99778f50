"""Splitting a batch into rounds of contacts that cannot see each other.

The set-wise steps read for a whole round at once (every provider id, every
contact point) before any contact of the round writes. That gives the same
answer as one contact at a time only when no contact of the round would have
seen what an earlier one wrote. So a contact starts a new round when it
shares a key with one already in the current round:

- its (channel, provider id): a provider's retry inside one batch;
- any of its identifiers, as matched or as written (the reply address the
  acknowledgement limits and the opt-out count on): the same new sender
  twice, a STOP followed by a message;
- the customer any of its known identifiers belongs to, or that customer's
  survivor: two numbers of one customer, a window ticket they share;
- a Message-ID it carries or answers, and a ticket reference it quotes: a
  reply to a mail of the same batch, two replies on one ticket.

A ticket reference beyond the last ticket at the start of the batch may name a
ticket an earlier contact of this batch opens: such a contact starts a new
round, so all before it are written first.

Rounds are consecutive runs of the batch, so the rounds in order are the
contacts in order; each round sees what the earlier ones wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import ContactPoint, Customer, Ticket, parse_reference
from contactcenter.identity.decisions import canonical_identities
from contactcenter.pipeline.context import IngestContext

# Built once: building a select costs more than running it.
HOLDERS = (
    select(ContactPoint.kind, ContactPoint.value, ContactPoint.customer_id, Customer.merged_into_id)
    .join(Customer, Customer.id == ContactPoint.customer_id)
    .where(
        ContactPoint.kind.in_(bindparam("kinds", expanding=True)),
        ContactPoint.value.in_(bindparam("values", expanding=True)),
    )
)
LAST_TICKET = select(func.max(Ticket.id))


def contact_keys(ctx: IngestContext) -> tuple[set[tuple], tuple[tuple[str, str], ...], tuple[int, ...]]:
    """(keys known without the database, identifiers as matched, ticket references)."""
    contact = ctx.contact
    identities = canonical_identities(contact.identities, ctx.hub.settings.identity.plus_tag_domains)
    keys: set[tuple] = set()
    if contact.provider_id:
        keys.add(("id", contact.channel, contact.provider_id))
        if contact.provider_id.startswith("<"):
            keys.add(("hint", contact.provider_id))
    matched = tuple((i.kind, i.value) for i in identities)
    keys.update(("point", kind, value) for kind, value in matched)
    keys.update(("point", i.kind, i.value) for i in contact.identities)
    references = []
    for hint in contact.thread_hints:
        keys.add(("hint", hint))
        if (reference := parse_reference(hint)) is not None:
            keys.add(("ticket", reference))
            references.append(reference)
    return keys, matched, tuple(references)


async def split_rounds(session: AsyncSession, contexts: Sequence[IngestContext]) -> list[list[IngestContext]]:
    """The batch as consecutive rounds in which no two contacts share a key."""
    if len(contexts) < 2:
        return [list(contexts)] if contexts else []
    found = [contact_keys(ctx) for ctx in contexts]
    wanted = {point for _, matched, _ in found for point in matched}
    holders: dict[tuple[str, str], tuple[int, ...]] = {}
    if wanted:
        params = {"kinds": sorted({k for k, _ in wanted}), "values": sorted({v for _, v in wanted})}
        for kind, value, customer_id, merged_into_id in await session.execute(HOLDERS, params):
            holders[(kind, value)] = (customer_id,) if merged_into_id is None else (customer_id, merged_into_id)
    last_ticket = None
    if any(references for _, _, references in found):
        last_ticket = await session.scalar(LAST_TICKET) or 0

    rounds: list[list[IngestContext]] = []
    taken: set[tuple] = set()
    for ctx, (keys, matched, references) in zip(contexts, found):
        for point in matched:
            keys.update(("customer", customer_id) for customer_id in holders.get(point, ()))
        # A ticket this batch may have opened: everything before it is written first.
        barrier = last_ticket is not None and any(reference > last_ticket for reference in references)
        if not rounds or barrier or not taken.isdisjoint(keys):
            rounds.append([])
            taken = set()
        rounds[-1].append(ctx)
        taken |= keys
    return rounds
