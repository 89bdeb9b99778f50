"""What a waiting caller hears about their wait: their place in line and an estimate.

Each caller waits in a queue of their own at Twilio (voice/connect.py), so
Twilio's QueuePosition says nothing; the place in line is the hub's own order,
the one the assigner serves: higher priority first, then who called first,
among the callers of the same queue still waiting for an agent. The estimate is
the average wait of the queue's last answered calls (none before any history).
"""

from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import select

from contactcenter.contact import ChannelKind
from contactcenter.db.models import Interaction, Ticket, utcnow
from contactcenter.hub import Hub
from contactcenter.voice.connect import LEFT_QUEUE, LIVE_WINDOW

RECENT_ANSWERED = 20


@dataclass(frozen=True, slots=True)
class Standing:
    position: int  # 1: next
    estimate_seconds: int | None  # None: no history to estimate from


def is_in_line(facts: dict) -> bool:
    return bool(facts.get("enqueued")) and not facts.get("answered_by") and facts.get("status") not in ("completed", "canceled") and facts.get("queue_result", "") not in LEFT_QUEUE


async def queue_standing(hub: Hub, call_sid: str) -> Standing | None:
    async with hub.reads() as session:
        call = await session.scalar(select(Interaction).where(Interaction.channel == ChannelKind.VOICE, Interaction.provider_id == call_sid))
        if call is None or call.ticket_id is None:
            return None
        ticket = await session.get_one(Ticket, call.ticket_id)
        since = utcnow() - LIVE_WINDOW
        rows = (
            await session.execute(
                select(Ticket.id, Ticket.priority, Ticket.created_at, Interaction.meta)
                .join(Interaction, Interaction.ticket_id == Ticket.id)
                .where(
                    Ticket.queue_id == ticket.queue_id,
                    Ticket.channel == ChannelKind.VOICE,
                    Interaction.channel == ChannelKind.VOICE,
                    Interaction.provider_id.like("CA%"),
                    Interaction.created_at >= since,
                )
            )
        ).all()
    mine = (-ticket.priority, ticket.created_at, ticket.id)
    ahead = {tid for tid, priority, created, meta in rows if tid != ticket.id and is_in_line((meta or {}).get("call", {}))
             and (-priority, created, tid) < mine}
    waits = sorted(
        ((meta or {}).get("call", {}).get("answered_at", ""), (meta or {}).get("call", {}).get("wait_seconds"))
        for _, _, _, meta in rows
        if (meta or {}).get("call", {}).get("wait_seconds") is not None
    )[-RECENT_ANSWERED:]
    estimate = round(sum(int(w) for _, w in waits) / len(waits)) if waits else None
    return Standing(position=len(ahead) + 1, estimate_seconds=estimate)


def minutes(seconds: int) -> int:
    """Whole minutes to say, never "0 minutes"."""
    return max(1, round(seconds / 60))


