"""Which customer records one request covers: the customer and every record merged with it."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.db.models import MergeRecord


async def merge_family(session: AsyncSession, customer_id: int) -> list[int]:
    """The customer and all records joined to it by merges, undone ones included.

    A merged record is the same person (a person said so), and an unmerged one was
    thought to be: a request about one side is a request about both.
    """
    family = {customer_id}
    frontier = {customer_id}
    while frontier:
        records = (
            await session.execute(
                select(MergeRecord.survivor_id, MergeRecord.merged_id).where(
                    or_(MergeRecord.survivor_id.in_(frontier), MergeRecord.merged_id.in_(frontier))
                )
            )
        ).all()
        found = {customer for record in records for customer in record} - family
        family |= found
        frontier = found
    return sorted(family)
