"""Step: give a new ticket its queue and priority.

The queue comes from where the contact arrived: the mailbox address it was sent
to, else the channel's queue, else the default. Follow-ups keep the queue,
priority and assignee their ticket already has.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Queue
from contactcenter.pipeline.context import IngestContext
from contactcenter.settings import Settings

PRIORITY_NORMAL = 2
PRIORITY_HIGH = 3


async def route_ticket(ctx: IngestContext) -> None:
    assert ctx.ticket is not None
    if not ctx.ticket_created:
        return
    name = choose_queue_name(ctx.hub.settings, ctx.contact.channel, ctx.contact.source_address)
    ctx.queue = await get_or_create_queue(ctx.session, name)
    ctx.ticket.queue_id = ctx.queue.id
    # A complaint is not a question: it waits less.
    ctx.ticket.priority = PRIORITY_HIGH if ctx.ticket.type == "complaint" else PRIORITY_NORMAL


def choose_queue_name(settings: Settings, channel: str, source_address: str) -> str:
    if channel == "email" and source_address.lower() in _lower_keys(settings.email.addresses):
        return _lower_keys(settings.email.addresses)[source_address.lower()]
    return settings.routing.channel_queues.get(channel, settings.routing.default_queue)


async def get_or_create_queue(session: AsyncSession, name: str) -> Queue:
    queue = await session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        queue = Queue(name=name)
        session.add(queue)
        await session.flush()
    return queue


def _lower_keys(mapping: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in mapping.items()}
