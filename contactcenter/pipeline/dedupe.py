"""Step: stop here when this (channel, provider id) was ingested before.

Providers retry (Twilio on timeouts, mail servers on 4xx), and customers press
submit twice. The unique constraint on interactions is the real guard against
two concurrent deliveries; this lookup makes the common repeat cheap.
"""

from sqlalchemy import bindparam, select

from contactcenter.db.models import Interaction
from contactcenter.pipeline.context import IngestContext

# Built once: building a select costs more than running it.
FIND_INGESTED = select(Interaction).where(
    Interaction.channel == bindparam("channel"), Interaction.provider_id == bindparam("provider_id")
)


async def dedupe(ctx: IngestContext) -> None:
    ctx.duplicate_of = await find_ingested(ctx.session, ctx.contact.channel, ctx.contact.provider_id)


async def find_ingested(session, channel: str, provider_id: str) -> Interaction | None:
    if not provider_id:
        return None
    return await session.scalar(FIND_INGESTED, {"channel": channel, "provider_id": provider_id})
