"""Merging two customer records into one, and undoing it.

A merge moves everything the merged record holds (contact points, tickets,
interactions) to the survivor and keeps the merged row, pointing at the
survivor, so that `do_unmerge` can put back exactly what moved. Each runs in
the caller's transaction and writes its audit events there; the customers'
rows are locked first, so a contact being identified at the same moment
either lands before the merge (and moves with it) or after it (and follows
`merged_into_id` to the survivor), never on a merged record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db.models import (
    ContactPoint,
    Customer,
    Interaction,
    MergeRecord,
    MergeSuggestion,
    Ticket,
    utcnow,
)
from contactcenter.db.queries import MAX_ID
from contactcenter.errors import ConflictError, InputError, NotFoundError
from contactcenter.identity.normalize import name_key

log = logging.getLogger(__name__)

# Rows moved per UPDATE: keeps the IN list far below every driver's limit.
CHUNK = 500
# Survivor fields a merge fills in when the survivor has none (segments are
# joined); unmerge restores them.
FILLED_FIELDS = ("name", "company", "tier", "notes")
MOVED_MODELS: dict[str, Any] = {"contact_points": ContactPoint, "tickets": Ticket, "interactions": Interaction}


# Built once: identify asks for every look-alike it finds.
FIND_SUGGESTION = select(MergeSuggestion).where(
    MergeSuggestion.customer_a_id == bindparam("low"), MergeSuggestion.customer_b_id == bindparam("high")
)


async def suggest_merge(
    session: AsyncSession, a: int, b: int, reasons: Sequence[str], score: float
) -> MergeSuggestion | None:
    """Open (or strengthen) the suggestion that customers `a` and `b` are one person.

    A suggestion a person dismissed stays dismissed: asking again about the
    same pair would teach agents to ignore suggestions.
    """
    if a == b:
        return None
    low, high = sorted((a, b))
    suggestion = await session.scalar(FIND_SUGGESTION, {"low": low, "high": high})
    if suggestion is None:
        suggestion = MergeSuggestion(customer_a_id=low, customer_b_id=high, score=score, reasons=list(reasons))
        session.add(suggestion)
    elif suggestion.status == "open":
        merged_reasons = list(dict.fromkeys([*suggestion.reasons, *reasons]))
        if merged_reasons != suggestion.reasons or score > suggestion.score:
            suggestion.reasons = merged_reasons
            suggestion.score = max(suggestion.score, score)
    return suggestion


async def do_dismiss_suggestion(session: AsyncSession, suggestion_id: int, actor: str) -> MergeSuggestion:
    suggestion = await session.get(MergeSuggestion, suggestion_id)
    if suggestion is None:
        raise NotFoundError(f"no merge suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise ConflictError(f"the suggestion is {suggestion.status} already", code="not_open")
    suggestion.status = "dismissed"
    suggestion.resolved_at = utcnow()
    audit(session, actor, "merge_suggestion.dismissed", suggestion, customers=[suggestion.customer_a_id, suggestion.customer_b_id])
    return suggestion


async def do_merge(session: AsyncSession, survivor_id: int, merged_id: int, actor: str) -> MergeRecord:
    """Move everything of `merged_id` to `survivor_id`; the record says what moved."""
    if survivor_id == merged_id:
        raise InputError("a customer cannot be merged into itself", fields={"from_customer_id": "same as the survivor"})
    customers = await _lock_customers(session, [survivor_id, merged_id])
    survivor, merged = customers[survivor_id], customers[merged_id]
    for customer in (survivor, merged):
        if customer.merged_into_id is not None:
            raise ConflictError(
                f"customer {customer.id} was merged into {customer.merged_into_id} already", code="already_merged"
            )

    moved: dict[str, Any] = {}
    for name, model in MOVED_MODELS.items():
        ids = list(await session.scalars(select(model.id).where(model.customer_id == merged.id).order_by(model.id)))
        await _move(session, model, ids, survivor.id)
        moved[name] = ids
    # Each changed survivor field as [before, after]: unmerge puts `before`
    # back unless someone has changed the field since.
    changed: dict[str, list[Any]] = {}
    for field in FILLED_FIELDS:
        if not getattr(survivor, field) and getattr(merged, field):
            changed[field] = [getattr(survivor, field), getattr(merged, field)]
    segments = list(dict.fromkeys([*survivor.segments, *merged.segments]))
    if segments != survivor.segments:
        changed["segments"] = [list(survivor.segments), segments]
    for field, (_, after) in changed.items():
        setattr(survivor, field, after)
    survivor.name_key = name_key(survivor.name)
    moved["survivor_fields"] = changed
    if survivor.external_id is None and merged.external_id is not None:
        # Unique column: free it on the merged row before the survivor takes it.
        moved["external_id"] = merged.external_id
        merged.external_id = None
        await session.flush()
        survivor.external_id = moved["external_id"]
    merged.merged_into_id = survivor.id

    suggestions = list(
        await session.scalars(
            select(MergeSuggestion).where(
                MergeSuggestion.customer_a_id == min(survivor.id, merged.id),
                MergeSuggestion.customer_b_id == max(survivor.id, merged.id),
                MergeSuggestion.status == "open",
            )
        )
    )
    for suggestion in suggestions:
        suggestion.status = "merged"
        suggestion.resolved_at = utcnow()
    moved["suggestions"] = [s.id for s in suggestions]

    record = MergeRecord(survivor_id=survivor.id, merged_id=merged.id, moved=moved, actor=actor)
    session.add(record)
    await session.flush()
    counts = {name: len(moved[name]) for name in MOVED_MODELS}
    audit(session, actor, "customer.merged", survivor, merge_record_id=record.id, from_customer_id=merged.id, moved=counts)
    audit(session, actor, "customer.merged_into", merged, merge_record_id=record.id, survivor_id=survivor.id)
    log.info("merged customer %s into %s (%s)", merged.id, survivor.id, counts)
    return record


async def do_unmerge(session: AsyncSession, record_id: int, actor: str) -> MergeRecord:
    """Put back exactly what a merge moved.

    Interactions added since to a ticket that goes back go with their ticket
    (a timeline must not show a ticket's messages under two customers); other
    contacts that came in since stay with the survivor.
    """
    record = await session.get(MergeRecord, record_id, with_for_update=True)
    if record is None:
        raise NotFoundError(f"no merge {record_id}")
    if record.undone_at is not None:
        raise ConflictError(f"merge {record_id} was undone already", code="already_undone")
    customers = await _lock_customers(session, [record.survivor_id, record.merged_id])
    survivor, merged = customers[record.survivor_id], customers[record.merged_id]
    if survivor.merged_into_id is not None:
        raise ConflictError(
            f"customer {survivor.id} was merged into {survivor.merged_into_id} since; undo that merge first",
            code="merged_since",
        )
    moved = record.moved
    for name, model in MOVED_MODELS.items():
        ids = list(
            await session.scalars(select(model.id).where(model.id.in_(moved[name]), model.customer_id == survivor.id))
            if moved[name]
            else []
        )
        await _move(session, model, ids, merged.id)
    # What was said since on a ticket that goes back belongs with it.
    followed = []
    if moved["tickets"]:
        followed = list(
            await session.scalars(
                select(Interaction.id).where(
                    Interaction.ticket_id.in_(moved["tickets"]), Interaction.customer_id == survivor.id
                )
            )
        )
        await _move(session, Interaction, followed, merged.id)
    for field, (before, after) in moved["survivor_fields"].items():
        if getattr(survivor, field) == after:
            setattr(survivor, field, before)
    survivor.name_key = name_key(survivor.name)
    if moved.get("external_id") is not None:
        survivor.external_id = None
        await session.flush()
        merged.external_id = moved["external_id"]
    merged.merged_into_id = None
    if moved["suggestions"]:
        for suggestion in await session.scalars(select(MergeSuggestion).where(MergeSuggestion.id.in_(moved["suggestions"]))):
            suggestion.status = "open"
            suggestion.resolved_at = None
    record.undone_at = utcnow()
    audit(
        session, actor, "customer.unmerged", survivor,
        merge_record_id=record.id, restored_customer_id=merged.id, later_interactions_moved_back=followed,
    )
    audit(session, actor, "customer.restored", merged, merge_record_id=record.id, survivor_id=survivor.id)
    log.info("undid merge %s: customer %s split from %s", record.id, merged.id, survivor.id)
    return record


async def _lock_customers(session: AsyncSession, ids: list[int]) -> dict[int, Customer]:
    """Both rows, locked in id order (no deadlock with a concurrent merge of the pair)."""
    rows = await session.scalars(
        select(Customer)
        .where(Customer.id.in_([i for i in ids if 0 < i <= MAX_ID]))  # PostgreSQL refuses larger numbers
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {c.id: c for c in rows}
    for customer_id in ids:
        if customer_id not in found:
            raise NotFoundError(f"no customer {customer_id}")
    return found


async def _move(session: AsyncSession, model: Any, ids: list[int], customer_id: int) -> None:
    for start in range(0, len(ids), CHUNK):
        await session.execute(
            update(model)
            .where(model.id.in_(ids[start : start + CHUNK]))
            .values(customer_id=customer_id)
            .execution_options(synchronize_session="fetch")
        )
