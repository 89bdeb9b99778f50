"""Ending a chat: what the timeline keeps, and the satisfaction survey the widget offers.

The transcript is already on the ticket message by message (each visitor
message and each answer is an interaction). Ending adds one internal entry,
`kind: chat_ended` with who ended it, and an audit event, so the timeline
says where the conversation stopped. The survey follows the rules of every
channel (`surveys/schedule.py`: the queue's `csat`, one survey per ticket, at
most one per customer in `[csat] per_customer_days`). When the visitor's
widget is open, the survey is offered there at once, and its row means the
timer will not send a second one for that ticket; when it is not (the agent
ended a chat the visitor had left), nothing is decided here, and the ticket
gets its survey by mail once resolved, as on every channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit, customer_locale
from contactcenter.contact import ChannelKind
from contactcenter.db.models import Customer, Interaction, Queue, Survey, Ticket, utcnow
from contactcenter.events import Event
from contactcenter.settings import Settings
from contactcenter.surveys.schedule import choose_skip_reason
from contactcenter.surveys.tokens import hash_token, new_token

log = logging.getLogger(__name__)

ENDED_BY = ("visitor", "agent")


@dataclass(frozen=True, slots=True)
class ChatEnded:
    interaction_id: int
    survey_path: str  # "" when no survey is offered
    events: tuple[Event, ...]


async def is_chat_ended(session: AsyncSession, ticket_id: int) -> bool:
    """Whether the ticket's chat was ended: then the widget's next message starts a new chat.

    Once ended, always ended: a message accepted just before the end and
    processed just after it lands on the ticket, but does not reopen the chat.
    """
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Interaction.ticket_id == ticket_id,
                    Interaction.channel == ChannelKind.CHAT,
                    Interaction.direction == "internal",
                    Interaction.meta["kind"].as_string() == "chat_ended",
                )
            )
        )
    )


async def do_end_chat(
    session: AsyncSession, settings: Settings, ticket: Ticket, *, by: str, actor: str, agent_id: int | None = None,
    widget_open: bool = True, now: datetime | None = None,
) -> ChatEnded | None:
    """End the ticket's chat; None when it had ended already (ending twice records nothing)."""
    assert by in ENDED_BY
    now = now or utcnow()
    if await is_chat_ended(session, ticket.id):
        return None
    interaction = Interaction(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        channel=ChannelKind.CHAT,
        direction="internal",
        author_agent_id=agent_id,
        text="",
        meta={"kind": "chat_ended", "by": by},
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    audit(session, actor, "chat.ended", ticket, by=by)
    survey_path = await _offer_survey(session, settings, ticket, now) if widget_open else ""
    events = (
        Event("interaction.created", {"interaction_id": interaction.id, "ticket_id": ticket.id, "customer_id": ticket.customer_id, "channel": "chat"}),
        Event("chat.ended", {"ticket_id": ticket.id, "by": by, "survey_path": survey_path}),
    )
    log.info("ticket %s: chat ended by the %s%s", ticket.reference, by, " (survey offered)" if survey_path else "")
    return ChatEnded(interaction_id=interaction.id, survey_path=survey_path, events=events)


async def _offer_survey(session: AsyncSession, settings: Settings, ticket: Ticket, now: datetime) -> str:
    if not settings.csat.enabled or await session.scalar(select(exists().where(Survey.ticket_id == ticket.id))):
        return ""
    customer = await session.get_one(Customer, ticket.customer_id)
    queue = await session.get(Queue, ticket.queue_id) if ticket.queue_id else None
    configured = settings.routing.queues.get(queue.name if queue else "")
    since = now - timedelta(days=settings.csat.per_customer_days)
    reason = choose_skip_reason(
        queue_allows=configured is None or configured.csat,
        target=ticket.reference,
        automated_only=False,
        opted_out=False,
        surveyed_recently=bool(
            await session.scalar(select(exists().where(Survey.customer_id == customer.id, Survey.sent_at >= since)))
        ),
    )
    survey = Survey(ticket_id=ticket.id, customer_id=customer.id, status="skipped", reason=reason, created_at=now)
    session.add(survey)
    if reason:
        return ""
    token = new_token()
    survey.status, survey.channel, survey.recipient = "sent", ChannelKind.CHAT, ticket.reference
    survey.language = customer_locale(settings, customer.language)
    survey.token_hash, survey.sent_at = hash_token(token), now
    return f"/survey/{token}"  # the widget puts the hub's origin in front: the one it talks to
