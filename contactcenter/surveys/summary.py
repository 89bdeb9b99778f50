"""CSAT figures for reports and the ticket API.

`csat_summary` answers DESIGN.md §6's `csat` shape for a set of filters the
reports share; `csat_of` gives tickets their `csat` field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import Customer, Survey, Ticket


async def csat_summary(session: AsyncSession, filters: Mapping[str, Any]) -> dict[str, Any]:
    """`{"responses", "average", "distribution": {"1": n, …, "5": n}}` for answers in the filters.

    Filters (all optional): `from` and `to` (dates, inclusive, UTC days of the
    answer), `queue_id`, `channel` (the ticket's), `agent_id` (its assignee),
    `tier` (the customer's), `type` (the ticket's).
    """
    query = (
        select(Survey.rating, func.count())
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Survey.status == "answered", Survey.rating.is_not(None))
        .group_by(Survey.rating)
    )
    if isinstance(start := filters.get("from"), date):
        query = query.where(Survey.answered_at >= datetime.combine(start, time.min, tzinfo=UTC))
    if isinstance(end := filters.get("to"), date):
        query = query.where(Survey.answered_at < datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    for key, column in (("queue_id", Ticket.queue_id), ("channel", Ticket.channel), ("agent_id", Ticket.assignee_id), ("type", Ticket.type)):
        if filters.get(key) not in (None, ""):
            query = query.where(column == filters[key])
    if filters.get("tier"):
        query = query.join(Customer, Customer.id == Ticket.customer_id).where(Customer.tier == filters["tier"])
    counts = {int(rating): count for rating, count in await session.execute(query)}
    responses = sum(counts.values())
    total = sum(rating * count for rating, count in counts.items())
    return {
        "responses": responses,
        "average": round(total / responses, 2) if responses else None,
        "distribution": {str(rating): counts.get(rating, 0) for rating in range(1, 6)},
    }


def csat_json(survey: Survey) -> dict[str, Any]:
    return {
        "rating": survey.rating,
        "comment": survey.comment,
        "channel": survey.channel,
        "answered_at": survey.answered_at.isoformat() if survey.answered_at else None,
    }


async def csat_of(session: AsyncSession, ticket_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Ticket id -> its answered survey's `csat` field; unanswered tickets are left out."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(Survey).where(Survey.ticket_id.in_(ids), Survey.status == "answered"))
    return {survey.ticket_id: csat_json(survey) for survey in rows}
