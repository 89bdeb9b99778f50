"""Reads for a person reviewing identities: open merge suggestions with both records, side by side."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from contactcenter.db.models import ContactPoint, Customer, Interaction, MergeSuggestion, Ticket


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two records: what a person compares before saying "same person"."""

    customer: Customer
    points: list[ContactPoint]
    tickets: int
    interactions: int


async def open_suggestions(
    session: AsyncSession, *, customer_id: int | None = None, after: int = 0, limit: int = 50
) -> list[tuple[MergeSuggestion, Customer, Customer]]:
    """Open suggestions between two records that both still exist unmerged, oldest first."""
    a, b = aliased(Customer), aliased(Customer)
    query = (
        select(MergeSuggestion, a, b)
        .join(a, a.id == MergeSuggestion.customer_a_id)
        .join(b, b.id == MergeSuggestion.customer_b_id)
        .where(MergeSuggestion.status == "open", MergeSuggestion.id > after, a.merged_into_id.is_(None), b.merged_into_id.is_(None))
    )
    if customer_id is not None:
        query = query.where((MergeSuggestion.customer_a_id == customer_id) | (MergeSuggestion.customer_b_id == customer_id))
    return [tuple(row) for row in await session.execute(query.order_by(MergeSuggestion.id).limit(limit))]  # type: ignore[misc]


async def points_by_customer(session: AsyncSession, ids: Iterable[int]) -> dict[int, list[ContactPoint]]:
    wanted = set(ids)
    points: dict[int, list[ContactPoint]] = {i: [] for i in wanted}
    if wanted:
        for point in await session.scalars(select(ContactPoint).where(ContactPoint.customer_id.in_(wanted)).order_by(ContactPoint.id)):
            points[point.customer_id].append(point)
    return points


async def sides(session: AsyncSession, customers: Iterable[Customer]) -> dict[int, Side]:
    """Each customer with contact points and how much history it holds (two grouped counts)."""
    by_id = {c.id: c for c in customers}
    if not by_id:
        return {}
    points = await points_by_customer(session, by_id)
    tickets = dict((await session.execute(select(Ticket.customer_id, func.count()).where(Ticket.customer_id.in_(by_id)).group_by(Ticket.customer_id))).all())
    interactions = dict(
        (await session.execute(select(Interaction.customer_id, func.count()).where(Interaction.customer_id.in_(by_id)).group_by(Interaction.customer_id))).all()
    )
    return {i: Side(c, points[i], tickets.get(i, 0), interactions.get(i, 0)) for i, c in by_id.items()}
