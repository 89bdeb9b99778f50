"""Recording a customer's answer to their survey, from the survey page or an SMS reply.

An answer is an inbound interaction on the ticket the survey asked about (the
timeline shows it), and the survey row keeps the rating for reports. It never
reopens the ticket and never opens a new one. The first answer stands.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.contact import InboundContact
from contactcenter.db.models import Interaction, Survey, Ticket, utcnow
from contactcenter.events import Event
from contactcenter.webhooks.enqueue import enqueue_webhook_events
from contactcenter.hub import Hub
from contactcenter.identity.normalize import mask

log = logging.getLogger(__name__)

ANSWER_KIND = "csat_answer"
MAX_COMMENT_CHARS = 2000
# Digits people send for "5": ASCII, full-width (common on Chinese phones).
_DIGITS = str.maketrans("１２３４５", "12345")


def parse_rating(text: str) -> int | None:
    """An SMS that is only a rating: "5", " 4. ", "５" -> the number; anything else -> None."""
    word = text.strip().translate(_DIGITS).rstrip(".!。！")
    return int(word) if len(word) == 1 and word in "12345" else None


def is_open(survey: Survey, now: datetime, answer_days: float) -> bool:
    """Whether the survey still takes an answer: sent, unanswered, not too old."""
    return survey.status == "sent" and survey.sent_at is not None and now - survey.sent_at <= timedelta(days=answer_days)


def record_answer(
    session: AsyncSession, survey: Survey, rating: int, comment: str, *, channel: str, provider_id: str | None, now: datetime
) -> tuple[Interaction, list[Event]]:
    """Put the answer on the survey and the ticket's timeline, in the caller's transaction."""
    survey.status, survey.rating, survey.comment = "answered", rating, comment[:MAX_COMMENT_CHARS]
    survey.answered_at, survey.answered_by_channel = now, channel
    interaction = Interaction(
        ticket_id=survey.ticket_id,
        customer_id=survey.customer_id,
        channel=channel,
        direction="inbound",
        provider_id=provider_id,
        text=comment[:MAX_COMMENT_CHARS],
        meta={"kind": ANSWER_KIND, "rating": rating, "survey_id": survey.id, "automated": False},
        created_at=now,
    )
    session.add(interaction)
    event_data = {"ticket_id": survey.ticket_id, "customer_id": survey.customer_id, "channel": channel}
    return interaction, [
        Event("interaction.created", {**event_data, "direction": "inbound"}),
        Event("csat.answered", {**event_data, "survey_id": survey.id, "rating": rating}),
    ]


async def take_sms_answer(hub: Hub, contact: InboundContact) -> str | None:
    """When `contact` is a rating replying to an SMS survey, record it and return its language; else None.

    Called by the SMS channel before the contact goes into the pipeline, so a
    "5" answering a survey never becomes a ticket, while a "5" from a number
    with no survey waiting is an ordinary message. Twilio's retry of the same
    message finds the answer already recorded.
    """
    rating = parse_rating(contact.text)
    sender = contact.reply_identity()
    if rating is None or sender is None or sender.kind != "phone":
        return None
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        seen = await session.scalar(
            select(Interaction.meta).where(Interaction.channel == contact.channel, Interaction.provider_id == contact.provider_id)
        )
        if seen is not None:
            return hub.settings.i18n.default_locale if (seen or {}).get("kind") == ANSWER_KIND else None
        # Only while the survey is the last word: once the customer wrote back
        # (the ticket reopened, or a new one started), a lone digit is part of that conversation.
        survey = await session.scalar(
            select(Survey)
            .join(Ticket, Ticket.id == Survey.ticket_id)
            .where(
                Survey.channel == "sms",
                Survey.recipient == sender.value,
                Survey.status == "sent",
                Ticket.status.in_(("resolved", "closed")),
            )
            .order_by(Survey.sent_at.desc())
            .limit(1)
            .with_for_update(of=Survey)
        )
        if survey is None or not is_open(survey, now, hub.settings.csat.answer_days):
            return None
        if await _wrote_since(session, survey):
            return None
        interaction, events = record_answer(session, survey, rating, "", channel=contact.channel, provider_id=contact.provider_id, now=now)
        interaction.text = contact.text
        interaction.meta = {**interaction.meta, "reply_to": {"kind": "phone", "value": sender.value}}
        await enqueue_webhook_events(session, events)
        language = survey.language
    hub.bus.publish_all(events)
    log.info("sms %s from %s: survey answer %d on ticket %s", contact.provider_id, mask(sender.value), rating, survey.ticket_id)
    return language


async def _wrote_since(session: AsyncSession, survey: Survey) -> bool:
    later = await session.scalar(
        select(Interaction.id)
        .where(Interaction.customer_id == survey.customer_id, Interaction.direction == "inbound", Interaction.created_at > survey.sent_at)
        .limit(1)
    )
    return later is not None


async def find_survey(session: AsyncSession, token_hash: str) -> Survey | None:
    return await session.scalar(select(Survey).where(Survey.token_hash == token_hash))


async def ticket_reference(session: AsyncSession, ticket_id: int) -> str:
    ticket = await session.get_one(Ticket, ticket_id)
    return ticket.reference
