"""Sending the surveys that are due: `[csat] delay_minutes` after a ticket was resolved.

A timer pass (`send_due_surveys`, every `[csat] check_seconds`, with the time
as a parameter so tests move the clock) looks at tickets resolved long enough
ago that have no survey row yet. Each gets one row: `sent` with the survey
queued in the outbox (same transaction), or `skipped` with the reason, so a
ticket is decided once and resolving it again sends nothing more. A ticket
reopened meanwhile is not resolved any more, so it is not picked; when it is
resolved again, its own delay starts from then.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import DONE_STATUSES, do_reply_to, is_opted_out, reply_target
from contactcenter.db.models import Customer, Interaction, Queue, Survey, Ticket, utcnow
from contactcenter.events import Event, run_periodically
from contactcenter.hub import Hub
from contactcenter.i18n import choose_locale
from contactcenter.outbound.messages import render_message
from contactcenter.settings import Settings
from contactcenter.surveys.tokens import hash_token, new_token

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# Tickets resolved longer ago than this (beyond the delay) when the timer first
# sees them get no survey: a hub that was down for a week does not send a wave
# of surveys about old matters.
LOOK_BACK = timedelta(days=2)
RATINGS = (1, 2, 3, 4, 5)


def choose_skip_reason(
    *, queue_allows: bool, target: str | None, automated_only: bool, opted_out: bool, surveyed_recently: bool
) -> str:
    """Why this resolved ticket gets no survey, or "" when it gets one (pure: the rules in one place)."""
    if not queue_allows:
        return "queue_off"
    if target is None:
        return "no_address"
    if automated_only:
        return "automated_sender"
    if opted_out:
        return "opted_out"
    if surveyed_recently:
        return "recent_survey"
    return ""


async def send_due_surveys(hub: Hub, now: datetime | None = None) -> list[Event]:
    """One pass: decide every ticket whose survey is due; -> the events published."""
    settings = hub.settings
    if not settings.csat.enabled:
        return []
    now = now or utcnow()
    due_before = now - timedelta(minutes=settings.csat.delay_minutes)
    events: list[Event] = []
    async with hub.sessions() as session, session.begin():
        tickets = list(
            await session.scalars(
                select(Ticket)
                .where(
                    Ticket.status.in_(DONE_STATUSES),
                    Ticket.resolved_at <= due_before,
                    Ticket.resolved_at >= due_before - LOOK_BACK,
                    ~exists().where(Survey.ticket_id == Ticket.id),
                )
                .order_by(Ticket.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            )
        )
        queues = {q.id: q.name for q in await session.scalars(select(Queue))} if tickets else {}
        for ticket in tickets:
            events += await _decide(session, settings, ticket, queues.get(ticket.queue_id or 0, ""), now)
    hub.bus.publish_all(events)
    return events


async def _decide(session: AsyncSession, settings: Settings, ticket: Ticket, queue: str, now: datetime) -> list[Event]:
    customer = await session.get_one(Customer, ticket.customer_id)
    kind, target = await reply_target(session, ticket)
    configured = settings.routing.queues.get(queue)
    reason = choose_skip_reason(
        queue_allows=configured is None or configured.csat,
        target=target,
        automated_only=await _automated_only(session, ticket.id),
        opted_out=kind == "phone" and target is not None and await is_opted_out(session, target),
        surveyed_recently=await _surveyed_since(session, customer.id, now - timedelta(days=settings.csat.per_customer_days)),
    )
    survey = Survey(ticket_id=ticket.id, customer_id=customer.id, status="skipped", reason=reason, created_at=now)
    session.add(survey)
    if reason:
        log.info("ticket %s: no survey (%s)", ticket.reference, reason)
        return []
    assert target is not None
    token = new_token()
    language = choose_locale([customer.language], settings.i18n.locales, settings.i18n.default_locale)
    survey.status, survey.channel, survey.recipient, survey.language = "sent", "sms" if kind == "phone" else "email", target, language
    survey.token_hash, survey.sent_at = hash_token(token), now
    link = f"{settings.http.public_url.rstrip('/')}/survey/{token}"
    text, html = render_message(
        "survey" if kind == "email" else "survey_sms",
        locale=language,
        name=customer.name,
        reference=ticket.reference,
        subject=ticket.subject,
        links=[(rating, f"{link}?rating={rating}") for rating in RATINGS],
        link=link,
    )
    _, _, events = await do_reply_to(session, settings, ticket, kind, target, text, html=html, kind="survey", now=now)
    log.info("ticket %s: survey queued by %s", ticket.reference, survey.channel)
    return events


async def _automated_only(session: AsyncSession, ticket_id: int) -> bool:
    """Whether every message the customer's side sent on the ticket was automated (auto-replies, bounces)."""
    metas = list(await session.scalars(select(Interaction.meta).where(Interaction.ticket_id == ticket_id, Interaction.direction == "inbound")))
    return bool(metas) and all((meta or {}).get("automated") for meta in metas)


async def _surveyed_since(session: AsyncSession, customer_id: int, since: datetime) -> bool:
    found = await session.scalar(
        select(Survey.id).where(Survey.customer_id == customer_id, Survey.sent_at.is_not(None), Survey.sent_at > since).limit(1)
    )
    return found is not None


class SurveyTimer:
    def __init__(self, hub: Hub):
        self.hub = hub

    async def run(self) -> None:
        await run_periodically(
            self.hub.bus, lambda: send_due_surveys(self.hub), every=self.hub.settings.csat.check_seconds, name="survey timer"
        )
