"""Step: stop here for contacts whose (channel, provider id) was ingested before.

Providers retry (Twilio on timeouts, mail servers on 4xx), and customers press
submit twice. The unique constraint on interactions is the real guard against
two concurrent deliveries; this lookup makes the common repeat cheap: one
indexed query for the whole round (two deliveries of one message within a
batch are in different rounds, pipeline/rounds.py).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from contactcenter.db.models import Interaction
from contactcenter.pipeline.context import IngestContext

# Built once: building a select costs more than running it. Both IN lists
# become probes of the (channel, provider_id) unique index.
FIND_INGESTED = select(Interaction).where(
    Interaction.channel.in_(bindparam("channels", expanding=True)),
    Interaction.provider_id.in_(bindparam("provider_ids", expanding=True)),
)


async def dedupe(batch: list[IngestContext]) -> None:
    wanted = {(ctx.contact.channel, ctx.contact.provider_id) for ctx in batch if ctx.contact.provider_id}
    if not wanted:
        return
    params = {"channels": sorted({c for c, _ in wanted}), "provider_ids": sorted({p for _, p in wanted})}
    found = {(i.channel, i.provider_id): i for i in await batch[0].session.scalars(FIND_INGESTED, params)}
    for ctx in batch:
        ctx.duplicate_of = found.get((ctx.contact.channel, ctx.contact.provider_id))
